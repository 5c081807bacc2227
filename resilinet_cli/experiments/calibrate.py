"""``resilinet calibrate-exits``: choose each exit unit's threshold T on its validation split.

For every finished unit whose variant has exit heads: the heads' outputs on the validation
split with every node alive give the exact curve of exit rate and accuracy against T
(sweeps/calibration.py); the chosen T goes into the unit's ``exits.json``, the test sweep is
scored again with it (both rules), the unit's record gets the new checksums, and the run's
tables and REPORT.md are rebuilt. Nothing is written until every unit's T and sweep are known.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from resilinet_cli import atomic
from resilinet_cli.config import ExperimentConfig
from resilinet_cli.errors import ConfigError, RunError
from resilinet_cli.experiments.exit_threshold import sweep_unit
from resilinet_cli.experiments.pages import RunTables, write_run_tables
from resilinet_cli.results import integrity, layout, runs
from resilinet_cli.results.locate import retrain_command
from resilinet_cli.sweeps.calibration import Choice, curve, pick
from resilinet_cli.variants import topology_of

if TYPE_CHECKING:
    import pandas as pd

    from resilinet_cli.topology import Topology


@dataclass(frozen=True)
class Calibrated:
    """One unit's chosen T, and its test sweep scored with it."""

    unit: runs.Unit
    record: dict[str, Any]
    choice: Choice
    combinations: pd.DataFrame


def exit_units(
    run_dir: Path, config: ExperimentConfig, variants: list[str] | None
) -> list[tuple[runs.Unit, dict[str, Any]]]:
    """The run's finished units of variants with exits (of ``variants``, if given); a
    ConfigError when there is none, a RunError when one is damaged or has no model."""
    wanted = [v for v in variants or config.variants if config.variant(v).exits]
    if not wanted:
        raise ConfigError(
            f"calibrate-exits: {run_dir} has no variant with exits "
            f"(variants: {', '.join(variants or config.variants)})"
        )
    found = [(u, r) for u, r in runs.finished_records(run_dir, config) if u.variant in wanted]
    if not found:
        raise RunError(
            f"calibrate-exits: {run_dir} has no finished unit of {', '.join(wanted)}; "
            f"run it first: {retrain_command(run_dir)}"
        )
    for unit, _ in found:
        if not (unit.folder(run_dir) / layout.MODEL).is_file():
            folder = unit.folder(run_dir)
            raise RunError(
                f"{folder}: no {layout.MODEL} to calibrate; train it again with: "
                f"{retrain_command(run_dir, folder)}"
            )
    return found


