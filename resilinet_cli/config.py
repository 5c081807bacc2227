"""YAML experiment configs -> frozen, validated objects.

Everything is checked before any data is loaded or TensorFlow is imported, and every problem is
reported as one line ``file: key.path: message`` (docs/architecture.md §7). All defaults live in
the schema.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
)

from resilinet_cli.errors import ConfigError, unknown_choice

VariantName = Literal["vanilla", "deepfogguard", "resilinet", "resilinet_plus"]
ALL_VARIANTS: tuple[VariantName, ...] = typing.get_args(VariantName)
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Survival = Annotated[float, Field(gt=0.0, le=1.0)]
Link = tuple[str, str]
DEFAULT_SURVIVAL = 0.9  # docs/method.md §3: the final code's failout survival rate


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TopologyConfig(_Section):
    """Physical nodes, hyperconnections and reliability settings (docs/method.md §2.1, §6.1)."""

    nodes: list[str] = Field(min_length=2, description="input to output")
    links: list[Link] = Field(min_length=1, description="chain hyperconnections")
    skips: list[Link] = []
    failable: list[str] = Field(min_length=1, description="order of combination bits")
    reliability: dict[str, list[Probability]] = Field(min_length=1)


class GeneratedTopologyConfig(_Section):
    """``topology: {generate: chain, size: 16}``: a topology made by ``generate.py``."""

    generate: str
    size: int = Field(ge=1, le=64, description="failable nodes")

    @field_validator("generate")
    @classmethod
    def _known_generator(cls, name: str) -> str:
        from resilinet_cli.generate import GENERATORS

        if name not in GENERATORS:
            raise ValueError(unknown_choice("topology generator", name, GENERATORS))
        return name


class SubsetConfig(_Section):
    """Caps on split sizes, for quick runs (``--smoke`` sets them)."""

    train: PositiveInt | None = None
    val: PositiveInt | None = None
    test: PositiveInt | None = None


class DatasetConfig(_Section):
    name: str
    data_dir: Path | None = None
    download: bool = True
    split_seed: int = 42
    subset: SubsetConfig = SubsetConfig()
    image_size: PositiveInt | None = Field(
        default=None, description="pad (or resize, if larger) images to this square size"
    )
    channels: Literal[1, 3] | None = Field(default=None, description="repeat grey images to 3")

    @field_validator("name")
    @classmethod
    def _known_dataset(cls, name: str) -> str:
        from resilinet_cli.data import DATASETS

        if name not in DATASETS:
            raise ValueError(unknown_choice("dataset", name, DATASETS))
        return name


class ModelConfig(_Section):
    """The model family and its options; each option belongs to one family (see registry)."""

    name: str = "mlp"
    partition: PositiveInt = 1
    # mlp (docs/method.md §2.2)
    hidden_units: PositiveInt = 250
    layers_per_node: PositiveInt | dict[str, PositiveInt] | None = Field(
        default=None,
        description="overrides the partition setting: layers on each non-input node, or one "
        "number for every non-input node (handy for generated topologies of any size)",
    )
    # mobilenet (docs/method.md §2.3, §2.5)
    alpha: PositiveFloat = 0.75
    depth_multiplier: PositiveInt = 1
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.001
    strides: Literal["cifar", "standard"] = Field(
        default="cifar", description="cifar: stride 1 in conv1 and block 2 (32x32 inputs)"
    )
    bn_momentum: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(
        default=0.99,
        description="Keras' default; short runs need less (inference BN lags fast weights)",
    )
    # resnet18 (docs/method.md §2.4)
    weight_decay: NonNegativeFloat = 1e-4

    @field_validator("name")
    @classmethod
    def _known_model(cls, name: str) -> str:
        from resilinet_cli.models.registry import FAMILIES

        if name not in FAMILIES:
            raise ValueError(unknown_choice("model", name, FAMILIES))
        return name


class FailoutConfig(_Section):
    """Failout survival rate per failable node (docs/method.md §3)."""

    survival: Survival | dict[str, Survival] = DEFAULT_SURVIVAL
    granularity: Literal["batch", "example"] = "batch"


class HyperconnectionConfig(_Section):
    """Fixed hyperconnection weights (docs/method.md §5)."""

    scheme: Literal[1, 2, 3, 4] = 1
    setting: str = Field(
        default="no_failure", description="reliability setting that schemes 2 and 3 read"
    )


class TrainConfig(_Section):
    epochs: PositiveInt = 50
    batch_size: PositiveInt = 1024
    gradient_accumulation_steps: PositiveInt | None = Field(
        default=None,
        # Unset, it is left out of the resolved config: no other config's digest changes.
        exclude_if=lambda steps: steps is None,
        description="one Adam step per this many batches, on their mean gradient (None or 1: "
        "every batch); BN statistics and failout stay per batch",
    )
    augment: bool = Field(
        default=False, description="random rotation 30 deg, shifts 0.2, horizontal flip (images)"
    )
    mixed_precision: bool = Field(default=False, description="float16 compute on a GPU")
    failout: FailoutConfig = FailoutConfig()
    hyperconnection_weights: HyperconnectionConfig = HyperconnectionConfig()


ExperimentType = Literal[
    "average_accuracy",
    "failout_rate",
    "hyperconnection_weight",
    "skip_sensitivity",
    "partition",
    "merge",
]


class ExperimentSection(_Section):
    """Which experiment (docs/method.md §7) a run performs, and the levels of its factor."""

    type: ExperimentType = "average_accuracy"
    survival: list[Survival] = Field(
        default=[0.95, 0.9, 0.7, 0.5], min_length=1, description="failout_rate: fixed rates"
    )
    variable: bool = Field(
        default=True, description="failout_rate: also survival = each setting's reliability"
    )
    schemes: list[Literal[1, 2, 3, 4]] = Field(default=[1, 2, 3, 4], min_length=1)
    partitions: list[PositiveInt] = Field(default=[1, 2], min_length=1)


class EvaluationConfig(_Section):
    batch_size: PositiveInt = 1024


class ExperimentConfig(_Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    smoke: bool = Field(
        default=False, description="set by --smoke: a shrunk run whose numbers mean nothing"
    )
    seed: int = 0
    iterations: PositiveInt = 1
    variants: list[VariantName] = Field(default=list(ALL_VARIANTS), min_length=1)
    topology: TopologyConfig
    dataset: DatasetConfig
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    experiment: ExperimentSection = ExperimentSection()

    def survival_per_node(self) -> dict[str, float]:
        """Failout survival rate of every failable node."""
        survival = self.train.failout.survival
        if isinstance(survival, dict):
            return {node: survival.get(node, DEFAULT_SURVIVAL) for node in self.topology.failable}
        return {node: survival for node in self.topology.failable}

    def to_dict(self) -> dict[str, Any]:
        """The resolved config; the model section keeps only its family's options."""
        from resilinet_cli.models.registry import FAMILIES

        data = self.model_dump(mode="json")
        if not self.smoke:  # keeps the hash of every ordinary config as it was
            del data["smoke"]
        keep = {"name", "partition", *FAMILIES[self.model.name].keys}
        data["model"] = {k: v for k, v in data["model"].items() if k in keep}
        return data

    def with_overrides(self, overrides: Sequence[str]) -> ExperimentConfig:
        """This config with ``key=value`` overrides applied and validated again."""
        if not overrides:
            return self
        raw = self.to_dict()
        for override in overrides:
            apply_override(raw, override)
        return validate_config(raw, self.name)

    def digest(self) -> str:
        """Stable hash of the resolved config: a run folder belongs to exactly one config.

        Where the data lives (``data_dir``, ``download``) does not change results, so it is left
        out: the same run can resume on a machine that keeps its data elsewhere.
        """
        identity = self.to_dict()
        identity["dataset"] = {
            k: v for k, v in identity["dataset"].items() if k not in ("data_dir", "download")
        }
        text = json.dumps(identity, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


SMOKE_OVERRIDES = (
    "smoke=true",
    "train.epochs=1",
    "iterations=1",
    "dataset.subset.train=512",
    "dataset.subset.val=128",
    "dataset.subset.test=256",
)


def load_config(
    path: Path, overrides: Sequence[str] = (), *, smoke: bool = False
) -> ExperimentConfig:
    """Read, override and validate a config file; raise ConfigError listing every problem."""
    raw = read_mapping(path)
    raw = _resolve_topology(raw, path)
    # --smoke shrinks first, so that what the user sets explicitly wins.
    for override in (*(SMOKE_OVERRIDES if smoke else ()), *overrides):
        apply_override(raw, override)
    raw = _resolve_topology(raw, path)  # --set topology=cnn names a preset too
    return validate_config(_expand_generated(raw, path.name), path.name, overrides)


def read_mapping(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A config file as a mapping; ``base: other.yaml`` inherits that file's keys.

    The file's own keys win, section by section, so an ablation config states only what it
    changes (``base: ../health.yaml`` plus an ``experiment:`` section).
    """
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: expected a mapping of keys at the top level")
    base = raw.pop("base", None)
    if base is None:
        return raw
    if not isinstance(base, str):
        raise ConfigError(f"{path.name}: base: expected the path of another config file")
    parent = (path.parent / base).resolve()
    if parent in seen or parent == path.resolve():
        raise ConfigError(f"{path.name}: base: {base} includes itself")
    inherited = _resolve_topology(read_mapping(parent, (*seen, path.resolve())), parent)
    return _deep_merge(inherited, raw)


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "topology":
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def validate_config(
    raw: dict[str, Any], source: str, overrides: Sequence[str] = ()
) -> ExperimentConfig:
    """The validated config; each problem is blamed on the ``--set`` that caused it, if any."""
    try:
        config = ExperimentConfig.model_validate(raw)
    except ValidationError as error:
        problems = _format_errors(error)
    else:
        problems = _semantic_problems(config)
    if problems:
        raise ConfigError("\n".join(_blame(source, overrides, loc, msg) for loc, msg in problems))
    return config


def _blame(source: str, overrides: Sequence[str], loc: str, message: str) -> str:
    """``file: key: message``, or ``--set key=value: message`` when an override set that key."""
    for override in reversed(overrides):  # the last override of a key is the one that counts
        key = override.partition("=")[0].strip()
        if loc == key:
            return f"--set {override}: {message}"
        if loc.startswith((f"{key}.", f"{key}[")) or key.startswith(f"{loc}."):
            return f"--set {override}: {loc}: {message}"
    return f"{source}: {loc or '(top level)'}: {message}"


def read_yaml(path: Path) -> Any:
    """Parse YAML safely (no object construction); syntax errors carry line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    if not text.strip():
        raise ConfigError(f"{path.name}: the file is empty")
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        raise ConfigError(f"{path.name}: {where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path.name}: invalid YAML: {error}") from None


def apply_override(raw: dict[str, Any], override: str) -> None:
    """Apply one Hydra-style ``key.path=value`` override in place (value parsed as YAML)."""
    key, sep, text = override.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {override!r}: expected key=value, for example train.epochs=5")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        raise ConfigError(f"--set {override!r}: the value is not valid YAML") from None
    parts = key.strip().split(".")
    node = raw
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            where = ".".join(parts[: depth + 1])
            raise ConfigError(f"--set {override}: {where} is not a section, so {key} cannot be set")
        node = child
    node[parts[-1]] = value


def multirun(overrides: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Hydra-style sweeps: ``key=a,b`` gives one run per value.

    Returns (folder name, overrides) per run; the folder is ``""`` when nothing sweeps. Commas
    inside brackets, braces or quotes do not split (``variants=[a,b]`` is one value).
    """
    single, sweeps = [], []
    for override in overrides:
        key, sep, text = override.partition("=")
        values = _split_top_level(text) if sep else [text]
        if len(values) > 1:
            sweeps.append([f"{key}={value}" for value in values])
        else:
            single.append(override)
    if not sweeps:
        return [("", list(single))]
    return [(",".join(chosen), [*single, *chosen]) for chosen in itertools.product(*sweeps)]


def _split_top_level(text: str) -> list[str]:
    parts, depth, quote, current = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += char
    return [*parts, current]


PRESETS = Path(__file__).resolve().parent / "topologies"


def _resolve_topology(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    """Replace ``topology: NAME`` with a preset's mapping.

    A preset is looked for next to the config first (``topologies/NAME.yaml``, or ``NAME`` as a
    path), so a project can keep its own, and then among the presets shipped in the package, so
    that ``topology: health`` works from any folder.
    """
    name = raw.get("topology")
    if not isinstance(name, str):
        return raw
    here = path.parent
    candidates = [here / "topologies" / f"{name}.yaml", here / name]
    candidates.append(PRESETS / f"{name}.yaml")
    preset = next((c for c in candidates if c.is_file()), None)
    if preset is None:
        known = sorted({p.stem for d in (here / "topologies", PRESETS) for p in d.glob("*.yaml")})
        raise ConfigError(
            f"{path.name}: topology: {unknown_choice('topology preset', name, known)}"
        )
    topology = read_yaml(preset)
    if not isinstance(topology, dict):
        raise ConfigError(f"{preset.name}: expected a mapping of keys at the top level")
    return {**raw, "topology": topology}


def _expand_generated(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """Replace ``topology: {generate: KIND, size: N}`` with the generated topology mapping.

    Expanded after the overrides, so ``--set topology.size=20`` resizes a generated topology.
    """
    spec = raw.get("topology")
    if not isinstance(spec, dict) or "generate" not in spec:
        return raw
    from resilinet_cli.generate import GENERATORS

    try:
        generated = GeneratedTopologyConfig.model_validate(spec)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            loc = ("topology", *problem["loc"])
            if problem["type"] == "extra_forbidden":
                known = list(GeneratedTopologyConfig.model_fields)
                message = unknown_choice("key", loc[-1], known)
            else:
                message = problem["msg"].removeprefix("Value error, ")
            lines.append(f"{source}: {_loc_text(loc)}: {message}")
        raise ConfigError("\n".join(lines)) from None
    return {**raw, "topology": GENERATORS[generated.generate](generated.size)}


def _format_errors(error: ValidationError) -> list[tuple[str, str]]:
    """(key path, message) per problem, with did-you-mean for unknown keys and choices."""
    lines = []
    for problem in _merge_union_members(error.errors()):
        loc = problem["loc"]
        if problem["type"] == "extra_forbidden":
            known = _known_keys(ExperimentConfig, loc[:-1])
            message = unknown_choice("key", loc[-1], known)
        elif problem["type"] == "literal_error" and isinstance(problem.get("input"), str):
            known = re.findall(r"'([^']*)'", problem.get("ctx", {}).get("expected", ""))
            message = unknown_choice(_choice_kind(loc), problem["input"], known)
        else:
            message = problem["msg"].removeprefix("Value error, ")
        lines.append((_loc_text(loc), message))
    return lines


def _merge_union_members(problems: list[Any]) -> list[Any]:
    """One problem per key for ``A | B`` fields.

    Pydantic reports a failed union once per member, under a tag such as ``constrained-float``:
    ``survival: greater than 0`` and ``survival: should be a valid dictionary`` for
    ``survival: 0``. Keep the members whose type matched the input; when none did, join the
    expected types into one line.
    """
    groups: dict[Any, list[Any]] = {}
    for i, problem in enumerate(problems):
        loc = problem["loc"]
        tag = next((j for j, part in enumerate(loc) if _is_tag(part)), None)
        groups.setdefault(("union", loc[:tag]) if tag is not None else i, []).append(problem)
    merged = []
    for key, group in groups.items():
        if not isinstance(key, tuple) or len(group) == 1:
            merged.extend(group)
            continue
        matched = [p for p in group if not _is_type_mismatch(p)]
        if matched:
            merged.extend(matched)
        else:
            wanted = [p["msg"].removeprefix("Input should be ").split(",")[0] for p in group]
            merged.append(
                {**group[0], "loc": key[1], "msg": "Input should be " + " or ".join(wanted)}
            )
    return merged


def _is_type_mismatch(problem: Any) -> bool:
    """The input does not have this union member's type at all (not a bad value of it)."""
    return _is_tag(problem["loc"][-1]) and problem["type"].endswith(("_type", "_parsing"))


def _is_tag(part: str | int) -> bool:
    """A location part that names a schema (a union member), not a key the user wrote."""
    return isinstance(part, str) and (
        part.startswith(("function-", "constrained-", "tuple[", "list[", "dict["))
        or part in ("float", "str", "int")
    )


def _choice_kind(loc: Sequence[str | int]) -> str:
    """What a literal names: 'granularity', or 'variant' for an item of ``variants``."""
    names = [part for part in loc if isinstance(part, str) and not _is_tag(part)]
    name = names[-1] if names else "value"
    return name[:-1] if isinstance(loc[-1], int) and name.endswith("s") else name


def _loc_text(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not _is_tag(part):
            text += f".{part}" if text else part
    return text


def _known_keys(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Field names of the section at ``loc``: what an unknown key could have meant."""
    annotation: Any = model
    for part in loc:
        annotation = _section_type(annotation)
        if (
            isinstance(part, str)
            and isinstance(annotation, type)
            and issubclass(annotation, BaseModel)
        ):
            field = annotation.model_fields.get(part)
            if field is None:
                return []
            annotation = field.annotation
    annotation = _section_type(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _section_type(annotation: Any) -> Any:
    """Unwrap Optional[...] down to the BaseModel it holds."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        models = [a for a in typing.get_args(annotation) if isinstance(a, type)]
        models = [a for a in models if issubclass(a, BaseModel)]
        return models[0] if models else annotation
    return annotation


def _semantic_problems(config: ExperimentConfig) -> list[tuple[str, str]]:
    """Checks that span several keys: the topology graph, node names, partitions."""
    from resilinet_cli.models.registry import FAMILIES
    from resilinet_cli.topology import topology_problems

    problems = topology_problems(config.topology)
    failable = config.topology.failable
    survival = config.train.failout.survival
    if isinstance(survival, dict):
        for node in survival:
            if node not in failable:
                message = unknown_choice("failable node", node, failable)
                problems.append((f"train.failout.survival.{node}", message))
    setting = config.train.hyperconnection_weights.setting
    if setting not in config.topology.reliability:
        message = unknown_choice("reliability setting", setting, list(config.topology.reliability))
        problems.append(("train.hyperconnection_weights.setting", message))
    family = FAMILIES[config.model.name]
    for key in sorted(config.model.model_fields_set - {"name", "partition", *family.keys}):
        message = f"does not apply to model '{config.model.name}' (its keys: "
        problems.append((f"model.{key}", message + ", ".join(("partition", *family.keys)) + ")"))
    receivers = config.topology.nodes[1:]
    layers = config.model.layers_per_node
    if isinstance(layers, dict):
        for node in layers:
            if node not in receivers:
                problems.append(
                    (f"model.layers_per_node.{node}", unknown_choice("node", node, receivers))
                )
        missing = [node for node in receivers if node not in layers]
        if missing:
            problems.append(("model.layers_per_node", f"missing nodes: {', '.join(missing)}"))
    elif layers is None:
        partition = family.partitions.get(config.model.partition)
        if partition is None:
            known = ", ".join(str(p) for p in family.partitions)
            message = f"{config.model.name} has no partition setting {config.model.partition} "
            problems.append(("model.partition", message + f"(known: {known})"))
        elif len(partition) != len(receivers):
            message = (
                f"partition {config.model.partition} places layers on {len(partition)} nodes, "
                f"but the topology has {len(receivers)} non-input nodes; "
                "set model.layers_per_node instead"
            )
            problems.append(("model.partition", message))
    return problems
