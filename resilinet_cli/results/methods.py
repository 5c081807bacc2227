"""The methods block that opens an experiment's report: what was run, on what, with which code.

A reader of REPORT.md, or a reviewer of a paper that cites it, needs the setup next to the
numbers: the topology and its reliability vectors, the data and its split, the training, the
seeds, the software and the commit that made the units, and what it cost. The text comes from
the config and the finished units' records alone, so ``resilinet report`` rewrites it exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.config.families import describe_model
from resilinet_cli.topology import LABEL_ARROW, link_label

MAX_LISTED_CLASSES = 20  # more classes than this are counted in run.json only
SOFTWARE = (("resilinet", "resilinet"), ("tensorflow", "TensorFlow"), ("keras", "Keras"))


def methods_text(config: ExperimentConfig, records: Iterable[dict[str, Any]]) -> str:
    """A bullet list headed **Methods**; ``records`` are the finished units' run.json records."""
    records = list(records)
    lines = [
        "**Methods**",
        "",
        f"- Topology: {_topology(config)}.",
        f"- Reliability (survival of {', '.join(config.topology.failable)}): "
        + "; ".join(f"{name} ({_numbers(r)})" for name, r in config.topology.reliability.items())
        + ".",
        f"- Data: {_data(config, records)}.",
        f"- Model and training: {_training(config)}.",
        f"- Iterations: {_iterations(config, records)}.",
    ]
    if records:
        lines.append(f"- Software: {_software(records)}.")
        lines.append(f"- Wall time: {_wall_time(records)}.")
    return "\n".join(lines)


def _topology(config: ExperimentConfig) -> str:
    topology = config.topology
    devices = topology.devices
    text = f" {LABEL_ARROW} ".join(topology.nodes[len(devices) :])
    if devices:  # a fan-in topology: its devices feed the hub (docs/sensors.md)
        shared = ", sharing weights" if topology.shared else ""
        text = (
            f"devices {', '.join(devices)} ({_devices_seen(topology)}{shared}) aggregated by "
            f"{topology.aggregate} at {text}"
        )
    if topology.skips:
        text += "; skip hyperconnections " + ", ".join(
            link_label(a, b, spaced=True) for a, b in topology.skips
        )
    text += f"; failable nodes {', '.join(topology.failable)}"
    if topology.failable_links:
        text += f"; failable links {', '.join(topology.failable_links)}"
    return text


def _devices_seen(topology: Any) -> str:
    """What the devices see, as the config gives it: a grid, boxes or feature columns."""
    if topology.views is not None:
        if topology.views.grid is not None:
            return "a {}x{} grid of image tiles".format(*topology.views.grid)
        return "image boxes " + "; ".join(
            f"{name} {list(box)}" for name, box in topology.views.boxes.items()
        )
    listed = "; ".join(
        f"{name}: {', '.join(map(str, columns))}" for name, columns in topology.inputs.items()
    )
    fallback = ", else near-equal column blocks" if topology.inputs_fallback else ""
    return f"columns {listed}{fallback}"


def _numbers(values: Iterable[float]) -> str:
    return ", ".join(f"{value:g}" for value in values)


def _data(config: ExperimentConfig, records: list[dict[str, Any]]) -> str:
    dataset = config.dataset
    assert dataset is not None
    subset = dataset.subset
    caps = [(name, getattr(subset, name)) for name in ("train", "val", "test")]
    sizes = ", ".join(f"{name} {cap:,}" if cap else f"{name} whole split" for name, cap in caps)
    source = next((r["data"] for r in records if r.get("data")), None)
    name = _own_data(source) if source else dataset.name
    text = f"{name}, split seed {dataset.split_seed}, examples used: {sizes}"
    if dataset.standardize:
        text += "; features standardised on the training split"
    if dataset.image_size:
        text += f"; images padded to {dataset.image_size}x{dataset.image_size}"
    if dataset.channels:
        text += f"x{dataset.channels}"
    return text


def _own_data(source: dict[str, Any]) -> str:
    """A data set of the user's own as its units recorded it (data/files.py ``provenance``):
    where, which format, SHA-256, rows per split, classes and their counts per split."""
    digest = str(source.get("digest", ""))
    if source.get("source") == "arrays":
        text = f"arrays passed to rn.run (SHA-256 {digest})"
    else:
        files = source.get("files", {})
        kind = "image folder" if "images" in files else f"{source.get('format')} file"
        text = f"your own {kind} {source.get('path')} (SHA-256 {digest}"
        text += f"; {files['images']:,} images)" if "images" in files else ")"
    rows = {s: source["rows"][s] for s in ("train", "val", "test") if s in source.get("rows", {})}
    text += "; rows " + ", ".join(f"{split} {n:,}" for split, n in rows.items())
    counts = source.get("class_counts", {})
    classes = source.get("classes", [])
    if classes and len(classes) <= MAX_LISTED_CLASSES:
        per_class = [
            f"{name} {'/'.join(str(counts.get(s, {}).get(name, 0)) for s in rows)}"
            for name in classes
        ]
        text += f"; {len(classes)} classes ({'/'.join(rows)}): {', '.join(per_class)}"
    elif classes:
        text += f"; {len(classes)} classes (counts per split in each unit's run.json)"
    if source.get("labels") and any(k != str(v) for k, v in source["labels"].items()):
        text += "; labels mapped to 0..K-1 in sorted order"
    return text


