"""``resilinet live-eval``: stream a unit's test split through a real deployment under chaos.

Deploys the unit, sends its test examples one at a time to the IoT node (at ``rate`` per
second, or as fast as answers come back), applies the chaos events to the node processes, and
writes into ``out``:

- ``live.csv``: one row per request: example, sent_at_ms, latency_ms, contributed, prediction,
  label, guess, answered_by, computed (``contributed`` is the bit string over
  topology.alive_columns (failable nodes, then standby replicas), 1 = the node contributed
  to the prediction; ``answered_by`` the node whose
  head answered, or guess; ``computed`` the nodes that ran their sub-model for the request;
  ``lost`` the shaped links that lost a message of it, which is then not compared);
- ``live_summary.csv``: per combination (the contributing nodes alive, every failable link up:
  only processes fail live), live accuracy beside the sweep's on the same examples,
  the number of differing predictions (expected 0), the requests with a mixed view (a node in
  transition, used on one path and given up on another: no one combination describes them, so
  they are counted apart), latency p50/p99 (summary.py); a model with exits is compared
  with the sweep's rule (the deployment's: fallback or threshold) per example, and examples
  whose entropy is within rounding of T are counted apart (``near_threshold``);
- ``live_exits.csv``: per answering node (an exit, the output node, or guess), the requests it
  answered, their fraction and latency p50/p99;
- ``live_events.csv``: per chaos event, the time until the answers showed it;
- ``links.csv``: per shaped link, its settings and the path each took (shaping.py);
- ``live_startup.csv``: per node of a deployment it started, seconds from its start until it
  served (its time to ready: loading TensorFlow and its slice of the model);
- ``live_latency.png``: latency over time with the events marked (plot.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pandas as pd

from resilinet_cli import atomic
from resilinet_cli.live.chaos import ChaosEvent, ChaosRunner, applier
from resilinet_cli.live.client import LiveClient
from resilinet_cli.live.deployment import Deployment
from resilinet_cli.live.errors import LiveError
from resilinet_cli.live.launch import LaunchOptions, unit_spec
from resilinet_cli.live.plot import plot_latency
from resilinet_cli.live.shaping import link_table
from resilinet_cli.live.summary import (
    LIVE_COLUMNS,
    ExitRule,
    event_times,
    exit_table,
    summarise,
)
from resilinet_cli.live.unit import LiveUnit, load_test
from resilinet_cli.results import layout
from resilinet_cli.topology import Topology

LIVE_EXITS_CSV = "live_exits.csv"  # per answering node (a model with exits: each exit's share)
LINKS_CSV = "links.csv"  # per shaped link: its settings and the path each took
LIVE_STARTUP_CSV = "live_startup.csv"  # per node of a deployment live-eval started: time to ready
TAIL_S = 2.0  # the stream goes on this long after the last event, to see its effect
RETURN_S = 60.0  # and, by default, up to this much longer until restarted nodes are back
WARM_UP_S = 5.0  # at most this long before the stream for every node to answer in time


@dataclass(frozen=True)
class LiveEvalOptions:
    chaos: list[ChaosEvent]
    rate: float | None = None  # requests per second; None: as fast as answers come
    duration_s: float | None = None  # None: the test split once, and past the last event
    launch: LaunchOptions = field(default_factory=LaunchOptions)
    attach: Path | None = None  # stream through this running deployment instead (its folder)


@dataclass(frozen=True)
class LiveEvalResult:
    live: pd.DataFrame
    summary: pd.DataFrame
    events: pd.DataFrame
    exits: pd.DataFrame  # per answering node: requests, fraction, latency (summary.py)
    failed: int  # requests that got no answer at all
    chaos_errors: list[str]
    out: Path

    @property
    def differing(self) -> int:
        return int(self.summary["differing"].sum())


def all_back(rows: list[dict], chaos: ChaosRunner, topology: Topology) -> bool:
    """Whether every node resumed or restarted has been seen contributing since; a standby
    replica counts as back once it or a replica before it serves (it is not called while an
    earlier one is alive, so it cannot be seen)."""
    columns = topology.alive_columns
    for applied in chaos.applied:
        if applied.event.action in ("resume", "restart"):
            node = applied.event.node
            replicas = topology.replicas_of(dict(topology.replicas).get(node, node))
            served = [columns.index(r) for r in replicas[: replicas.index(node) + 1]]
            if not any(
                r["sent_at_ms"] > applied.at_ms and any(r["contributed"][i] == "1" for i in served)
                for r in rows[-50:]
            ):
                return False
    return True


def live_eval(
    unit: LiveUnit,
    options: LiveEvalOptions,
    out: Path,
    on_ready: Callable[[list[str]], Callable[[str, float], None]] | None = None,
) -> LiveEvalResult:
    """The run described in this module's docstring; ``on_ready(processes)`` is called before
    a deployment of its own starts, and what it returns is told each node's time to ready."""
    from resilinet_cli.results.model_files import load_model

    test = load_test(unit)
    out.mkdir(parents=True, exist_ok=True)
    if options.attach is None:
        spec = unit_spec(unit, test.prior, options.launch)
        tell = on_ready(spec.processes) if on_ready is not None else None
        running: Any = Deployment.start(spec, out / "deployment", on_ready=tell)
    else:  # a deployment of ``resilinet deploy``: driven, not stopped
        attached = Deployment.attach(options.attach)
        spec = attached.spec
        if Path(spec.model).resolve() != Path(unit.model_path).resolve():
            raise LiveError(f"{options.attach}: the deployment serves {spec.model}, not this unit")
        running = contextlib.nullcontext(attached)
    last_event = max((e.at_s for e in options.chaos), default=0.0)
    minimum_s = options.duration_s
    if minimum_s is None:
        minimum_s = last_event + TAIL_S if options.chaos else 0.0
    rows, mixed, failed = [], [], 0
    nodes = unit.topology.nodes
    with running as deployment, LiveClient(spec) as client:
        chaos = ChaosRunner(options.chaos, applier(deployment))
        warm_up(client, test.x[:1])
        started = time.perf_counter()
        chaos.start(started)
        try:
            i = 0
            while True:
                elapsed = time.perf_counter() - started
                if options.duration_s is not None:
                    if elapsed >= options.duration_s:
                        break
                elif i >= len(test.y) and elapsed >= minimum_s:
                    back = all_back(rows, chaos, unit.topology)
                    if back or elapsed >= minimum_s + RETURN_S:
                        break
                if options.rate:
                    pause = started + i / options.rate - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                example = i % len(test.y)
                sent_at = 1000 * (time.perf_counter() - started)
                try:
                    answer = client.infer(test.x[example : example + 1], f"example-{i}")
                except grpc.RpcError:
                    failed += 1
                    i += 1
                    continue
                rows.append(
                    {
                        "example": example,
                        "sent_at_ms": round(sent_at, 3),
                        "latency_ms": round(answer.latency_ms, 3),
                        "contributed": answer.contributed,
                        "prediction": int(answer.predictions[0]),
                        "label": int(test.y[example]),
                        "guess": int(answer.guess),
                        "answered_by": answer.answered_by,
                        "computed": " ".join(n for n in nodes if n in answer.compute_ms),
                        "lost": " ".join(answer.lost),
                    }
                )
                mixed.append(answer.mixed)
                i += 1
        finally:
            chaos.stop()
    live = pd.DataFrame(rows, columns=LIVE_COLUMNS)
    live["contributed"] = live["contributed"].astype(str)
    model = load_model(unit.model_path)
    rule = ExitRule(spec.exit_rule, spec.threshold) if spec.exits else None
    summary = summarise(live, model, unit.topology, test.x, test.prior, mixed, rule)
    exits = exit_table(live)
    events = event_times(live, chaos.applied, list(unit.topology.alive_columns))
    atomic.write_csv(out / layout.LIVE_CSV, live)
    atomic.write_csv(out / layout.LIVE_SUMMARY_CSV, summary)
    atomic.write_csv(out / layout.LIVE_EVENTS_CSV, events)
    atomic.write_csv(out / LIVE_EXITS_CSV, exits)
    atomic.write_csv(out / LINKS_CSV, link_table(spec))
    if options.attach is None:  # a deployment of its own: how long each node took to start
        ready = pd.DataFrame(deployment.ready_s.items(), columns=["node", "ready_s"])
        atomic.write_csv(out / LIVE_STARTUP_CSV, ready)
    plot_latency(live, events, out / layout.LIVE_LATENCY_PNG, deadline_ms=1000 * spec.deadline_s)
    return LiveEvalResult(live, summary, events, exits, failed, chaos.errors, out)


def warm_up(client: LiveClient, x: np.ndarray) -> None:
    """Ask until every node contributes, for at most ``WARM_UP_S``: a node's first inference
    builds its model's graph and, on a loaded machine, can miss its deadline, which would show
    as a failure at the start of the stream (a node that is really down stays down)."""
    give_up = time.perf_counter() + WARM_UP_S
    while "0" in client.infer(x, "warm-up").contributed and time.perf_counter() < give_up:
        time.sleep(0.05)
