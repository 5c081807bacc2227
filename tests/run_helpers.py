"""Small run folders and configs that several test modules build."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from paths import CONFIGS

# The one tiny trained run the tests share: the quickstart, one epoch on a few hundred digits.
# A test that needs another value changes that key on top of it: tiny_sets("iterations=1").
TINY_CONFIG = CONFIGS / "quickstart.yaml"
TINY_SETS = (
    "train.epochs=1",
    "dataset.subset.train=300",
    "dataset.subset.val=100",
    "dataset.subset.test=100",
)


def tiny_sets(*changes: str) -> list[str]:
    """The tiny run's overrides with ``changes`` on top (a changed key keeps one value only)."""
    changed = {change.partition("=")[0] for change in changes}
    kept = [value for value in TINY_SETS if value.partition("=")[0] not in changed]
    return [*kept, *changes]


def as_flags(sets: list[str] | tuple[str, ...]) -> list[str]:
    """``--set`` options of ``resilinet run`` for these overrides."""
    return [arg for value in sets for arg in ("--set", value)]


def as_yaml_list(sets: list[str]) -> str:
    """These overrides as a profile's ``set:`` list."""
    return "[" + ", ".join(f"'{value}'" for value in sets) + "]"


TINY = as_flags(TINY_SETS)  # `--set` options that shrink a quickstart run to seconds


@dataclass(frozen=True)
class TinyRun:
    """The shared tiny run as the ``tiny_run`` fixture hands it out: a config and overrides."""

    config: Path = TINY_CONFIG
    base: tuple[str, ...] = TINY_SETS

    def sets(self, *changes: str) -> list[str]:
        """Its overrides with ``changes`` on top."""
        return tiny_sets(*changes)

    def command(self, out: Path, *changes: str) -> list[str]:
        """``resilinet run`` arguments of the tiny run into ``out``, ``changes`` on top."""
        return ["run", str(self.config), "--out", str(out), *as_flags(self.sets(*changes))]


def write_config(folder: Path, topology: object, size: int = 4) -> Path:
    layers = {f"fog{k}": 1 for k in range(1, size + 1)} | {"cloud": 1}
    raw = {
        "name": "chain",
        "dataset": {"name": "digits"},
        "topology": topology,
        "model": {"name": "mlp", "hidden_units": 16, "layers_per_node": layers},
    }
    path = folder / "chain.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def bare_run(folder: Path, size: int) -> Path:
    """A run folder with a config and an empty model file.

    The flags are checked before any model or data is loaded, so that is all they need.
    """
    unit = folder / "runs" / "resilinet" / "iter-1"
    unit.mkdir(parents=True)
    (unit / "model.keras").write_bytes(b"")
    write_config(folder, {"generate": "chain", "size": size}, size).rename(folder / "config.yaml")
    return folder


# A four-unit quickstart (two variants, two iterations, one epoch on a few hundred digits):
# what every executor must reproduce byte for byte.
SMOKE_SETS = tiny_sets("iterations=2")
UNITS = ["vanilla/iter-1", "vanilla/iter-2", "resilinet/iter-1", "resilinet/iter-2"]


def smoke_command(out: Path, *extra: str) -> list[str]:
    """``resilinet run`` arguments of the four-unit smoke run into ``out``."""
    args = ["run", str(CONFIGS / "quickstart.yaml"), "--out", str(out)]
    args += ["--variants", "vanilla,resilinet"]
    for override in SMOKE_SETS:
        args += ["--set", override]
    return [*args, *extra]


def assert_same_files(out: Path, reference: Path, units: list[str] = UNITS) -> None:
    """The tables and every unit's history and combinations, byte for byte."""
    for table in ("weighted_accuracy.csv", "combinations.csv"):
        assert (out / "tables" / table).read_bytes() == (reference / "tables" / table).read_bytes()
    assert_same_units(out, reference, units)


