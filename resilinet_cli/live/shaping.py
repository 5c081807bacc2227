"""Shaped links of a live deployment: bandwidth, latency, jitter and loss per link, seeded.

A link's shaping comes from ``--links FILE`` (deploy, live-eval) or else the unit config's
``live:`` section: ``{seed, links: {src->dst: {bandwidth, latency, jitter, loss, trace}}}``.
Live, data flows along a link as the sender's reply to its receiver's pull, so the receiver's
transport plays the link for each reply that arrives:

- it is **lost** when ``draw(seed, link, request, "loss") < loss``: the receiver falls back for
  that request as for a missed deadline (it waits the deadline out, then treats the input as
  missing), but does not mark the sender dead: later requests use it again;
- otherwise it is **held**: its payload bytes go out after those of earlier messages on the
  link, at ``bandwidth`` bits per second, then travel ``latency`` ms, plus or minus up to
  ``jitter`` ms (uniform). A message that would arrive after the receiver's deadline is late:
  handled as lost. A trace replaces bandwidth and latency by the row in force since the
  deployment's start (``time_s``, ``bandwidth``, ``latency_ms``; the last row holds after).

Drops and jitter are functions of (seed, link, request id), so the same seed drops the same
messages whatever order requests arrive in. Every setting takes the transport's path when
the nodes share one host: this kernel has no netem, and tc's bandwidth shaping applies to
interfaces, not to one loopback link. With ``--hosts netns`` each node has an interface of its
own, and a constant bandwidth is the kernel's (htb, hosts.py); ``link_table`` says which path
each setting took.
"""

from __future__ import annotations

import bisect
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from resilinet_cli.config.messages import validated_file
from resilinet_cli.config.schema import LiveConfig
from resilinet_cli.errors import ConfigError, unknown_choice
from resilinet_cli.topology import Topology, link_name

if TYPE_CHECKING:
    from resilinet_cli.live.spec import DeploymentSpec

TRACE_COLUMNS = ("time_s", "bandwidth", "latency_ms")
TRANSPORT = "transport"  # the receiving node's transport plays the setting
KERNEL = "kernel (htb)"  # tc's htb on the sender's interface (--hosts netns, hosts.py)
LINK_COLUMNS = [
    "link", "bandwidth", "latency_ms", "jitter_ms", "loss", "trace",
    "bandwidth_path", "latency_path", "jitter_path", "loss_path",
]  # fmt: skip


