"""Shaped links (resilinet_cli/live/shaping.py): seeded drops and jitter, the link's queue at
its bandwidth, traces, and every bad links file or trace refused in one line."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from resilinet_cli.errors import ConfigError
from resilinet_cli.live.node import carried
from resilinet_cli.live.shaping import LinkShape, ShapedLink, draw, load_links, read_trace
from resilinet_cli.topology import Topology

IDS = [f"example-{i}" for i in range(10_000)]


def test_drops_depend_on_seed_link_and_request_only() -> None:
    link = ShapedLink("edge->fog2", LinkShape(loss=0.05), seed=3, epoch=0.0)
    dropped = {rid for rid in IDS if link.lost(rid)}
    again = ShapedLink("edge->fog2", LinkShape(loss=0.05), seed=3, epoch=0.0)
    assert {rid for rid in reversed(IDS) if again.lost(rid)} == dropped  # any arrival order
    # a Bernoulli(0.05) count over 10,000 messages, within four standard deviations
    assert abs(len(dropped) - 500) <= 4 * (10_000 * 0.05 * 0.95) ** 0.5
    other_seed = {rid for rid in IDS if ShapedLink("edge->fog2", LinkShape(loss=0.05), 4, 0.0)
                  .lost(rid)}  # fmt: skip
    other_link = {rid for rid in IDS if ShapedLink("iot->edge", LinkShape(loss=0.05), 3, 0.0)
                  .lost(rid)}  # fmt: skip
    assert other_seed != dropped and other_link != dropped
    assert 0 <= min(draw(0, "a->b", r, "loss") for r in IDS[:100]) < 1


def test_messages_queue_at_the_bandwidth_then_travel_the_latency() -> None:
    """125,000 bytes at 2 Mbit/s take 0.5 s to send; a second message waits for the first."""
    link = ShapedLink("iot->edge", LinkShape(bandwidth=2e6, latency_ms=40.0), 0, time.time())
    assert link.delay_s("a", 125_000, now=100.0) == pytest.approx(0.5 + 0.040)
    assert link.delay_s("b", 125_000, now=100.0) == pytest.approx(1.0 + 0.040)
    assert link.delay_s("c", 125_000, now=102.0) == pytest.approx(0.5 + 0.040)  # idle again


def test_jitter_stays_within_its_bound_and_is_seeded() -> None:
    link = ShapedLink("iot->edge", LinkShape(latency_ms=40.0, jitter_ms=5.0), 7, time.time())
    delays = [1000 * link.delay_s(rid, 0, now=0.0) for rid in IDS[:2000]]
    assert 35.0 <= min(delays) < 36.0 and 44.0 < max(delays) <= 45.0
    assert abs(sorted(delays)[1000] - 40.0) < 0.5  # uniform: the median is the latency
    same = ShapedLink("iot->edge", LinkShape(latency_ms=40.0, jitter_ms=5.0), 7, time.time())
    assert [1000 * same.delay_s(rid, 0, now=0.0) for rid in IDS[:2000]] == delays


def test_a_trace_replays_its_rows_from_the_deployments_start(tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    path.write_text("time_s,bandwidth,latency_ms\n0,1e6,20\n10,5e5,60\n", encoding="utf-8")
    shape = LinkShape(trace=read_trace(path, "links.iot->edge.trace"))
    assert shape.at(0.0) == (1e6, 20.0) and shape.at(9.99) == (1e6, 20.0)
    assert shape.at(10.0) == (5e5, 60.0) and shape.at(1e6) == (5e5, 60.0)
    link = ShapedLink("iot->edge", shape, 0, epoch=time.time() - 11)  # 11 s into the trace
    assert link.delay_s("a", 62_500, now=0.0) == pytest.approx(1.0 + 0.060)


def test_one_megabyte_over_two_megabits_takes_four_seconds() -> None:
    """The receiver's transport in real time: eight messages of 125,000 bytes arriving at once
    on a 2 Mbit/s link are all delivered after 4 s (within 5 %)."""
    link = ShapedLink("iot->edge", LinkShape(bandwidth=2e6), 0, time.time())

    async def deliver_all() -> float:
        start = time.monotonic()
        delivered = await asyncio.gather(
            *(carried(link, f"m{i}", 125_000, start + 60) for i in range(8))
        )
        assert all(delivered)
        return time.monotonic() - start

    assert asyncio.run(deliver_all()) == pytest.approx(4.0, rel=0.05)


def test_a_lost_or_late_message_waits_out_the_deadline() -> None:
    async def outcome(shape: LinkShape, deadline_s: float) -> tuple[bool, float]:
        link = ShapedLink("iot->edge", shape, 0, time.time())
        start = time.monotonic()
        ok = await carried(link, "example-0", 1000, start + deadline_s)
        return ok, time.monotonic() - start

    lost, waited = asyncio.run(outcome(LinkShape(loss=0.999999), 0.2))
    assert not lost and 0.19 <= waited < 0.35
    late, waited = asyncio.run(outcome(LinkShape(latency_ms=500), 0.2))
    assert not late and 0.19 <= waited < 0.35
    on_time, waited = asyncio.run(outcome(LinkShape(latency_ms=50), 0.2))
    assert on_time and 0.045 <= waited < 0.15


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("links: {iot->edge: {latency: -1}}",
         "l.yaml: links.iot->edge.latency: Input should be greater than or equal to 0"),
        ("links: {iot->edge: {bandwidth: fast}}",
         "l.yaml: links.iot->edge.bandwidth: Input should be a valid number"),
        ("links: {iot->edge: {loss: 1}}", "l.yaml: links.iot->edge.loss: Input should be less"),
        ("links: {iot->egde: {latency: 40}}",
         "l.yaml: links.iot->egde: unknown link 'iot->egde' (did you mean 'iot->edge'?"),
        ("links: {iot->edge: {latncy: 40}}", "l.yaml: links.iot->edge.latncy: unknown key"),
        ("[1, 2]", "l.yaml: a links file is a mapping with a links: key"),
        ("links: {iot->edge: {trace: none.csv}}", "l.yaml: links.iot->edge.trace: no file"),
    ],
)  # fmt: skip
def test_a_bad_links_file_is_one_line(
    tmp_path: Path, health: Topology, text: str, expected: str
) -> None:
    path = tmp_path / "l.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_links(path, health)
    assert str(error.value).startswith(expected) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("time_s,bandwidth\n0,1e6\n", "t.csv lacks the column(s) latency_ms"),
        ("time_s,bandwidth,latency_ms\n5,1e6,20\n2,1e6,20\n", "time_s must rise"),
        ("time_s,bandwidth,latency_ms\n0,1e6,20\n0,1e6,30\n", "time_s must rise"),
        ("time_s,bandwidth,latency_ms\n0,1e6,20\n1,lots,20\n", "t.csv line 3: not a number"),
        ("time_s,bandwidth,latency_ms\n0,0,20\n", "bandwidth must be above 0"),
        ("time_s,bandwidth,latency_ms\n", "t.csv has no rows"),
    ],
)
def test_a_bad_trace_is_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        read_trace(path, "l.yaml: links.iot->edge.trace")
    message = str(error.value)
    assert message.startswith("l.yaml: links.iot->edge.trace: ") and expected in message
    assert "\n" not in message


def test_a_links_file_relative_trace_is_read_from_its_folder(
    tmp_path: Path, health: Topology
) -> None:
    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "4g.csv").write_text(
        "time_s,bandwidth,latency_ms\n0,2e6,40\n", encoding="utf-8"
    )
    path = tmp_path / "links.yaml"
    path.write_text(
        "seed: 5\nlinks:\n  iot->fog2: {trace: traces/4g.csv, loss: 0.01}\n", encoding="utf-8"
    )
    seed, shapes = load_links(path, health)
    assert seed == 5 and shapes["iot->fog2"].trace == ((0.0, 2e6, 40.0),)
    assert shapes["iot->fog2"].loss == 0.01


def test_the_live_section_changes_no_hash_nor_training_key(quick_config) -> None:
    from resilinet_cli.config.schema import validate_config
    from resilinet_cli.experiments.reuse import LABELS

    raw = quick_config.to_dict()
    shaped = validate_config({**raw, "live": {"seed": 2, "links": {"iot->edge": {"latency": 40}}}},
                             "shaped")  # fmt: skip
    assert shaped.live.links["iot->edge"].latency == 40 and "live" in shaped.to_dict()
    assert "live" not in quick_config.to_dict()
    assert shaped.digest() == quick_config.digest()
    assert "live" in LABELS


def test_a_config_naming_no_link_of_its_topology_is_refused(tmp_path: Path) -> None:
    from paths import CONFIGS

    from resilinet_cli.config import load_config

    path = tmp_path / "shaped.yaml"
    path.write_text(
        f"base: {CONFIGS / 'quickstart.yaml'}\nlive:\n  links:\n    iot->fgo2: {{latency: 40}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "live.links.iot->fgo2: unknown link 'iot->fgo2' (did you mean 'iot->fog2'?" in message
    assert "\n" not in message
