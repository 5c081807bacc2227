"""The Python API: what the command line does, as functions a notebook can call.

``import resilinet_cli as rn`` exposes these names (README, "Python API"). Each is a thin,
typed entry into the packages below; the command line calls the same functions. TensorFlow is
imported only when a function needs it, so that ``import resilinet_cli`` stays light.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from resilinet_cli.config import ExperimentConfig
from resilinet_cli.config import load_config as _load_config
from resilinet_cli.errors import ConfigError, unknown_choice
from resilinet_cli.experiments.cluster import RayOptions
from resilinet_cli.topology import Topology
from resilinet_cli.variants import VARIANTS, topology_of, variant_topology

ArrayData = (
    tuple[np.ndarray, np.ndarray]
    | Sequence[tuple[np.ndarray, np.ndarray]]
    | Mapping[str, np.ndarray]
)
"""``(x, y)``, ``((x_train, y_train), (x_val, y_val), (x_test, y_test))``, or a mapping of those
names (``x``/``y`` or ``x_train``, ``y_train``, ...), for ``run(config, data=...)``."""

if TYPE_CHECKING:
    import keras

    from resilinet_cli.experiments.notebook_progress import BarProgress
    from resilinet_cli.experiments.progress import Progress
    from resilinet_cli.results.runs import Unit


def load_config(
    path: str | Path, overrides: Sequence[str] = (), *, smoke: bool = False
) -> ExperimentConfig:
    """The validated config of a YAML file, with ``key=value`` overrides (as ``--set``).

    Raises ``ConfigError`` with one line per problem, each naming the file (or ``--set``) and key.
    The config may leave out its ``dataset:`` section: ``run(config, data=...)`` brings arrays.
    """
    return _load_config(Path(path), overrides, smoke=smoke, need_dataset=False)


def build_model(
    config: ExperimentConfig,
    variant: str,
    *,
    input_shape: Sequence[int],
    num_classes: int,
    seed: int | None = None,
    allow_code: bool = False,
) -> keras.Model:
    """A fresh, untrained model of ``variant`` as the config describes it.

    Its inputs are ``features`` and ``alive`` (one 0/1 column per failable node, 1 = alive);
    ``predict`` builds the mask for you. ``seed`` (default: the config's) fixes the weights.
    The keras family's layers start from the network's own weights (docs/byom.md);
    ``allow_code`` lets its ``model.source`` be a ``module:function`` factory (--allow-code).
    """
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.models.user_code import allowing_code, code_allowed
    from resilinet_cli.training.fit import set_seeds

    _check_variant(config, variant)
    seed = config.seed if seed is None else seed
    set_seeds(seed)
    with allowing_code(allow_code or code_allowed()):
        model, _ = build_from_config(
            config, variant, input_shape=tuple(input_shape), num_classes=num_classes, seed=seed
        )
    return model


def train(
    model: keras.Model,
    config: ExperimentConfig,
    x: np.ndarray,
    y: np.ndarray,
    *,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int | None = None,
    verbose: int | str = 0,
) -> pd.DataFrame:
    """Train ``model`` in place on arrays as ``run`` does; return the history (one row per epoch).

    Adam, ``config.train`` (epochs, batch size, augmentation), failout inside the model. With
    ``validation`` the model ends with its best-validation weights, as in a run.
    """
    from resilinet_cli.data import Splits
    from resilinet_cli.training.fit import train_model
    from resilinet_cli.training.inputs import build_inputs

    seed = config.seed if seed is None else seed
    x_val, y_val = validation if validation is not None else (x[:1], y[:1])
    splits = Splits("arrays", x, y, x_val, y_val, x_val, y_val, int(model.outputs[0].shape[-1]))
    inputs = build_inputs(splits, config, int(model.inputs[1].shape[-1]), seed)
    with tempfile.TemporaryDirectory(prefix="resilinet-train-") as work_dir:
        return train_model(
            model,
            inputs.train_epoch,
            inputs.val if validation is not None else None,
            epochs=config.train.epochs,
            seed=seed,
            work_dir=Path(work_dir),
            verbose=verbose,
            gradient_accumulation_steps=config.train.gradient_accumulation_steps,
            optimizer=config.train.optimizer,
            early_stopping=config.train.early_stopping,
            loss_weights=_loss_weights(config, model.name),
        )


def sweep(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    topology: Topology | ExperimentConfig,
    *,
    guess: float | None = None,
    batch_size: int = 1024,
) -> pd.DataFrame:
    """Accuracy of ``model`` on (x, y) under every failure combination: one row each.

    Columns: one 0/1 column per failable node (1 = alive), ``information_flow`` and
    ``accuracy``. A combination without information flow scores ``guess`` (default: guessing
    from the class frequencies of ``y``). The model's variant (its name) decides which skip
    hyperconnections it has; ``topology`` is the config's (or its ``Topology``; pass the config
    for a variant it defines). A model with exit heads is scored by both inference rules, with
    their columns (docs/variants.md): it answers at an exit where the output is not reached.
    """
    import tensorflow as tf

    from resilinet_cli.data.splits import class_counts, guess_accuracy
    from resilinet_cli.models.builder import model_name
    from resilinet_cli.sweeps.sweep import sweep as sweep_all

    if isinstance(topology, ExperimentConfig):
        config = topology
        topology = topology_of(config)
        defined = {model_name(name): name for name in config.techniques}  # vanilla-exits
        if model.name in defined:
            topology = variant_topology(topology, config.variant(defined[model.name]))
    if model.name in VARIANTS:
        topology = variant_topology(topology, model.name)
    if guess is None:
        counts = class_counts(np.asarray(y), int(model.outputs[0].shape[-1]))
        guess = guess_accuracy(counts, counts)
    data = tf.data.Dataset.from_tensor_slices((x, y))
    return sweep_all(model, topology, data, len(y), guess=guess, batch_size=batch_size)


def weighted_accuracy(
    combinations: pd.DataFrame, reliability: Sequence[float] | Mapping[str, float]
) -> float:
    """Σ P(combination)·accuracy when each node survives independently with its reliability.

    ``reliability`` is one survival probability per failable node, in the order of the
    table's node columns (then, optionally, one per failable link column; links always carry
    data otherwise), or a mapping from node (or link) name to it.
    """
    from resilinet_cli.sweeps.sweep import FLOW, weighted_sum
    from resilinet_cli.topology import LINK_ARROW

    columns = list(combinations.columns[: list(combinations.columns).index(FLOW)])
    nodes = [name for name in columns if LINK_ARROW not in name]
    if isinstance(reliability, Mapping):
        missing = [node for node in nodes if node not in reliability]
        if missing:
            raise ConfigError(f"reliability: no value for {', '.join(missing)}")
        reliability = [reliability.get(name, 1.0) for name in columns]
    reliability = list(reliability)
    if len(reliability) == len(nodes):
        reliability += [1.0] * (len(columns) - len(nodes))
    if len(reliability) != len(columns):
        raise ConfigError(
            f"reliability: needs {len(nodes)} values ({', '.join(nodes)}), got {len(reliability)}"
        )
    return weighted_sum(combinations, columns, reliability)


@dataclass(frozen=True)
class RunResult:
    """What a run leaves: its folder and tables, and the units that failed (with why)."""

    out: Path
    weighted: pd.DataFrame  # variant, [factor,] setting, mean, std, iterations
    combinations: pd.DataFrame  # variant, [factor,] combination, mean, std
    failed: list[tuple[Unit, str]]


def run(
    config: ExperimentConfig,
    out: str | Path | None = None,
    *,
    variants: Sequence[str] | None = None,
    iterations: Sequence[int] | None = None,
    seed: int | None = None,
    force: bool = False,
    fail_fast: bool = False,
    reuse_from: Path | None = None,
    swept: bool = True,
    reuse_stale: bool = False,
    progress: Progress | None = None,
    verbose: int | str = 0,
    workers: int = 1,
    ray: RayOptions | None = None,
    allow_code: bool = False,
    quiet: bool = False,
    data: ArrayData | None = None,
) -> RunResult:
    """Run an experiment as ``resilinet run`` does: train, sweep, write the results folder.

    ``data`` brings your own arrays in place of the config's dataset: ``(x, y)`` (split
    80/10/10 with ``dataset.split_seed``, as the built-in data sets), or the three splits
    ``((x_train, y_train), (x_val, y_val), (x_test, y_test))``. Labels may be integers or
    strings (mapped to 0..K-1 in sorted order). The arrays are kept in the data cache by their
    SHA-256, which becomes ``dataset.digest``: other arrays never resume or reuse this run's
    units, and ``evaluate`` or ``deploy`` find the same arrays later.

    ``out`` defaults to ``results/<name>``. Finished units there are kept, so a second call
    resumes. ``variants`` and ``iterations`` (1-based) choose a part of the plan; ``seed``
    replaces every unit's seed (as ``resilinet train --seed``). ``workers`` > 1 trains that many
    units at a time, each in a fresh process; ``ray`` (``RayOptions``: address, per-unit CPUs and
    GPUs, retries) runs them as tasks of a Ray cluster. Both give the serial run's results.
    ``allow_code`` (--allow-code) lets a keras-family ``model.source`` be a Python factory.
    Without a ``progress`` of your own a ``tqdm.auto`` bar follows the units (a widget in
    Jupyter, text where ipywidgets is missing); ``quiet`` prints nothing at all.
    """
    import dataclasses

    from resilinet_cli.experiments.kinds import plan_units
    from resilinet_cli.experiments.runner import run_experiment
    from resilinet_cli.results import layout

    for name in variants or ():
        _check_variant(config, name)
    config = _with_data(config, data)
    if workers < 1:
        raise ConfigError(f"workers: expected at least 1, got {workers}")
    if workers > 1 and ray is not None:
        raise ConfigError("workers: a local pool or a Ray cluster, not both")
    out = Path(out) if out is not None else Path("results") / config.name
    units = plan_units(config, variants or None, iterations)
    if seed is not None:
        units = [dataclasses.replace(unit, seed=seed) for unit in units]
    from resilinet_cli.experiments.notebook_progress import BarProgress
    from resilinet_cli.experiments.progress import Progress
    from resilinet_cli.models.user_code import allowing_code, code_allowed

    bar = BarProgress() if progress is None and not quiet else None
    if quiet:
        progress, verbose = Progress(), 0
    with allowing_code(allow_code or code_allowed()), _closing(bar):
        result = run_experiment(
            config,
            out,
            units,
            force=force,
            fail_fast=fail_fast,
            progress=progress or bar,
            verbose=verbose,
            reuse_from=reuse_from,
            swept=swept,
            reuse_stale=reuse_stale,
            workers=workers,
            ray=ray,
        )
    combinations = pd.read_csv(out / layout.TABLES / layout.COMBINATIONS)
    return RunResult(out, result.weighted, combinations, result.failed)


def load_model(path: str | Path) -> keras.Model:
    """A saved resilinet model, checked before Keras reads it (no Lambda layers, safe mode)."""
    from resilinet_cli.results.model_files import load_model as load_checked

    return load_checked(Path(path))


def predict(
    model: keras.Model, x: np.ndarray, *, dead: Sequence[str] = (), batch_size: int = 1024
) -> np.ndarray:
    """The model's class probabilities for ``x`` with the named nodes (or links) dead.

    The names are the topology's failable nodes and links; the model knows them by its gates.
    """
    columns = alive_columns(model)
    known = [name for name in columns if name is not None]
    for name in dead:
        if name not in known:
            raise ConfigError(f"dead: {unknown_choice('failable node', name, known)}")
    import tensorflow as tf

    alive = np.ones((len(x), len(columns)), dtype="float32")
    for name in dead:
        alive[:, columns.index(name)] = 0.0
    # a dataset of our own, not arrays: Keras' array pipeline makes TensorFlow 2.21 log a C++
    # "NodeDef mentions attribute use_unbounded_threadpool" line once op determinism is on
    data = tf.data.Dataset.from_tensor_slices(((x, alive),)).batch(batch_size)
    return model.predict(data, verbose=0)


def failable_nodes(model: keras.Model) -> list[str]:
    """A model's failable nodes in the order of its ``alive`` columns (from its node gates)."""
    from resilinet_cli.layers import LinkGate

    links = {layer.link for layer in model.layers if isinstance(layer, LinkGate)}
    return [name for name in alive_columns(model) if name is not None and name not in links]


