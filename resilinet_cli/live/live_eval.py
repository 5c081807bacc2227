"""``resilinet live-eval``: stream a unit's test split through a real deployment under chaos.

Deploys the unit, sends its test examples to the IoT node from one or more clients (load.py:
each as fast as its answers come back, or open loop at a total ``rate`` per second), applies
the chaos events to the node processes, and writes into ``out``:

- ``live.csv``: one row per answered request (summary.py's LIVE_COLUMNS: example, when it was
  due, latency, the nodes that contributed, prediction, who answered, the nodes that computed,
  the shaped links that lost a message of it, a mixed view, the client), then its timings per
  hop (hops.py: each node's queue and compute, each link's transfer);
- ``live_summary.csv``: per combination (the contributing nodes alive, every failable link up:
  only processes fail live), live accuracy beside the sweep's on the same examples,
  the number of differing predictions (expected 0), the requests with a mixed view or a lost
  message (no one combination describes them, so they are counted apart), latency p50/p99
  (summary.py); a model with exits is compared with the sweep's rule (the deployment's:
  fallback or threshold) per example, and examples whose entropy is within rounding of T are
  counted apart (``near_threshold``);
- ``live_hops.csv`` and ``live_hops.png``: per hop, its time's p50 and p99 (hops.py);
- ``live_windows.csv``: per window of time (``window_s``; a soak's 5 minutes): requests,
  accuracy live and swept, differing predictions, latency, each process's memory and
  descriptors (windows.py); ``live_growth.csv``: per process, its memory in the last window
  against the first after warm-up; ``live_resources.csv``: the samples (resources.py);
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

import numpy as np
import pandas as pd

from resilinet_cli import atomic
from resilinet_cli.live.chaos import ChaosEvent, ChaosRunner, applier
from resilinet_cli.live.deployment import Deployment
from resilinet_cli.live.errors import LiveError
from resilinet_cli.live.hops import hop_columns, hop_table, hop_values, plot_hops
from resilinet_cli.live.launch import LaunchOptions, unit_spec
from resilinet_cli.live.load import Load, Outcome, warm_up
from resilinet_cli.live.plot import plot_latency
from resilinet_cli.live.resources import ResourceSampler, cpu_share
from resilinet_cli.live.shaping import link_table
from resilinet_cli.live.summary import (
    LIVE_COLUMNS,
    ExitRule,
    event_times,
    exit_table,
    judged,
    summarise,
)
from resilinet_cli.live.unit import LiveUnit, load_test
from resilinet_cli.live.windows import growth, window_table
from resilinet_cli.results import layout
from resilinet_cli.topology import Topology

LIVE_EXITS_CSV = "live_exits.csv"  # per answering node (a model with exits: each exit's share)
LIVE_RESOURCES_CSV = "live_resources.csv"  # per sample: each process's memory, descriptors, CPU
LIVE_WINDOWS_CSV = "live_windows.csv"  # per window of time: requests, accuracy, memory (a soak)
LIVE_HOPS_CSV = "live_hops.csv"  # per hop: its queue, compute or transfer time's p50 and p99
LIVE_HOPS_PNG = "live_hops.png"
LIVE_GROWTH_CSV = "live_growth.csv"  # per process: memory in the last window against the first
LINKS_CSV = "links.csv"  # per shaped link: its settings and the path each took
LIVE_STARTUP_CSV = "live_startup.csv"  # per node of a deployment live-eval started: time to ready
TAIL_S = 2.0  # the stream goes on this long after the last event, to see its effect
RETURN_S = 60.0  # and, by default, up to this much longer until restarted nodes are back


@dataclass(frozen=True)
class LiveEvalOptions:
    chaos: list[ChaosEvent]
    rate: float | None = None  # requests per second; None: as fast as answers come
    duration_s: float | None = None  # None: the test split once, and past the last event
    launch: LaunchOptions = field(default_factory=LaunchOptions)
    attach: Path | None = None  # stream through this running deployment instead (its folder)
    clients: int = 1  # concurrent clients (load.py): closed loop, or open loop with a rate
    window_s: float = 300.0  # live_windows.csv's windows (a soak's)
    sample_s: float = 10.0  # how often each process's memory and descriptors are sampled


@dataclass(frozen=True)
class LiveEvalResult:
    live: pd.DataFrame
    summary: pd.DataFrame
    events: pd.DataFrame
    exits: pd.DataFrame  # per answering node: requests, fraction, latency (summary.py)
    failed: int  # requests that got no answer at all
    chaos_errors: list[str]
    out: Path
    windows: pd.DataFrame  # per window of time (windows.py)
    client_cpu_share: float  # the clients' share of the CPU the nodes and clients used
    elapsed_s: float  # from the first request due to the last
    interrupted: bool = False  # Ctrl-C or SIGTERM ended the stream early (its results kept)

    @property
    def throughput(self) -> float:
        """Answered requests per second."""
        return len(self.live) / self.elapsed_s if self.elapsed_s > 0 else float("nan")

    @property
    def differing(self) -> int:
        return int(self.summary["differing"].sum())


def all_back(recent: list[Outcome], chaos: ChaosRunner, topology: Topology) -> bool:
    """Whether every node resumed or restarted has been seen contributing since; a standby
    replica counts as back once it or a replica before it serves (it is not called while an
    earlier one is alive, so it cannot be seen)."""
    columns = topology.alive_columns
    for applied in chaos.applied:
        if applied.event.action in ("resume", "restart"):
            node = applied.event.node
            replicas = topology.replicas_of(dict(topology.replicas).get(node, node))
            served = [columns.index(r) for r in replicas[: replicas.index(node) + 1]]
            since = [o for o in recent if o.answer and o.due_ms > applied.at_ms]
            if not any(o.answer.contributed[i] == "1" for o in since for i in served):
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
    split = len(test.y)

    def done(elapsed: float, load: Load) -> bool:
        if options.duration_s is not None:
            return elapsed >= options.duration_s
        if load.finished < split or elapsed < minimum_s:
            return False
        return all_back(load.recent(50), chaos, unit.topology) or elapsed >= minimum_s + RETURN_S

    with running as deployment, Load(spec, test.x, options.clients, options.rate) as load:
        chaos = ChaosRunner(options.chaos, applier(deployment))
        sampler = ResourceSampler(deployment.pids, options.sample_s)
        warm_up(load.clients[0], test.x[:1])
        started = time.perf_counter()
        sampler.start(started)
        chaos.start(started)
        try:
            outcomes = load.run(done, started)
        finally:
            chaos.stop()
            samples = sampler.stop()
    answered = [o for o in outcomes if o.answer is not None]
    hops = hop_columns(unit.topology)
    live = pd.DataFrame([live_row(o, test.y, unit.topology.nodes, hops) for o in answered],
                        columns=[*LIVE_COLUMNS, *hops])  # fmt: skip
    live["contributed"] = live["contributed"].astype(str)
    model = load_model(unit.model_path)
    rule = ExitRule(spec.exit_rule, spec.threshold) if spec.exits else None
    judgements = judged(live, model, unit.topology, test.x, test.prior, rule)
    summary = summarise(judgements)
    exits = exit_table(live)
    events = event_times(live, chaos.applied, list(unit.topology.alive_columns))
    elapsed_s = max((o.due_ms for o in outcomes), default=0.0) / 1000
    unanswered = [o.due_ms for o in outcomes if o.answer is None]
    windows = window_table(judgements, unanswered, samples, options.window_s, elapsed_s)
    atomic.write_csv(out / layout.LIVE_CSV, live)
    atomic.write_csv(out / layout.LIVE_SUMMARY_CSV, summary)
    atomic.write_csv(out / layout.LIVE_EVENTS_CSV, events)
    atomic.write_csv(out / LIVE_EXITS_CSV, exits)
    atomic.write_csv(out / LINKS_CSV, link_table(spec))
    atomic.write_csv(out / LIVE_RESOURCES_CSV, samples)
    atomic.write_csv(out / LIVE_WINDOWS_CSV, windows)
    atomic.write_csv(out / LIVE_GROWTH_CSV, growth(windows))
    timings = hop_table(live, hops)
    atomic.write_csv(out / LIVE_HOPS_CSV, timings)
    plot_hops(timings, out / LIVE_HOPS_PNG)
    if options.attach is None:  # a deployment of its own: how long each node took to start
        ready = pd.DataFrame(deployment.ready_s.items(), columns=["node", "ready_s"])
        atomic.write_csv(out / LIVE_STARTUP_CSV, ready)
    plot_latency(live, events, out / layout.LIVE_LATENCY_PNG, deadline_ms=1000 * spec.deadline_s)
    return LiveEvalResult(
        live, summary, events, exits, len(unanswered), chaos.errors, out, windows,
        cpu_share(samples), elapsed_s, load.interrupted,
    )  # fmt: skip


def live_row(
    outcome: Outcome, labels: np.ndarray, nodes: list[str], hops: list[str]
) -> dict[str, Any]:
    """live.csv's row of an answered request (summary.py's LIVE_COLUMNS, then the timings of
    its ``hops``: hops.py)."""
    answer = outcome.answer
    assert answer is not None
    return {
        "example": outcome.example,
        "sent_at_ms": round(outcome.due_ms, 3),
        "latency_ms": round(answer.latency_ms, 3),
        "contributed": answer.contributed,
        "prediction": int(answer.predictions[0]),
        "label": int(labels[outcome.example]),
        "guess": int(answer.guess),
        "answered_by": answer.answered_by,
        "computed": " ".join(n for n in nodes if n in answer.compute_ms),
        "lost": " ".join(answer.lost),
        "mixed": int(answer.mixed),
        "client": outcome.client,
        **hop_values(answer, hops),
    }
