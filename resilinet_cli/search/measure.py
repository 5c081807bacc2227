"""``resilinet measure``: device figures for the cost model, timed on this machine.

Each node's sub-model (``<node>_stack_in`` to ``<node>_stack_out`` of the built model, as the
sweep cuts it: sweeps/node_graph.py) runs with batch 1 after a warm-up; the median of the
repeats is its time, and its FLOPs (``layer_flops``) over that time is this machine's FLOP/s
on that node's layers (small layers run below the machine's peak: that is what batch-1
inference gets). No one has an IoT sensor, a gateway and a fog server at hand, so each device
takes its node's figure times its class's scale factor, an assumption stated in the code, the
help, every source and the written file. Links are not measured: the config's figures are
copied, else assumed per class pair (``DEFAULT_LINKS``), each with its source.
"""

from __future__ import annotations

import datetime
import math
import os
import platform
import re
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from resilinet_cli import atomic
from resilinet_cli.config import ExperimentConfig
from resilinet_cli.errors import ConfigError, unknown_choice
from resilinet_cli.topology import link_name

# Of this machine's measured FLOP/s per node: assumptions, not measurements. An IoT sensor's
# microcontroller or small ARM core, an edge gateway (a Raspberry-Pi-class board), a fog server
# (a smaller x86 box), the cloud (a server like this machine, or better).
DEFAULT_SCALES: dict[str, float] = {"iot": 0.02, "edge": 0.1, "fog": 0.5, "cloud": 1.0}
# (sender class, receiver class) -> (payload bit/s, one-way latency ms, what is assumed)
DEFAULT_LINKS: dict[tuple[str, str], tuple[float, float, str]] = {
    ("iot", "edge"): (2.0e7, 5.0, "a sensor's Wi-Fi link to its gateway"),
    ("iot", "fog"): (2.0e7, 10.0, "a sensor's Wi-Fi link, one hop past its gateway"),
    ("iot", "cloud"): (1.0e7, 50.0, "a sensor's uplink over the Internet"),
    ("edge", "fog"): (1.0e8, 5.0, "a gateway's wired LAN to a fog server"),
    ("edge", "cloud"): (5.0e7, 40.0, "a gateway's Internet uplink"),
    ("fog", "fog"): (1.0e9, 1.0, "fog servers on one LAN"),
    ("fog", "cloud"): (1.0e8, 30.0, "a fog server's Internet uplink"),
}
OTHER_LINK = (1.0e7, 20.0, "no figure for this pair of device classes; a generic network link")
WARM_UP = 5  # calls before timing: the first traces the function and warms the caches
REPEATS = 30


def device_class(device: str) -> str:
    """A device's class: its name without a standby suffix or a number (``edge_r2`` -> edge,
    ``fog1`` -> fog)."""
    return re.sub(r"\d+$", "", re.sub(r"_r\d+$", "", device))


def parse_scales(texts: Sequence[str], classes: Sequence[str]) -> dict[str, float]:
    """The default scales, with ``--scale CLASS=FACTOR`` overrides; one line if one is bad.

    Every class of ``classes`` (the topology's) must then have a factor."""
    scales = {c: DEFAULT_SCALES[c] for c in classes if c in DEFAULT_SCALES}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or name not in classes:
            message = unknown_choice("device class", name, list(classes))
            raise ConfigError(f"--scale {text}: {message}; write CLASS=FACTOR")
        try:
            factor = float(value)
        except ValueError:
            factor = math.nan
        if not 0 < factor < math.inf:
            raise ConfigError(f"--scale {text}: FACTOR must be a number above 0, e.g. {name}=0.1")
        scales[name] = factor
    missing = [c for c in classes if c not in scales]
    if missing:
        raise ConfigError(
            f"--scale: no default factor for device class {', '.join(missing)}; give one, "
            f"e.g. --scale {missing[0]}=0.1"
        )
    return scales


@dataclass(frozen=True)
class NodeTiming:
    """One device's sub-model timed here: its FLOPs per example and median seconds per call."""

    device: str
    flops: int
    seconds: float

    @property
    def flops_per_second(self) -> float | None:
        """This machine's FLOP/s on the device's layers; None for a node that computes
        nothing (it only forwards its input)."""
        return self.flops / self.seconds if self.flops else None


def machine() -> str:
    """This machine in words: its CPU model and core count."""
    model = platform.processor() or platform.machine()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
        found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
        model = found.group(1).strip() if found else model
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def time_nodes(config: ExperimentConfig, variant: str, repeats: int = REPEATS) -> list[NodeTiming]:
    """Each device's sub-model of ``variant``'s built (untrained) model, timed with batch 1:
    the median over ``repeats`` calls after ``WARM_UP`` calls. Weights do not change the time
    of dense arithmetic, so nothing is trained."""
    import numpy as np

    from resilinet_cli.live.compute import compiled
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.models.costs import layer_flops
    from resilinet_cli.search.cost_model import _shapes
    from resilinet_cli.sweeps.node_graph import cut_nodes
    from resilinet_cli.variants import topology_of

    input_shape, num_classes = _shapes(config)
    model, _ = build_from_config(
        config, variant, input_shape=input_shape, num_classes=num_classes, seed=config.seed
    )
    graph = cut_nodes(model, topology_of(config, variant))
    if graph is None:
        raise ConfigError(f"variant {variant}: its model cannot be cut into nodes to time")
    rng = np.random.default_rng(0)
    timings = []
    for device, stack in graph.stacks.items():
        tensor = stack.inputs[0]
        shape = tuple(tensor.shape[1:])
        run = compiled(stack, shape, str(tensor.dtype))
        x = rng.standard_normal((1, *shape)).astype(str(tensor.dtype))
        for _ in range(WARM_UP):
            run(x)
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            run(x)
            seconds.append(time.perf_counter() - start)
        flops = sum(layer_flops(stack).values())
        timings.append(NodeTiming(device, flops, statistics.median(seconds)))
    return timings