def validation_heads(
    model: Any, topology: Topology, data: Any, batch_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """With every node alive, per validation example: each exit's normalised entropy and
    whether it is right (exits in chain order), and whether the final output is right.

    Computed by the exit sweep's own compiled path and batch size, so the entropies are the
    float32 values the sweep compares with T.
    """
    import tensorflow as tf

    from resilinet_cli.sweeps.exits import ExitSweep, normalised_entropy
    from resilinet_cli.sweeps.node_graph import cut_nodes
    from resilinet_cli.sweeps.sweep import compiled

    graph = cut_nodes(model, topology)
    if graph is None or not graph.exits:
        raise RunError(f"model {model.name!r} has no exit heads to calibrate")
    alive = (1,) * len(topology.columns)
    exit_sweep = ExitSweep(graph, topology, [alive])
    exits, final = exit_sweep.plan.rules[alive]
    assert final is not None  # every node alive: information reaches the output node

    def per_example(x: Any, y: Any) -> tuple[Any, Any]:
        outputs = exit_sweep.head_outputs(x)
        labels = tf.cast(y, tf.int64)
        entropies = tf.stack([normalised_entropy(outputs[h]) for h in exits], axis=1)
        hits = [tf.equal(tf.argmax(outputs[h], axis=-1), labels) for h in (*exits, final)]
        return entropies, tf.stack(hits, axis=1)

    run = compiled(per_example)
    entropies, hits = [], []
    for x, y in data.batch(batch_size).prefetch(tf.data.AUTOTUNE):
        chunk = run(x, y)
        entropies.append(chunk[0].numpy())
        hits.append(chunk[1].numpy())
    if not entropies:
        raise RunError("the validation split is empty: no examples to choose T on")
    e, h = np.concatenate(entropies), np.concatenate(hits)
    return e.astype(np.float32), h[:, :-1], h[:, -1]


def validation_examples(inputs: Any) -> Any:
    """The unbatched validation split (features, label), or a RunError if there is none."""
    if inputs.val_examples is not None:
        return inputs.val_examples
    if inputs.val is None:
        raise RunError("the data has no validation split to choose T on")
    return inputs.val.unbatch().map(lambda features, label: (features[0], label))


def calibrate_unit(
    run_dir: Path,
    config: ExperimentConfig,
    unit: runs.Unit,
    record: dict[str, Any],
    splits: Any,
    rule: str,
    target: float,
) -> Calibrated:
    """The unit's T by ``rule``, and its test sweep with that T (nothing written)."""
    from resilinet_cli.results.model_files import load_model
    from resilinet_cli.training.inputs import build_inputs

    own = unit.config(config)
    topology = topology_of(own, unit.variant)
    inputs = build_inputs(splits, own, len(own.topology.columns), seed=unit.seed)
    folder = unit.folder(run_dir)
    model = load_model(folder / layout.MODEL)
    batch = own.evaluation.batch_size
    heads = validation_heads(model, topology, validation_examples(inputs), batch)
    choice = pick(curve(*heads), rule, target)
    combinations = sweep_unit(own, unit.variant, model, inputs, folder, threshold=choice.threshold)
    return Calibrated(unit, record, choice, combinations)


def write_unit(run_dir: Path, done: Calibrated, rule: str, target: float) -> None:
    """``exits.json``, the rescored combinations.csv, then the record with their checksums."""
    folder = done.unit.folder(run_dir)
    validation = asdict(done.choice)
    threshold = validation.pop("threshold")
    atomic.write_json(
        folder / layout.EXITS,
        {
            "threshold": threshold,
            "rule": rule,
            "target": target,
            "validation": validation,
            "model_sha256": integrity.sha256(folder / layout.MODEL),
        },
    )
    atomic.write_csv(folder / layout.COMBINATIONS, done.combinations)
    atomic.write_json(folder / layout.RECORD, integrity.with_checksums(folder, done.record))


def calibrate_run(
    run_dir: Path,
    config: ExperimentConfig,
    rule: str,
    target: float,
    variants: list[str] | None = None,
    family: Any = None,
) -> tuple[list[Calibrated], RunTables]:
    """Calibrate every finished exit unit of the run, then rebuild its tables and REPORT.md."""
    from resilinet_cli.data import load_splits

    units = exit_units(run_dir, config, variants)
    splits = load_splits(config.dataset)
    done = [
        calibrate_unit(run_dir, config, unit, record, splits, rule, target)
        for unit, record in units
    ]
    for calibrated in done:
        write_unit(run_dir, calibrated, rule, target)
    return done, write_run_tables(run_dir, config, family=family)


def calibrate_as_defined(run_dir: Path, config: ExperimentConfig) -> list[Calibrated]:
    """Calibrate each finished unit whose variant's definition names a target
    (``target_exit_rate`` or ``max_accuracy_drop``) and whose ``exits.json`` was not chosen by
    it for this model: a new unit, one copied from a donor, or a target changed since."""
    from resilinet_cli.data import load_splits

    pending = []
    for unit, record in runs.finished_records(run_dir, config):
        wanted = config.variant(unit.variant).calibration
        folder = unit.folder(run_dir)
        if wanted and (folder / layout.MODEL).is_file() and not chosen_by(folder, wanted):
            pending.append((unit, record, wanted))
    if not pending:
        return []
    splits = load_splits(config.dataset)
    done = []
    for unit, record, (rule, target) in pending:
        calibrated = calibrate_unit(run_dir, config, unit, record, splits, rule, target)
        write_unit(run_dir, calibrated, rule, target)
        done.append(calibrated)
    return done


def chosen_by(folder: Path, wanted: tuple[str, float]) -> bool:
    """Whether the unit's ``exits.json`` holds a T chosen by this rule and target for its
    current model."""
    try:
        saved = json.loads((folder / layout.EXITS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    same_model = saved.get("model_sha256") == integrity.sha256(folder / layout.MODEL)
    return (
        isinstance(saved, dict)
        and (saved.get("rule"), saved.get("target")) == wanted
        and same_model
    )
