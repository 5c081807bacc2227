"""Bad input to ``deploy`` and ``live-eval``: one line on stderr, exit 2, no process started.

Each case fails before any node process starts, so a model file that is only a placeholder is
enough here: the unit is read, its ports and its chaos spec are checked, and the command stops.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from live_helpers import invoke, node_processes

from resilinet_cli.results import runs


@pytest.fixture(scope="module")
def unit(quick_config, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("live-errors") / "run"
    runs.prepare_run_folder(out, quick_config)
    folder = out / "runs" / "resilinet" / "iter-1"
    folder.mkdir(parents=True)
    (folder / "model.keras").write_bytes(b"")  # never loaded: every case fails before
    return folder


def refused(*args: str) -> str:
    before = node_processes()
    code, _, stderr = invoke(*args)
    assert code == 2, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("error: "), stderr
    assert node_processes() == before  # nothing started, nothing left behind
    return stderr


def test_a_unit_folder_without_a_model(tmp_path, quick_config):
    runs.prepare_run_folder(tmp_path, quick_config)
    empty = tmp_path / "runs" / "resilinet" / "iter-1"
    empty.mkdir(parents=True)
    assert "no model.keras" in refused("deploy", str(empty))
    assert "no model.keras" in refused("live-eval", str(empty))


def test_a_port_in_use_is_named(unit, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        message = refused("deploy", str(unit), "--state", str(tmp_path), "--port", str(port))
    assert f"port {port}" in message and "already in use" in message
    assert not (tmp_path / "deployment.json").exists()


@pytest.mark.parametrize(
    ("chaos", "expected"),
    [
        ("kill edeg@5s", "unknown node 'edeg' (did you mean 'edge'?"),
        ("kill cloud@5s", "'cloud' is the input or output node, which never fails"),
        ("kill edge->fog2@5s", "'edge->fog2' is a link: only node processes fail live"),
        ("explode edge@5s", "unknown action 'explode'"),
        ("kill edge@-1s", "the time is negative"),
        ("hang fog2@10s, resume fog2@5s", "comes before event 1"),
        ("kill edge", "expected e.g. 'kill edge@5s'"),
    ],
)
def test_a_bad_chaos_spec(unit, chaos, expected):
    assert expected in refused("live-eval", str(unit), "--chaos", chaos)


def test_a_bad_chaos_file(unit, tmp_path):
    path = tmp_path / "chaos.yaml"
    path.write_text("events:\n  - kill edge@1s\n  - {at: 0.5, action: hang, node: fog2}\n")
    assert "comes before event 1" in refused("live-eval", str(unit), "--chaos", str(path))
    missing = tmp_path / "missing.yaml"
    assert "no such file" in refused("live-eval", str(unit), "--chaos", str(missing))


def test_partial_tls_options(unit, tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    assert "--tls-key" in refused("deploy", str(unit), "--tls-cert", str(cert))
    assert "--mtls needs" in refused("deploy", str(unit), "--mtls")


def test_stop_without_a_deployment(tmp_path):
    assert "no deployment state" in refused("deploy", "--stop", "--state", str(tmp_path))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("links: {iot->edge: {latency: -5}}",
         "links.yaml: links.iot->edge.latency: Input should be greater than or equal to 0"),
        ("links: {iot->edge: {jitter: soon}}", "links.yaml: links.iot->edge.jitter: Input should"),
        ("links: {edge->cloud: {latency: 40}}", "links.yaml: links.edge->cloud: unknown link"),
    ],
)  # fmt: skip
def test_a_bad_links_file(unit, tmp_path, text, expected):
    path = tmp_path / "links.yaml"
    path.write_text(text + "\n")
    assert expected in refused("deploy", str(unit), "--state", str(tmp_path), "--links", str(path))
    assert expected in refused("live-eval", str(unit), "--out", str(tmp_path / "e"),
                               "--links", str(path))  # fmt: skip


def test_links_with_a_running_deployment(unit, tmp_path):
    path = tmp_path / "links.yaml"
    path.write_text("links: {iot->edge: {latency: 40}}\n")
    message = refused("live-eval", str(unit), "--state", str(tmp_path), "--links", str(path))
    assert "--links shapes a deployment live-eval starts" in message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--clients", "0"], "Invalid value for '--clients': 0 is not in the range x>=1"),
        (["--batch-window-ms", "250", "--deadline-ms", "200"],
         "--batch-window-ms 250 is not under the per-hop deadline (--deadline-ms 200)"),
        (["--duration", "1x"], "'1x' is no time; write e.g. 90, 90s, 500ms, 10m or 1h"),
        (["--duration", "-5m"], "'-5m' is not a positive time"),
        (["--chaos-seed", "3"], "--chaos-seed draws faults over --duration; give --duration"),
        (["--chaos-seed", "3", "--duration", "1h", "--chaos", "kill edge@1s"],
         "give --chaos or --chaos-seed, not both"),
    ],
)  # fmt: skip
def test_bad_load_and_soak_options(unit, tmp_path, args, expected):
    assert expected in refused("live-eval", str(unit), "--out", str(tmp_path / "e"), *args)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--rates", "20,10"], "give positive rates, rising, e.g. 10,20,40"),
        (["--rates", "fast"], "'fast': write rates as 10,20,40"),
        (["--dead", "edeg"], "--dead: unknown node 'edeg' (did you mean 'edge'?"),
        (["--dead", "cloud"], "--dead: unknown node 'cloud'"),
    ],
)
def test_bad_live_load_options(unit, tmp_path, args, expected):
    assert expected in refused("live-load", str(unit), "--out", str(tmp_path / "l"), *args)