def costs_section(
    config: ExperimentConfig,
    timings: Sequence[NodeTiming],
    scales: Mapping[str, float],
    where: str,
    date: str,
) -> dict[str, Any]:
    """The ``costs:`` section: each device's figure with its source, each link's."""
    measured = [t for t in timings if t.flops]
    overall = sum(t.flops for t in measured) / sum(t.seconds for t in measured)
    devices = {}
    for timing in timings:
        kind = device_class(timing.device)
        own = timing.flops_per_second
        base = own if own is not None else overall
        how = (
            f"{base:.4g} FLOP/s"
            if own is not None
            else f"{base:.4g} FLOP/s (all nodes together: {timing.device} computes nothing)"
        )
        devices[timing.device] = {
            "flops_per_second": float(f"{base * scales[kind]:.4g}"),
            "source": f"measured by resilinet measure on {where}, {date}: "
            f"{how} x {scales[kind]:g} ({kind} scale)",
        }
    return {"devices": devices, "links": link_figures(config)}


def link_figures(config: ExperimentConfig) -> dict[str, dict[str, Any]]:
    """Every link of the topology (chain and skips): the config's figures, else assumed."""
    topology = config.topology
    links = {}
    for src, dst in [*topology.links, *topology.skips]:
        name = link_name(src, dst)
        given = config.costs.links.get(name)
        if given is not None:
            links[name] = given.model_dump()
            continue
        bandwidth, latency, what = DEFAULT_LINKS.get(
            (device_class(src), device_class(dst)), OTHER_LINK
        )
        links[name] = {
            "bandwidth": bandwidth,
            "latency_ms": latency,
            "source": f"assumed by resilinet measure: {what}",
        }
    return links


def header(where: str, date: str, variant: str, scales: Mapping[str, float]) -> str:
    """The comment at the top of the written file: what was measured and what assumed."""
    factors = ", ".join(f"{name} {factor:g}" for name, factor in scales.items())
    return (
        f"# Written by resilinet measure on {where}, {date}, from the nodes of variant "
        f"{variant}.\n"
        "# Device figures: this machine's FLOP/s on each node's layers (batch 1, median) times\n"
        f"# its class's scale factor, an assumption: {factors} (--scale CLASS=FACTOR).\n"
        "# Links are not measured: copied from the config's costs.links, else assumed.\n"
        "# Paste the costs: section into the config, or pass this file to resilinet search "
        "--costs.\n"
    )


def write(path: Path, section: Mapping[str, Any], comment: str) -> None:
    """The file with the ``costs:`` section, written whole or not at all."""
    text = comment + yaml.safe_dump({"costs": dict(section)}, sort_keys=False, width=1000)
    atomic.write_text(path, text)


def table(timings: Sequence[NodeTiming], section: Mapping[str, Any]) -> list[list[str]]:
    """Rows for the printed table: device, class, FLOPs, median time, FLOP/s here, figure."""
    rows = []
    for timing in timings:
        own = timing.flops_per_second
        rows.append([
            timing.device,
            device_class(timing.device),
            f"{timing.flops:,}",
            f"{1e6 * timing.seconds:.1f}",
            "-" if own is None else f"{own:.3g}",
            f"{section['devices'][timing.device]['flops_per_second']:.3g}",
        ])  # fmt: skip
    return rows


TABLE_HEADERS = ["device", "class", "FLOPs", "median µs", "FLOP/s here", "flops_per_second"]


def measure(
    config: ExperimentConfig,
    variant: str | None,
    scale_texts: Sequence[str],
    repeats: int,
) -> tuple[list[NodeTiming], dict[str, Any], str]:
    """Time ``variant`` (default: the config's first) and give (timings, the costs section,
    the file's header). Bad input is refused before anything is built."""
    from resilinet_cli.variants import topology_of

    chosen = variant or config.variants[0]
    if chosen not in config.variants:
        raise ConfigError(
            f"--variant: {unknown_choice('variant of this config', chosen, config.variants)}"
        )
    topology = topology_of(config, chosen)
    devices = [*topology.nodes, *(column for column, _ in topology.replicas)]
    scales = parse_scales(scale_texts, list(dict.fromkeys(device_class(d) for d in devices)))
    timings = time_nodes(config, chosen, repeats)
    where = machine()
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    section = costs_section(config, timings, scales, where, date)
    return timings, section, header(where, date, chosen, scales)
