"""Chaos: node failures at set times, applied to the real processes of a deployment.

A spec is a comma-separated list, ``"kill edge@5s, hang fog2@10s, resume fog2@20s,
restart edge@25s"``, or a YAML file listing the same events (strings, or mappings with
``at``, ``action`` and ``node``). Times are seconds (``5s``, ``5``) or milliseconds
(``500ms``) after the stream starts, and must not decrease. ``kill`` is SIGKILL, ``hang``
SIGSTOP, ``resume`` SIGCONT, ``restart`` starts the node again (killing it first if it runs).
Only failable nodes and standby replicas (``edge_r2``) can be named: links
(``topology.failable_links`` too) never fail live.

A soak draws its events instead (``random_schedule``): faults repeating at random times from a
seed, each a kill later restarted or a hang later resumed, one at a time.
"""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resilinet_cli.errors import unknown_choice
from resilinet_cli.live.errors import LiveError
from resilinet_cli.topology import Topology, link_name

ACTIONS = ("kill", "hang", "resume", "restart")
EVENT = re.compile(
    r"^(?P<action>\S+)\s+(?P<node>\S+?)\s*@\s*(?P<at>[-+]?[\d.]+)\s*(?P<unit>ms|s)?$"
)


@dataclass(frozen=True)
class ChaosEvent:
    action: str
    node: str
    at_s: float

    def __str__(self) -> str:
        return f"{self.action} {self.node}@{self.at_s:g}s"


def parse_chaos(spec: str, topology: Topology) -> list[ChaosEvent]:
    """The events of a spec string or YAML file; LiveError (one line) for any bad event."""
    path = Path(spec)
    if spec.strip().lower().endswith((".yaml", ".yml")) or path.is_file():
        items = yaml_events(path)
    else:
        items = [item.strip() for item in spec.split(",") if item.strip()]
    events = [parse_event(item, topology) for item in items]
    for i, (before, event) in enumerate(itertools.pairwise(events), start=2):
        if event.at_s < before.at_s:
            raise LiveError(
                f"--chaos: event {i} ({event}) comes before event {i - 1} ({before}); "
                "list events in time order"
            )
    return events


def yaml_events(path: Path) -> list[Any]:
    from resilinet_cli.config import read_yaml

    if not path.is_file():
        raise LiveError(f"--chaos: no such file {path}")
    raw = read_yaml(path)
    if isinstance(raw, dict):
        raw = raw.get("events")
    if not isinstance(raw, list):
        raise LiveError(f"--chaos {path}: expected a list of events (or events: [...])")
    return raw


def parse_event(item: Any, topology: Topology) -> ChaosEvent:
    if isinstance(item, dict):
        text = f"{item.get('action')} {item.get('node')}@{item.get('at')}"
    else:
        text = str(item).strip()
    match = EVENT.match(text)
    if not match:
        raise LiveError(f"--chaos: cannot read {text!r}; expected e.g. 'kill edge@5s'")
    action, node = match["action"].lower(), match["node"]
    if action not in ACTIONS:
        raise LiveError(f"--chaos {text!r}: {unknown_choice('action', action, ACTIONS)}")
    if node not in topology.alive_columns:
        if node in topology.nodes:
            reason = f"'{node}' is the input or output node, which never fails"
        elif node in {link_name(k.src, k.dst) for k in topology.links}:
            reason = f"'{node}' is a link: only node processes fail live, every link stays up"
        else:
            reason = unknown_choice("node", node, topology.alive_columns)
        raise LiveError(f"--chaos {text!r}: {reason}")
    try:
        at = float(match["at"]) / (1000 if match["unit"] == "ms" else 1)
    except ValueError:
        raise LiveError(f"--chaos {text!r}: cannot read the time {match['at']!r}") from None
    if at < 0:
        raise LiveError(f"--chaos {text!r}: the time is negative")
    return ChaosEvent(action, node, at)


@dataclass(frozen=True)
class Applied:
    event: ChaosEvent
    at_ms: float  # when it was really applied, after the stream started


class ChaosRunner:
    """Apply events at their times, in a thread; ``applied`` records when each really ran."""

    def __init__(self, events: list[ChaosEvent], apply: Callable[[ChaosEvent], None]) -> None:
        self.events = events
        self.apply = apply
        self.applied: list[Applied] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)
        self.started = 0.0

    def start(self, started: float) -> None:
        self.started = started
        self._thread.start()

    def _run(self) -> None:
        for event in self.events:
            delay = self.started + event.at_s - time.perf_counter()
            if delay > 0 and self._stop.wait(delay):
                return
            at_ms = 1000 * (time.perf_counter() - self.started)
            try:
                self.apply(event)
            except Exception as error:  # noqa: BLE001 (reported, the stream goes on)
                self.errors.append(f"{event}: {error}")
                continue
            self.applied.append(Applied(event, at_ms))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def applier(deployment: Any) -> Callable[[ChaosEvent], None]:
    """The signals and restarts of ``deployment.py`` for each action."""

    def apply(event: ChaosEvent) -> None:
        if event.action == "kill":
            deployment.kill(event.node)
        elif event.action == "hang":
            deployment.hang(event.node)
        elif event.action == "resume":
            deployment.resume(event.node)
        else:
            deployment.restart(event.node, wait=False)

    return apply


def random_schedule(
    topology: Topology, seed: int, duration_s: float, every_s: float
) -> list[ChaosEvent]:
    """Faults about every ``every_s`` seconds until ``duration_s``, drawn from ``seed``.

    Each fault picks a failable node (or standby replica) and a kind: ``kill`` then ``restart``,
    or ``hang`` then ``resume``, after an outage of 20 to 50 % of ``every_s``. The next fault
    comes 50 to 150 % of ``every_s`` after the recovery, so a restarted node (seconds to load
    TensorFlow) is back before the next one; no fault starts in the last ``every_s``, so the
    stream sees the last recovery. The same seed gives the same schedule.
    """
    draw = random.Random(seed)
    nodes = list(topology.alive_columns)
    events: list[ChaosEvent] = []
    at = draw.uniform(0.5, 1.5) * every_s
    while nodes and at + every_s <= duration_s:
        node = draw.choice(nodes)
        fault, recovery = draw.choice([("kill", "restart"), ("hang", "resume")])
        back = at + draw.uniform(0.2, 0.5) * every_s
        events.append(ChaosEvent(fault, node, round(at, 3)))
        events.append(ChaosEvent(recovery, node, round(back, 3)))
        at = back + draw.uniform(0.5, 1.5) * every_s
    return events
