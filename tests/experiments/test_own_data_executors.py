"""A data set of the user's own (``dataset: {name: files}``) through ``--workers`` and
``--executor ray``: the same files as a serial run.

On the two-node Ray cluster (``ray.cluster_utils.Cluster`` on 127.0.0.1, as in test_cluster.py)
the driver deletes the CSV as soon as it has loaded it: a task that read the file on its node
would fail, so every unit done proves that the arrays came from the driver through Ray's
object store, put there once. A pool's unit processes read the file themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from paths import CONFIGS
from run_helpers import assert_same_files, two_node_cluster

from resilinet_cli.cli import main

UNITS = ["vanilla/iter-1", "resilinet/iter-1"]
ROWS = 240  # of configs/data/activities.csv: 192 to train, 24 to validate, 24 to test


def own_data_config(folder: Path) -> Path:
    """configs/own_data_csv.yaml on the first ``ROWS`` rows of its CSV, copied into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = (CONFIGS / "data" / "activities.csv").read_text().splitlines(keepends=True)
    (folder / "activities.csv").write_text("".join(lines[: ROWS + 1]))
    raw = yaml.safe_load((CONFIGS / "own_data_csv.yaml").read_text())
    raw["dataset"]["path"] = "activities.csv"  # next to the config
    raw["variants"] = ["vanilla", "resilinet"]
    path = folder / "own.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def command(config: Path, out: Path, *extra: str) -> list[str]:
    return ["run", str(config), "--smoke", "--out", str(out), *extra]


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two-unit smoke run on the CSV, serial and in-process: what the executors equal."""
    folder = tmp_path_factory.mktemp("own-serial")
    out = folder / "run"
    result = CliRunner().invoke(main, command(own_data_config(folder), out))
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def cluster() -> Iterator:
    """A head and a second node, one CPU each."""
    pytest.importorskip("ray")
    with two_node_cluster() as made:
        yield made


def test_two_workers_read_the_csv_and_give_the_serial_runs_files(
    tmp_path: Path, serial: Path
) -> None:
    out = tmp_path / "pool"
    config = own_data_config(tmp_path / "data")
    result = CliRunner().invoke(main, command(config, out, "--workers", "2"))
    assert result.exit_code == 0, result.output
    assert "queue: 2 done, 0 in flight, 0 failed of 2" in result.stdout
    assert_same_files(out, serial, UNITS)


def test_the_driver_ships_the_data_so_the_nodes_need_no_copy_of_the_files(
    cluster, tmp_path: Path, serial: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CSV is deleted once the driver has loaded it; everything after (the tasks on both
    nodes, the tables, the records) works without it. One ``ray.put`` for the data set."""
    import ray

    from resilinet_cli.data import files
    from resilinet_cli.data.splits import Splits

    config = own_data_config(tmp_path / "data")
    csv = config.parent / "activities.csv"
    loaded, put = files.load, ray.put
    puts: list[object] = []

    def load_then_delete(dataset):  # in the driver only: the tasks' processes are Ray's
        splits = loaded(dataset)
        csv.unlink(missing_ok=True)
        return splits

    def counted_put(value, *args, **kwargs):
        puts.append(value)
        return put(value, *args, **kwargs)

    monkeypatch.setattr(files, "load", load_then_delete)
    monkeypatch.setattr(ray, "put", counted_put)
    out = tmp_path / "ray"
    args = command(config, out, "--executor", "ray", "--address", cluster.address)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert not csv.exists()
    assert "queue: 2 done, 0 in flight, 0 failed of 2" in result.stdout
    assert [type(value) for value in puts] == [Splits]
    assert_same_files(out, serial, UNITS)