@contextmanager
def two_node_cluster() -> Iterator[Any]:
    """A Ray head and a second node on 127.0.0.1, one CPU each, shut down on leaving."""
    import ray
    from ray.cluster_utils import Cluster

    made = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    made.add_node(num_cpus=1)
    made.wait_for_nodes(timeout=60)
    try:
        yield made
    finally:
        if ray.is_initialized():
            ray.shutdown()
        made.shutdown()


def smoke_profile(folder: Path) -> Path:
    """A profile of two experiments with the smoke run's units; the second, ``again``, is the
    same training under another name, so a profile trains its units once and copies them."""
    configs = folder / "configs"
    (configs / "profiles").mkdir(parents=True)
    shutil.copy(CONFIGS / "quickstart.yaml", configs / "quickstart.yaml")
    sets = [*SMOKE_SETS, "variants=[vanilla,resilinet]"]
    profile = {
        "description": "The smoke run twice.",
        "experiments": [
            {"config": "quickstart.yaml", "set": sets},
            {"config": "quickstart.yaml", "set": [*sets, "name=again"]},
        ],
    }
    path = configs / "profiles" / "smoke.yaml"
    path.write_text(yaml.safe_dump(profile))
    return path


def assert_same_units(out: Path, reference: Path, units: list[str] = UNITS) -> None:
    """Every unit's history and combinations, byte for byte."""
    for unit in units:
        for name in ("history.csv", "combinations.csv"):
            path = Path("runs") / unit / name
            assert (out / path).read_bytes() == (reference / path).read_bytes(), path


HEALTH_NODES = ["fog1", "fog2", "edge"]


def write_run(out: Path, accuracy: dict[str, list[float]], *overrides: str) -> Any:
    """A finished quickstart run as a run leaves it, without models (as committed results are).

    ``accuracy[variant][k - 1]`` is iteration k's accuracy, the same in every combination, and
    every combination is said to have information flow; so weighted accuracies equal those
    numbers, and a figure's guesses can only come from the topology.
    """
    from resilinet_cli.config import load_config
    from resilinet_cli.experiments.kinds import plan_units
    from resilinet_cli.results import runs
    from resilinet_cli.training_version import TRAINING_VERSION

    iterations = max(len(values) for values in accuracy.values())
    config = load_config(
        CONFIGS / "quickstart.yaml",
        [f"iterations={iterations}", f"variants=[{','.join(accuracy)}]", *overrides],
    )
    runs.prepare_run_folder(out, config)
    for variant, values in accuracy.items():
        for unit in plan_units(config, [variant], range(1, len(values) + 1)):
            folder = unit.folder(out)
            folder.mkdir(parents=True)
            rows = [
                f"{c >> 2 & 1},{c >> 1 & 1},{c & 1},True,{values[unit.iteration - 1]}"
                for c in range(8)
            ]
            (folder / "combinations.csv").write_text(
                ",".join([*HEALTH_NODES, "information_flow", "accuracy"])
                + "\n"
                + "\n".join(rows)
                + "\n"
            )
            record = {
                "config_hash": unit.config(config).digest(),
                "status": "done",
                "swept": True,
                "training_version": TRAINING_VERSION,
                "unit": unit.to_record(),
            }
            (folder / "run.json").write_text(json.dumps(record, indent=2))
    return config


def trained_briefly(config: Any, variant: str, splits: Any, work_dir: Path) -> tuple[Any, Any, Any]:
    """``variant`` built as ``config`` says and trained 2 epochs from seed 0: a model for tests
    to sweep or deploy. Returns (model, family, history)."""
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.training.fit import set_seeds, train_model
    from resilinet_cli.training.inputs import build_inputs
    from resilinet_cli.variants import topology_of

    columns = topology_of(config, variant).columns  # with the variant's standby replicas
    inputs = build_inputs(splits, config, failable=len(columns), seed=0)
    set_seeds(0)
    model, family = build_from_config(
        config, variant, input_shape=inputs.input_shape, num_classes=inputs.num_classes, seed=0
    )
    history = train_model(
        model,
        inputs.train_epoch,
        inputs.val,
        epochs=2,
        seed=0,
        work_dir=work_dir,
        verbose=0,
        loss_weights=config.variant(variant).loss_weights(),
    )
    return model, family, history
