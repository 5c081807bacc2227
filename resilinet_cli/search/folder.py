"""A search's folder: the inputs it was started with, so that it resumes with the same ones.

``search.json`` holds the search's digest (CONFIG as resolved, with its costs, and the space);
``config.yaml`` and ``space.yaml`` are copies, which ``--resume DIR`` reads. A folder holding
another search is refused, as a run folder holding another config is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from resilinet_cli import atomic
from resilinet_cli.config import ExperimentConfig, load_config
from resilinet_cli.config.schema import validate_config
from resilinet_cli.config.yaml_file import read_yaml
from resilinet_cli.errors import ConfigError, RunError
from resilinet_cli.results import runs
from resilinet_cli.search.candidates import search_digest
from resilinet_cli.search.space import SearchSpace, load_space

RECORD = "search.json"
CONFIG = "config.yaml"
SPACE = "space.yaml"


def load_inputs(
    config_file: Path, space_file: Path, costs_file: Path | None
) -> tuple[ExperimentConfig, SearchSpace]:
    """CONFIG (with a measured ``costs:`` section from ``costs_file`` in place of its own) and
    the space, both validated."""
    from resilinet_cli.models.keras_family import check_network
    from resilinet_cli.models.keras_source import NetworkError
    from resilinet_cli.variants import topology_of

    config = load_config(config_file)
    if costs_file is not None:
        raw = read_yaml(costs_file)
        if not isinstance(raw, dict) or "costs" not in raw:
            raise ConfigError(
                f"{costs_file.name}: no costs: section (resilinet measure writes one)"
            )
        resolved = config.to_dict()
        resolved["costs"] = raw["costs"]
        config = validate_config(resolved, costs_file.name)
    if config.model.name == "keras":  # its cuts are checked before anything is costed
        try:
            check_network(config.model, topology_of(config))
        except NetworkError as error:
            raise ConfigError(f"{config_file.name}: {error.key}: {error.message}") from None
    return config, load_space(space_file)


def saved_inputs(folder: Path) -> tuple[Path, Path]:
    """The config and space a search folder was started with."""
    config, space = folder / CONFIG, folder / SPACE
    if not (folder / RECORD).is_file() or not config.is_file() or not space.is_file():
        raise RunError(f"{folder}: not a search folder (no {RECORD}, {CONFIG} or {SPACE})")
    return config, space


def prepare(out: Path, plan: Any, config_file: Path, space_file: Path) -> None:
    """Create the folder, or check that it holds this search; never a committed reference."""
    from resilinet_cli.results.references import fresh_folder, refuse_writes

    refuse_writes(out, f"search into a fresh folder instead, such as {fresh_folder(out)}")
    digest = search_digest(plan.config, plan.space)
    record = out / RECORD
    if record.is_file():
        saved = json.loads(record.read_text(encoding="utf-8")).get("digest")
        if saved != digest:
            raise RunError(
                f"{out}: holds another search (another config, costs or space); choose "
                "another --out or delete the folder"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(out / CONFIG, runs.config_text(plan.config))
    atomic.write_text(out / SPACE, space_file.read_text(encoding="utf-8"))
    atomic.write_text(record, json.dumps({
        "digest": digest, "config": str(config_file), "space": str(space_file),
        "started": runs.now(), "versions": runs.versions(),
    }, indent=2))  # fmt: skip


def add_invocation(out: Path, done: Any) -> list[dict[str, Any]]:
    """Record what this invocation ran in search.json; every invocation's record."""
    record = json.loads((out / RECORD).read_text(encoding="utf-8"))
    record.setdefault("invocations", []).append({"finished": runs.now(), **vars(done)})
    atomic.write_text(out / RECORD, json.dumps(record, indent=2))
    return record["invocations"]


def check_cluster(address: str | None, storage: Path | None, cpus_per_trial: float) -> None:
    """Refused in one line before any trial starts: a cluster of several nodes without a folder
    they all reach (Tune has required one since Ray 2.7), and trials that fit on no node
    (Tune would wait for them forever)."""
    import ray

    alive = [node for node in ray.nodes() if node.get("Alive")]
    largest = max((node.get("Resources", {}).get("CPU", 0.0) for node in alive), default=0.0)
    if cpus_per_trial > largest:
        raise ConfigError(
            f"cpus_per_trial: {cpus_per_trial:g}, but the largest node of the Ray cluster has "
            f"{largest:g} CPUs; lower cpus_per_trial in the space file"
        )
    if len(alive) > 1 and storage is None:
        where = f"--address {address}" if address else "the Ray cluster of RAY_ADDRESS"
        raise ConfigError(
            f"{where}: this cluster has {len(alive)} nodes; give --storage DIR, a "
            "folder every node reaches at the same path (Ray Tune keeps trials there)"
        )