@dataclass(frozen=True)
class LinkShape:
    """One link's settings, a trace's rows (time_s, bandwidth, latency_ms) read in."""

    bandwidth: float | None = None  # payload bits per second; None: unlimited
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    trace: tuple[tuple[float, float, float], ...] = ()

    def at(self, elapsed_s: float) -> tuple[float | None, float]:
        """Bandwidth and latency ``elapsed_s`` after the deployment started."""
        if not self.trace:
            return self.bandwidth, self.latency_ms
        after = bisect.bisect_right(self.trace, elapsed_s, key=lambda row: row[0])
        row = self.trace[max(after - 1, 0)]
        return row[1], row[2]

    def to_dict(self) -> dict[str, Any]:
        return {
            "bandwidth": self.bandwidth,
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "loss": self.loss,
            "trace": [list(row) for row in self.trace],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinkShape:
        trace = tuple(tuple(float(v) for v in row) for row in data.get("trace", []))
        return cls(data["bandwidth"], data["latency_ms"], data["jitter_ms"], data["loss"],
                   trace)  # type: ignore[arg-type]  # fmt: skip


def draw(seed: int, link: str, request_id: str, purpose: str) -> float:
    """A uniform number in [0, 1) fixed by its arguments: the same on every node, every run."""
    key = f"{seed}\0{link}\0{request_id}\0{purpose}".encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class ShapedLink:
    """One link as its receiver's transport plays it (the module's docstring)."""

    def __init__(
        self, name: str, shape: LinkShape, seed: int, epoch: float, *, kernel: bool = False
    ) -> None:
        self.name = name
        self.shape = shape
        self.kernel = kernel  # the kernel shapes its bandwidth (hosts.py): not held for it here
        self.seed = seed
        self.epoch = epoch  # time.time() at the deployment's start: a trace's time 0
        self.free_at = 0.0  # time.monotonic() when the link has sent every message so far

    def lost(self, request_id: str) -> bool:
        return draw(self.seed, self.name, request_id, "loss") < self.shape.loss

    def delay_s(self, request_id: str, payload_bytes: int, now: float | None = None) -> float:
        """Seconds from now, a message's arrival at the receiver, until it may be used: its
        bytes wait for the link and cross it at the bandwidth, then the latency and jitter."""
        now = time.monotonic() if now is None else now
        bandwidth, latency_ms = self.shape.at(time.time() - self.epoch)
        start = max(now, self.free_at)
        sent = start + (8 * payload_bytes / bandwidth if bandwidth and not self.kernel else 0.0)
        self.free_at = sent
        spread = 2 * draw(self.seed, self.name, request_id, "jitter") - 1
        jitter_ms = spread * self.shape.jitter_ms
        return sent - now + max(0.0, latency_ms + jitter_ms) / 1000


def link_table(spec: DeploymentSpec) -> pd.DataFrame:
    """Per shaped link of a deployment spec: its settings and the path each took (links.csv)."""
    rows = []
    for name, data in spec.link_shapes.items():
        shape = LinkShape.from_dict(data)
        row: dict[str, Any] = {"link": name, **shape.to_dict()}
        row["trace"] = f"{len(shape.trace)} rows" if shape.trace else ""
        for setting in ("bandwidth", "latency", "jitter", "loss"):
            row[f"{setting}_path"] = TRANSPORT
        if name in spec.kernel_bandwidth:
            row["bandwidth_path"] = KERNEL
        rows.append(row)
    return pd.DataFrame(rows, columns=LINK_COLUMNS)


def load_links(path: Path, topology: Topology) -> tuple[int, dict[str, LinkShape]]:
    """A ``--links`` file: the seed and each link's shape; one line per problem, naming the
    file and the key (ConfigError). A trace's relative path is read from the file's folder."""
    live = validated_file(path, LiveConfig, "a links file is a mapping with a links: key")
    return live.seed, shapes_of(live, topology, path.name, path.parent)


def shapes_of(
    live: LiveConfig, topology: Topology, source: str, folder: Path
) -> dict[str, LinkShape]:
    """Each link's shape of a validated ``live:`` mapping, its names checked on ``topology``
    and its traces read (a relative path from ``folder``)."""
    names = [link_name(k.src, k.dst) for k in topology.links]
    shapes = {}
    for name, link in live.links.items():
        if name not in names:
            raise ConfigError(f"{source}: links.{name}: {unknown_choice('link', name, names)}")
        trace: tuple[tuple[float, float, float], ...] = ()
        if link.trace is not None:
            trace = read_trace(folder / link.trace, f"{source}: links.{name}.trace")
        shapes[name] = LinkShape(link.bandwidth, link.latency, link.jitter, link.loss, trace)
    return shapes


def read_trace(path: Path, key: str) -> tuple[tuple[float, float, float], ...]:
    """A trace file's rows, checked: the three columns, numbers, times rising from 0 or later,
    bandwidth above 0 and latency 0 or more."""
    if not path.is_file():
        raise ConfigError(f"{key}: no file {path}")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
        raise ConfigError(f"{key}: {path.name} is not a CSV file ({reason})") from None
    missing = [c for c in TRACE_COLUMNS if c not in table.columns]
    if missing:
        raise ConfigError(f"{key}: {path.name} lacks the column(s) {', '.join(missing)} "
                          f"(a trace has {', '.join(TRACE_COLUMNS)})")  # fmt: skip
    if table.empty:
        raise ConfigError(f"{key}: {path.name} has no rows")
    values = table[list(TRACE_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    bad = values.isna().any(axis=1)
    if bad.any():
        row = int(bad.idxmax()) + 2  # the file's line: a header, then rows from 1
        raise ConfigError(f"{key}: {path.name} line {row}: not a number")
    times = values["time_s"]
    if times.iloc[0] < 0 or not times.is_monotonic_increasing or times.duplicated().any():
        raise ConfigError(f"{key}: {path.name}: time_s must rise from 0 or later, row by row")
    if (values["bandwidth"] <= 0).any() or (values["latency_ms"] < 0).any():
        raise ConfigError(f"{key}: {path.name}: bandwidth must be above 0, latency_ms 0 or more")
    return tuple((float(t), float(b), float(la)) for t, b, la in values.itertuples(index=False))