def alive_columns(model: keras.Model) -> list[str | None]:
    """The name of each ``alive`` column: failable nodes, then failable links ("src->dst").

    None for a failable link the model does not have (Vanilla has no skips): its flag is inert.
    """
    from resilinet_cli.layers import LinkGate, NodeGate

    names: dict[int, str] = {}
    for layer in model.layers:
        if isinstance(layer, LinkGate):
            names[layer.index] = layer.link
        elif isinstance(layer, NodeGate):
            names[layer.index] = layer.name.removesuffix("_gate")
    return [names.get(i) for i in range(int(model.inputs[1].shape[-1]))]


@contextmanager
def _closing(bar: BarProgress | None) -> Iterator[None]:
    """Close the run's bar however the run ends, so a notebook cell does not keep it open."""
    try:
        yield
    finally:
        if bar is not None:
            bar.close()


def _with_data(config: ExperimentConfig, data: ArrayData | None) -> ExperimentConfig:
    """The config whose dataset is ``data`` (kept in the data cache), or the config itself;
    a config without a dataset needs ``data``. The section's split seed, subset caps, image
    shaping, class names and standardisation still apply to the arrays."""
    from resilinet_cli.config.schema import DatasetConfig, with_data_digest
    from resilinet_cli.data.files import as_named_arrays, keep_arrays

    if data is None:
        if config.dataset is None or config.dataset.name is None:
            raise ConfigError(
                f"{config.name}: dataset: missing; pass arrays: rn.run(config, data=(x, y))"
            )
        return with_data_digest(config)
    digest = keep_arrays(as_named_arrays(data))
    kept = ("split_seed", "subset", "image_size", "channels", "classes", "standardize")
    section = config.dataset.model_dump(include=set(kept)) if config.dataset else {}
    dataset = DatasetConfig.model_validate({**section, "name": "arrays", "digest": digest})
    return config.model_copy(update={"dataset": dataset})


def _loss_weights(config: ExperimentConfig, name: str) -> list[float] | None:
    """The loss weights of a model built by ``build_model`` (named after its variant)."""
    from resilinet_cli.models.builder import model_name

    named = {model_name(variant): variant for variant in config.techniques}
    return config.variant(named[name]).loss_weights() if name in named else None


def _check_variant(config: ExperimentConfig, name: str) -> None:
    known = [*VARIANTS, *config.techniques]
    if name not in known:
        raise ConfigError(f"variant: {unknown_choice('variant', name, known)}")
