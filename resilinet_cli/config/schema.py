"""The config schema: frozen pydantic sections with every default (docs/architecture.md §7).

Validation names each problem by its key path; ``messages.py`` words them.
"""

from __future__ import annotations

import hashlib
import json
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from resilinet_cli.config.devices import AGGREGATES, MAX_GRID, device_names, expand_devices
from resilinet_cli.config.families import FAMILIES
from resilinet_cli.config.generate import GENERATORS
from resilinet_cli.config.messages import blame, format_errors, semantic_problems
from resilinet_cli.config.overrides import Edit, apply_override
from resilinet_cli.errors import ConfigError, unknown_choice
from resilinet_cli.topology import Topology
from resilinet_cli.variants import DEFAULT_THRESHOLD, Variant, lookup

VariantName = Literal["vanilla", "deepfogguard", "resilinet", "resilinet_plus"]
ALL_VARIANTS: tuple[VariantName, ...] = typing.get_args(VariantName)
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Survival = Annotated[float, Field(gt=0.0, le=1.0)]
Link = tuple[str, str]
# Each iteration is a trained model: more than this is a typo, not a plan (and would be planned
# unit by unit before any trains).
Iterations = Annotated[int, Field(gt=0, le=10_000)]
GridSize = Annotated[int, Field(ge=1, le=MAX_GRID)]
DEFAULT_SURVIVAL = 0.9  # docs/method.md §3: the final code's failout survival rate


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _unset(value: Any) -> bool:
    return value is None


class ViewsConfig(_Section):
    """``views:``: a ``grid: [rows, columns]`` of equal tiles, or named ``boxes`` (top, left,
    height, width), one device each."""

    grid: tuple[GridSize, GridSize] | None = None
    boxes: dict[str, tuple[NonNegativeInt, NonNegativeInt, PositiveInt, PositiveInt]] | None = None

    @model_validator(mode="after")
    def _grid_or_boxes(self) -> ViewsConfig:
        if (self.grid is None) == (self.boxes is None):
            raise ValueError("give one of grid ([rows, columns]) and boxes")
        return self

    def raw(self) -> dict[str, Any]:
        return {"grid": list(self.grid) if self.grid else None, "boxes": self.boxes}


class TopologyConfig(_Section):
    """Physical nodes, hyperconnections and reliability settings (docs/method.md §2.1, §6.1)."""

    nodes: list[str] = Field(min_length=2, description="input to output")
    links: list[Link] = Field(min_length=1, description="chain hyperconnections")
    skips: list[Link] = []
    failable: list[str] = Field(min_length=1, description="order of combination bits")
    failable_links: list[str] = Field(
        default=[],
        description="links that fail on their own ('src->dst'): bits after the nodes'",
        exclude_if=lambda links: not links,
    )
    reliability: dict[str, list[Probability]] = Field(min_length=1)
    # Input devices (docs/sensors.md): each key is left out of the resolved config (and so of
    # the config hash) at its default, so every chain's hash stays as it was.
    inputs: dict[str, list[NonNegativeInt | str]] | None = Field(
        default=None,
        exclude_if=_unset,
        description="feature columns per device: indices, names or patterns (chest: [chest_*])",
    )
    inputs_fallback: Literal["blocks"] | None = Field(
        default=None,
        exclude_if=_unset,
        description="where the data names no such columns: contiguous near-equal blocks",
    )
    views: ViewsConfig | None = Field(
        default=None, exclude_if=_unset, description="image slices per device"
    )
    aggregate: str = Field(
        default="concat",
        exclude_if=lambda kind: kind == "concat",
        description="how the hub combines the devices: concat, max or mean",
    )
    shared: bool = Field(
        default=False, exclude_if=lambda shared: not shared, description="devices share weights"
    )
    overlap: bool = Field(
        default=False,
        exclude_if=lambda overlap: not overlap,
        description="devices may see the same columns or pixels",
    )

    _expand = model_validator(mode="before")(expand_devices)

    @field_validator("aggregate")
    @classmethod
    def _known_aggregate(cls, kind: str) -> str:
        if kind in ("mux", "add"):
            raise ValueError(
                f"'{kind}' is a merge of the variants, where skips arrive; the hub aggregates "
                f"its devices by {', '.join(AGGREGATES)}"
            )
        if kind not in AGGREGATES:
            raise ValueError(unknown_choice("aggregate", kind, AGGREGATES))
        return kind

    @model_validator(mode="after")
    def _one_kind_of_device(self) -> TopologyConfig:
        if self.inputs is not None and self.views is not None:
            raise ValueError("give devices by inputs (columns) or by views (images), not both")
        return self

    @property
    def devices(self) -> list[str]:
        """The input devices, in order (none for a chain)."""
        return device_names({"inputs": self.inputs, "views": self.views and self.views.raw()})

    @property
    def devices_key(self) -> str:
        """The key that declares the devices, which a problem with them is blamed on."""
        return "topology.inputs" if self.inputs is not None else "topology.views"

    @property
    def columns(self) -> list[str]:
        """The alive flags of a model and the bits of a combination: nodes, then links."""
        return [*self.failable, *self.failable_links]