def _training(config: ExperimentConfig) -> str:
    train, model = config.train, config.model
    optimizer = train.optimizer
    rate = f"learning rate {optimizer.learning_rate:g}, {optimizer.schedule}"
    extra = [f"momentum {optimizer.momentum:g}"] if optimizer.momentum else []
    extra += [f"weight decay {optimizer.weight_decay:g}"] if optimizer.weight_decay else []
    parts = [
        describe_model(model),
        f"{train.epochs} epoch{'s' if train.epochs != 1 else ''}"
        + (f" (early stopping, patience {train.early_stopping})" if train.early_stopping else "")
        + f", batch {train.batch_size}",
        f"{optimizer.name.capitalize() if optimizer.name == 'adam' else 'SGD'} "
        f"({', '.join([rate, *extra])})",
        "the weights of the best validation epoch",
    ]
    if any(config.variant(v).failout for v in config.variants):
        survival = train.failout.survival
        rates = _numbers(survival.values()) if isinstance(survival, dict) else f"{survival:g}"
        parts.append(f"failout survival {rates} per {train.failout.granularity}")
    parts.append(f"hyperconnection weight scheme {train.hyperconnection_weights.scheme}")
    parts += [_exits(config, name) for name in config.variants if config.variant(name).exits]
    return "; ".join(parts)


def _exits(config: ExperimentConfig, name: str) -> str:
    """A variant with exit heads, as DDNN would describe it (docs/variants.md)."""
    variant = config.variant(name)
    weights = _numbers(variant.loss_weights()) if variant.exit_weights else "equal"
    return (
        f"{name}: {variant.base} with exit heads at {', '.join(variant.exits)}, trained jointly "
        f"(loss weights {weights}); scored by the fallback rule and by the entropy threshold "
        f"rule (T {variant.exit_threshold:g} unless a unit's exits.json sets it)"
    )


def _iterations(config: ExperimentConfig, records: list[dict[str, Any]]) -> str:
    """What ran: the variants and iterations of the finished units (the config's plan if none)."""
    units = [r["unit"] for r in records if isinstance(r.get("unit"), dict)]
    variants = [v for v in config.variants if any(u.get("variant") == v for u in units)]
    # an ablation trains each variant once per level: count iterations, not units
    per_variant = {v: len({u.get("iteration") for u in units if u.get("variant") == v})
                   for v in variants}  # fmt: skip
    seeds = sorted({int(u["seed"]) for u in units if u.get("seed") is not None})
    if not units:
        per_variant = {v: config.iterations_of(v) for v in config.variants}
        most = max(per_variant.values())
        seeds = list(range(config.seed, config.seed + most))
    counts = set(per_variant.values())
    if len(counts) == 1:
        count = f"{counts.pop()} per variant ({', '.join(per_variant)})"
    else:
        count = ", ".join(f"{n} of {v}" for v, n in per_variant.items())
    span = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]} to {seeds[-1]}"
    return (
        f"{count}, {span} (iteration k uses seed + k - 1 for every variant, so iterations pair "
        "across variants)"
    )


def _software(records: list[dict[str, Any]]) -> str:
    parts = []
    for key, name in SOFTWARE:
        found = sorted({str(r.get("versions", {}).get(key)) for r in records} - {"None"})
        if found:
            parts.append(f"{name} {' and '.join(found)}")
    python = sorted({str(r.get("versions", {}).get("python")) for r in records} - {"None"})
    if python:
        parts.append(f"Python {' and '.join(python)}")
    commits = sorted(
        {
            f"{r['git']['commit'][:12]}{' (uncommitted changes)' if r['git'].get('dirty') else ''}"
            for r in records
            if r.get("git", {}).get("commit")
        }
    )
    if commits:
        parts.append(f"git commit {', '.join(commits)}")
    return ", ".join(parts)


def _wall_time(records: list[dict[str, Any]]) -> str:
    seconds = sum(float(r.get("wall_seconds") or 0) for r in records)
    timed = sum(1 for r in records if r.get("wall_seconds") is not None)
    copied = sum(1 for r in records if r.get("reused_from"))
    if not timed:
        return f"not recorded ({len(records)} units, made before units recorded it)"
    text = f"{duration(seconds)} over {timed} units"
    if copied:
        text += f", {copied} of them copied from an identical training (timed as the copy)"
    starts = sorted(str(r["started"]) for r in records if r.get("started"))
    ends = sorted(str(r["finished"]) for r in records if r.get("finished"))
    if starts and ends:
        text += f", between {starts[0]} and {ends[-1]}"
    return text


def duration(seconds: float) -> str:
    """'2 h 5 min', '12 min 30 s', '45.2 s'."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