class GeneratedTopologyConfig(_Section):
    """``topology: {generate: chain, size: 16}``: a topology made by ``config/generate.py``."""

    generate: str
    size: int = Field(ge=1, le=64, description="failable nodes")

    @field_validator("generate")
    @classmethod
    def _known_generator(cls, name: str) -> str:
        if name not in GENERATORS:
            raise ValueError(unknown_choice("topology generator", name, GENERATORS))
        return name


class SubsetConfig(_Section):
    """Caps on split sizes, for quick runs (``--smoke`` sets them)."""

    train: PositiveInt | None = None
    val: PositiveInt | None = None
    test: PositiveInt | None = None


DataFormat = Literal["npz", "csv", "parquet", "images"]


class DatasetConfig(_Section):
    name: str | None = Field(
        default=None, description="absent only where rn.run(config, data=...) brings arrays"
    )
    data_dir: Path | None = None
    download: bool = True
    split_seed: int = 42
    subset: SubsetConfig = SubsetConfig()
    image_size: PositiveInt | None = Field(
        default=None, description="pad (or resize, if larger) images to this square size"
    )
    channels: Literal[1, 3] | None = Field(default=None, description="repeat grey images to 3")
    # Own data (name: files or arrays). Each key is left out of the resolved config (and so of
    # the config hash) while unset, so the built-in data sets' hashes stay as they were.
    path: Path | None = Field(
        default=None,
        exclude_if=_unset,
        description="name: files: the .npz, .csv or .parquet file, or the image folder; "
        "relative to the config file",
    )
    format: DataFormat | None = Field(
        default=None, exclude_if=_unset, description="default: from the suffix (a folder: images)"
    )
    label: str | None = Field(
        default=None, exclude_if=_unset, description="the label column of a table (default: label)"
    )
    features: list[str] | None = Field(
        default=None,
        exclude_if=_unset,
        description="a table's feature columns, by name or pattern (default: all but the label)",
    )
    standardize: bool = Field(
        default=False,
        exclude_if=lambda on: not on,
        description="scale each feature to mean 0 and standard deviation 1, fitted on the "
        "training split only",
    )
    classes: list[str] | None = Field(
        default=None, exclude_if=_unset, description="class names, in the order of the labels"
    )
    digest: str | None = Field(
        default=None,
        exclude_if=_unset,
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the data (set when the config is loaded; a run refuses other data)",
    )

    @field_validator("name")
    @classmethod
    def _known_dataset(cls, name: str | None) -> str | None:
        from resilinet_cli.data.registry import DATASETS, OWN_DATA

        if name is not None and name not in (*DATASETS, *OWN_DATA):
            raise ValueError(unknown_choice("dataset", name, (*DATASETS, "files")))
        return name

    @model_validator(mode="after")
    def _own_data_keys(self) -> DatasetConfig:
        from resilinet_cli.data.registry import OWN_DATA

        own = {"path", "format", "label", "features", "standardize", "classes", "digest"}
        given = {key for key in own if key in self.model_fields_set}
        if self.name not in (*OWN_DATA, None) and given:
            raise ValueError(
                f"{', '.join(sorted(given))}: only for a data set of your own (name: files)"
            )
        if self.name == "files" and self.path is None:
            raise ValueError("name: files needs path: the .npz, .csv, .parquet file or folder")
        if self.name == "arrays" and self.digest is None:
            raise ValueError("name: arrays is set by rn.run(config, data=...) with a digest")
        if self.name == "arrays" and self.path is not None:
            raise ValueError("path: not for arrays (they are kept in the data cache)")
        table = self.data_format in ("csv", "parquet")
        for key in ("label", "features"):
            if key in given and not table:
                raise ValueError(f"{key}: only for a CSV or Parquet file")
        return self

    @property
    def data_format(self) -> str | None:
        """The format of a files data set: ``format``, else its path's suffix (no suffix: an
        image folder); arrays are kept as npz."""
        if self.name == "arrays":
            return "npz"
        if self.path is None:
            return None
        if self.format is not None:
            return self.format
        suffix = self.path.suffix.lower()
        return {".npz": "npz", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(
            suffix, "images"
        )


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
    # keras: a user's network cut at named layers (docs/byom.md)
    source: str | None = Field(
        default=None,
        description="keras.applications.<Name>, or module:function with --allow-code",
    )
    path: Path | None = Field(default=None, description="a saved .keras model")
    args: dict[str, Any] = Field(default={}, description="keyword arguments of the source")
    cut: dict[str, str] | list[dict[str, str]] = Field(
        default={},
        description="the last layer of each node but the output node, in topology order; a "
        "list holds one such mapping per partition setting (model.partition picks one)",
    )
    weights: Path | None = Field(
        default=None, description="pretrained weights (.keras or .weights.h5) loaded by name"
    )
    layer_config: dict[str, dict[str, Any]] = Field(
        default={},
        description="config changes for every layer of a class, e.g. "
        "{BatchNormalization: {momentum: 0.9}}",
    )

    @field_validator("name")
    @classmethod
    def _known_model(cls, name: str) -> str:
        if name not in FAMILIES:
            raise ValueError(unknown_choice("model", name, FAMILIES))
        return name


class FailoutConfig(_Section):
    """Failout survival rate per failable node (docs/method.md §3)."""

    survival: Survival | dict[str, Survival] = DEFAULT_SURVIVAL
    granularity: Literal["batch", "example"] = "batch"
    model: str | None = Field(
        default=None,
        exclude_if=lambda model: model is None,
        description="draw failures from this failure model (its survival and common-cause "
        "events) instead of survival",
    )


class HyperconnectionConfig(_Section):
    """Hyperconnection weights (docs/method.md §5): fixed (1-4) or learned (5)."""

    scheme: Literal[1, 2, 3, 4, 5] = 1
    setting: str = Field(
        default="no_failure", description="reliability setting that schemes 2 and 3 read"
    )


class OptimizerConfig(_Section):
    """The optimizer; the defaults are the paper's: Adam as Keras defines it (docs/method.md §8)."""

    name: Literal["adam", "sgd"] = "adam"
    learning_rate: PositiveFloat = Field(default=0.001, description="the initial rate")
    schedule: Literal["constant", "cosine"] = Field(
        default="constant", description="cosine: decays to 0 over all training batches"
    )
    momentum: Annotated[float, Field(ge=0, lt=1)] = Field(default=0.0, description="sgd only")
    weight_decay: NonNegativeFloat = Field(
        default=0.0, description="decoupled weight decay (AdamW-style), per step times the rate"
    )


class TrainConfig(_Section):
    epochs: NonNegativeInt = Field(default=50, description="0: sweep the weights as loaded")
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
    threads: PositiveInt | None = Field(
        default=None,
        # Unset, it is left out of the resolved config: no other config's digest changes.
        exclude_if=lambda threads: threads is None,
        description="threads each TensorFlow op may use (None: one per core of the machine); "
        "float sums can depend on it, so it is part of a unit's settings",
    )
    distribute: Literal["none", "mirrored"] = Field(
        default="none",
        exclude_if=lambda how: how == "none",
        description="mirrored: one model copy per local GPU (tf.distribute.MirroredStrategy); "
        "results are identical only for the same number of devices",
    )
    optimizer: OptimizerConfig = Field(
        default=OptimizerConfig(),
        # The paper's optimizer is left out of the resolved config: no other digest changes.
        exclude_if=lambda optimizer: optimizer == OptimizerConfig(),
    )
    early_stopping: PositiveInt | None = Field(
        default=None,
        exclude_if=lambda patience: patience is None,
        description="stop when validation accuracy has not improved for this many epochs "
        "(None: train every epoch); the best epoch's weights are kept either way",
    )
    epoch_sweep: bool = Field(
        default=False,
        # Off, it is left out of the resolved config: no other config's digest changes.
        exclude_if=lambda on: not on,
        description="after every epoch, sweep the validation set's failure combinations and "
        "record weighted accuracy per reliability setting in history.csv (val_weighted_<setting>)",
    )
    failout: FailoutConfig = FailoutConfig()
    hyperconnection_weights: HyperconnectionConfig = HyperconnectionConfig()


class ResourcesConfig(_Section):
    """What each unit asks of a Ray cluster; where a unit runs changes none of its results."""

    num_cpus: PositiveFloat = 1.0
    num_gpus: NonNegativeFloat = Field(
        default=0.0, description="a fraction packs units onto one GPU (0.25: four per GPU)"
    )


ExperimentType = Literal[
    "average_accuracy",
    "failout_rate",
    "hyperconnection_weight",
    "skip_sensitivity",
    "partition",
    "merge",
    "failure_model",
    "methods",
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
    schemes: list[Literal[1, 2, 3, 4, 5]] = Field(default=[1, 2, 3, 4], min_length=1)
    partitions: list[PositiveInt] = Field(default=[1, 2], min_length=1)
    reference: str = Field(
        default="resilinet",
        exclude_if=lambda name: name == "resilinet",
        description="methods: the variant every other row is tested against",
    )
    setting: str | None = Field(
        default=None,
        exclude_if=_unset,
        description="methods: the figure's reliability setting or failure model "
        "(default: the hardest, lowest mean survival)",
    )
    cost: Literal["params", "flops", "bytes"] = Field(
        default="params",
        exclude_if=lambda cost: cost == "params",
        description="methods: the figure's extra cost over the reference",
    )


class CommonCauseConfig(_Section):
    """An event that kills every node it lists at once (a shared rack, power feed, uplink)."""

    nodes: list[str]
    probability: Probability


class FailureModelConfig(_Section):
    """Failures beyond independent node crashes (failure_model.py; docs/evaluation.md,
    "Failure models")."""

    survival: dict[str, Probability] = Field(
        default={}, description="per failable node, on its own (1 if not listed)"
    )
    common_cause: list[CommonCauseConfig] = []
    links: dict[str, Probability] = Field(default={}, description='"src->dst": link survival')
    joint: dict[str, Probability] | None = Field(
        default=None, description="measured P(combination) by bit string, instead of the above"
    )


class EvaluationConfig(_Section):
    batch_size: PositiveInt = 1024


class StatsConfig(_Section):
    """How a report's verdicts are corrected for multiple comparisons (results/claims.py);
    it only reports, so it is not part of the config hash."""

    correction: Literal["holm", "bh", "none"] = Field(
        default="holm",
        description="holm: family-wise error at 0.05; bh: Benjamini-Hochberg's false discovery "
        "rate at 0.05; none: each p as it is",
    )


class StandbyConfig(_Section):
    """How a node's standby replicas differ from its primary (docs/variants.md §7)."""

    width: float = Field(
        default=1.0,
        gt=0.0,
        le=1.0,
        description="each layer's width relative to the primary's, in (0, 1]: 0.5 halves the "
        "units or filters (the standby's output is zero-padded to the primary's width)",
    )


class TechniqueConfig(_Section):
    """A variant the config defines: a built-in one with exit heads, standby replicas or
    learned stand-ins (variants.py)."""

    base: VariantName | Literal[""] = Field(
        default="", description="the built-in variant it extends ('': the name before '+')"
    )
    exits: list[str] = Field(
        default=[], description="non-final nodes that get a classifier head, e.g. [edge, fog1]"
    )
    exit_weights: list[NonNegativeFloat] = Field(
        default=[],
        exclude_if=lambda weights: not weights,
        description="loss weight of the final output, then of each exit ([]: all equal)",
    )
    threshold: Probability = Field(
        default=DEFAULT_THRESHOLD,
        description="the threshold rule's bound on normalised entropy: an exit answers below "
        "it (scored beside the fallback rule; `calibrate-exits` sets it per unit)",
    )
    target_exit_rate: float | None = Field(
        default=None,
        gt=0.0,
        lt=1.0,
        exclude_if=lambda rate: rate is None,
        description="calibrate T per unit after every run: the smallest T at which this "
        "fraction of validation examples exits (as calibrate-exits --target-exit-rate)",
    )
    max_accuracy_drop: NonNegativeFloat | None = Field(
        default=None,
        exclude_if=lambda drop: drop is None,
        description="calibrate T per unit after every run: the largest T within this many "
        "points of the final output's validation accuracy (--max-accuracy-drop)",
    )
    replicas: dict[str, int] = Field(
        default={},
        exclude_if=lambda replicas: not replicas,
        description="failable nodes served by this many replicas, the primary first "
        "(e.g. {edge: 2}); each replica has an alive column of its own, <node>_r<k>",
    )
    standby: dict[str, StandbyConfig] = Field(
        default={},
        exclude_if=lambda standby: not standby,
        description="per replicated node, how its standbys differ (e.g. {edge: {width: 0.5}})",
    )
    stand_in: bool | list[str] = Field(
        default=False,
        exclude_if=lambda stand_in: not stand_in,
        description="true: a learned stand-in fills every dead sender's slot at a node with "
        "another input; or the links (src->dst) whose receivers get one",
    )
    reconstruction: NonNegativeFloat = Field(
        default=0.0,
        exclude_if=lambda weight: not weight,
        description="weight of each stand-in's reconstruction loss (its squared error against "
        "what the live sender sends) beside the task loss; 0: task loss only",
    )


GIVEN = "given in the config"  # a figure's source when the config does not say


class DeviceCostConfig(_Section):
    """One device's compute figure for the cost model (resilinet_cli/search/cost_model.py)."""

    flops_per_second: PositiveFloat = Field(
        description="FLOPs per second it computes (TensorFlow's count: a multiply-add is 2)"
    )
    source: str = Field(default=GIVEN, description="where the figure came from (reported)")


class LinkCostConfig(_Section):
    """One link's figures: time to send b bytes = latency_ms + 8 b / bandwidth seconds."""

    bandwidth: PositiveFloat = Field(description="payload bits per second")
    latency_ms: NonNegativeFloat = Field(description="one-way latency of a message, in ms")
    source: str = Field(default=GIVEN, description="where the figures came from (reported)")


class CostsConfig(_Section):
    """``costs:``: what the cost model scores designs with. It only scores: never in the config
    hash nor in a unit's training key, so adding or changing a figure retrains nothing."""

    devices: dict[str, DeviceCostConfig] = Field(
        default={}, description="per topology node (or standby replica such as edge_r2)"
    )
    links: dict[str, LinkCostConfig] = Field(
        default={}, description="per link of the topology, 'src->dst' (chain links and skips)"
    )


class LinkShapeConfig(_Section):
    """How one link of a live deployment carries its messages (resilinet_cli/live/shaping.py)."""

    bandwidth: PositiveFloat | None = Field(
        default=None, description="payload goodput in bits per second; unset: unlimited"
    )
    latency: NonNegativeFloat = Field(default=0.0, description="one-way delay of a message, ms")
    jitter: NonNegativeFloat = Field(
        default=0.0, description="each message's delay varies uniformly by up to this, ms"
    )
    loss: float = Field(default=0.0, ge=0, lt=1, description="probability a message is lost")
    trace: str | None = Field(
        default=None,
        description="a CSV of time_s, bandwidth, latency_ms replayed from the deployment's "
        "start, in place of bandwidth and latency (a relative path: from the current folder, "
        "or from the --links file's)",
    )


class LiveConfig(_Section):
    """``live:``: the links of a deployment of this config's units (``resilinet deploy``,
    ``live-eval``; ``--links FILE`` replaces it). Never in the config hash nor a unit's
    training key: it changes how messages travel, not what a model learnt."""

    seed: int = Field(default=0, description="which messages are lost and each one's jitter")
    links: dict[str, LinkShapeConfig] = Field(
        default={}, description="per link of the topology, 'src->dst' (chain links and skips)"
    )


class ExperimentConfig(_Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    smoke: bool = Field(
        default=False, description="set by --smoke: a shrunk run whose numbers mean nothing"
    )
    seed: int = 0
    iterations: Iterations = 1
    variants: list[str] = Field(default=list(ALL_VARIANTS), min_length=1)
    techniques: dict[str, TechniqueConfig] = Field(
        default={},
        exclude_if=lambda techniques: not techniques,
        description="variants defined here, named in `variants:` like the built-in four "
        "(e.g. vanilla+exits: {exits: [edge, fog1]})",
    )
    variant_iterations: dict[str, Iterations] = Field(
        default={},
        # Empty, it is left out of the resolved config: no other config's digest changes.
        exclude_if=lambda counts: not counts,
        description="iterations of the variants named here instead of `iterations`: more pairs "
        "only for the comparison that needs them (iteration k keeps seed + k - 1)",
    )
    topology: TopologyConfig
    dataset: DatasetConfig | None = Field(
        default=None,
        description="absent only in a config run by rn.run(config, data=...)",
    )
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    experiment: ExperimentSection = ExperimentSection()
    resources: ResourcesConfig = Field(
        default=ResourcesConfig(), exclude_if=lambda resources: resources == ResourcesConfig()
    )
    failure_models: dict[str, FailureModelConfig] = Field(
        default={},
        exclude_if=lambda models: not models,
        description="named failure models, scored as settings next to topology.reliability",
    )
    stats: StatsConfig = Field(
        default=StatsConfig(), exclude_if=lambda section: section == StatsConfig()
    )
    costs: CostsConfig = Field(
        default=CostsConfig(),
        exclude_if=lambda section: section == CostsConfig(),
        description="device and link figures of the cost model (resilinet search, measure)",
    )
    live: LiveConfig = Field(
        default=LiveConfig(),
        exclude_if=lambda section: section == LiveConfig(),
        description="shaped links of a live deployment (resilinet deploy, live-eval)",
    )

    def variant(self, name: str) -> Variant:
        """The registry entry of a variant this config names (built in or defined here)."""
        return lookup(name, self.techniques)

    def replica_counts(self) -> dict[str, int]:
        """Per replicated node, the most replicas any defined variant gives it."""
        counts: dict[str, int] = {}
        for spec in self.techniques.values():
            for node, count in spec.replicas.items():
                counts[node] = max(counts.get(node, 1), count)
        return counts

    def replica_columns(self) -> list[tuple[str, str]]:
        """(column, primary) of every standby replica a defined variant has, in column order:
        what its failure models may name besides the failable nodes."""
        topology = Topology.from_config(self.topology)
        return list(topology.with_replicas(self.replica_counts()).replicas)

    def iterations_of(self, variant: str) -> int:
        """How many iterations ``variant`` runs: its own count, else ``iterations``."""
        return self.variant_iterations.get(variant, self.iterations)  # type: ignore[call-overload]

    def survival_per_node(self) -> dict[str, float]:
        """Failout survival rate of every failable node."""
        survival = self.train.failout.survival
        if isinstance(survival, dict):
            return {node: survival.get(node, DEFAULT_SURVIVAL) for node in self.topology.failable}
        return {node: survival for node in self.topology.failable}

    def to_dict(self) -> dict[str, Any]:
        """The resolved config; the model section keeps only its family's options."""
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
        before = raw.get("dataset")
        before = dict(before) if isinstance(before, dict) else None
        for override in overrides:
            apply_override(raw, override)
        # Another path (or name) means other data, hashed again; the same files keep their
        # digest, so a unit's config needs no copy of them (on a Ray node, or once deleted).
        dataset = raw.get("dataset")
        if (
            before is not None
            and before.get("name") == "files"
            and isinstance(dataset, dict)
            and any(dataset.get(key) != before.get(key) for key in ("name", "path"))
        ):
            dataset.pop("digest", None)
        return with_data_digest(validate_config(raw, self.name))

    def digest(self) -> str:
        """Stable hash of the resolved config: a run folder belongs to exactly one config.

        Where the data lives (``data_dir``, ``download``, ``path``) and what a unit asks of a
        cluster (``resources``) do not change results, so they are left out: the same run can
        resume on a machine that keeps its data elsewhere, or with other resources (a data set
        of the user's own is named by its ``digest``). Failure models
        only score finished units: adding one to a finished run rescores it; ``stats`` only
        reports; ``costs`` only scores designs (resilinet search); ``live`` only shapes a
        deployment's links.
        """
        identity = training_identity(self, self.to_dict())
        identity.pop("resources", None)
        identity.pop("stats", None)
        identity.pop("costs", None)
        identity.pop("live", None)
        identity["dataset"] = data_identity(identity["dataset"])
        text = json.dumps(identity, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


DATA_LOCATION = ("data_dir", "download", "path")  # where the data lives, not what it is


def data_identity(dataset: dict[str, Any] | None) -> dict[str, Any] | None:
    """A resolved ``dataset:`` section without the keys that only say where the data lives:
    the same data elsewhere resumes the same run (its ``digest`` says what it is)."""
    if dataset is None:
        return None
    return {k: v for k, v in dataset.items() if k not in DATA_LOCATION}


def training_identity(config: ExperimentConfig, identity: dict[str, Any]) -> dict[str, Any]:
    """``identity`` (the config as a dict) without the failure models, which only score units,
    but with the one failout draws from (``train.failout.model``), which trains them."""
    identity.pop("failure_models", None)
    name = config.train.failout.model
    if name is not None and name in config.failure_models:
        drawn = config.failure_models[name].model_dump(mode="json")
        identity["train"]["failout"]["model"] = {"name": name, **drawn}
    return identity


def with_data_digest(config: ExperimentConfig) -> ExperimentConfig:
    """The config with its files' SHA-256 as ``dataset.digest`` (computed once per file
    version): the config hash and the training key then change with the data. A digest the
    config already gives is checked when the data is loaded (data/files.py)."""
    dataset = config.dataset
    if dataset is None or dataset.name != "files" or dataset.digest is not None:
        return config
    from resilinet_cli.data.files import files_digest

    assert dataset.path is not None
    digest = files_digest(Path(dataset.path))
    return config.model_copy(update={"dataset": dataset.model_copy(update={"digest": digest})})


def validate_config(
    raw: dict[str, Any], source: str, overrides: Sequence[Edit] = ()
) -> ExperimentConfig:
    """The validated config; each problem is blamed on the override that caused it, if any."""
    try:
        config = ExperimentConfig.model_validate(raw)
    except ValidationError as error:
        problems = format_errors(error, ExperimentConfig)
    else:
        problems = semantic_problems(config)
    if problems:
        raise ConfigError("\n".join(blame(source, overrides, loc, msg) for loc, msg in problems))
    return config
