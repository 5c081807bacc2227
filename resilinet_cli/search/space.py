"""The search space file (``resilinet search CONFIG --space SPACE.yaml``): what may vary, how
candidates are chosen and what they must fit.

A design is one choice per dimension; the dimensions the file leaves out stay as CONFIG has
them. Settings and failure models are never dimensions: every trial is scored under all of them
(one training serves every objective), and ``objective`` names the one the search optimises.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from resilinet_cli.config.messages import validated_file
from resilinet_cli.errors import ConfigError

Probability = Annotated[float, Field(gt=0.0, le=1.0)]
# the costs a front can minimise besides latency: a device's FLOPs or a link's bytes
COST_PREFIXES = ("flops_", "bytes_", "params_")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AshaConfig(_Section):
    """Early stopping of hopeless candidates (Ray Tune's ASHA) on the validation objective."""

    grace_epochs: int = Field(default=1, ge=1, description="epochs every candidate trains")
    reduction_factor: int = Field(default=2, ge=2, description="1/factor go on at each rung")


class ConstraintsConfig(_Section):
    """Limits that prune candidates before any of them trains."""

    max_flops: dict[str, float] = Field(default={}, description="device -> FLOPs per example")
    max_link_bytes: float | None = Field(default=None, gt=0, description="bytes per example")
    max_latency_ms: float | None = Field(default=None, gt=0, description="estimated, healthy")


class DimensionsConfig(_Section):
    """The values each dimension takes; a dimension left out keeps CONFIG's value."""

    cut: list[dict[str, str]] | Literal["all"] | None = Field(
        default=None, description="keras family: node -> last layer, or every valid tuple"
    )
    partition: list[int] | None = Field(default=None, description="built-in families")
    skips: list[list[str]] | None = Field(default=None, description='sets of "src->dst" skips')
    failout: list[Probability] | None = Field(default=None, description="failout survival")
    granularity: list[Literal["batch", "example"]] | None = None
    variant: list[str] | None = Field(default=None, description="a variant or defined method")
    epochs: list[int] | None = Field(default=None, description="training budget")

    @field_validator("cut", "partition", "skips", "failout", "granularity", "variant", "epochs")
    @classmethod
    def _not_empty(cls, values: Any) -> Any:
        if isinstance(values, list) and not values:
            raise ValueError("give at least one value, or leave the dimension out")
        return values


class SearchSpace(_Section):
    """A whole SPACE.yaml."""

    objective: str | None = Field(
        default=None, description="a reliability setting or failure model; default the hardest"
    )
    epsilon: Probability = Field(
        default=0.001, description="worst case over combinations at least this likely"
    )
    minimise: list[str] = Field(
        default=["latency_ms"],
        min_length=1,
        description="the costs of the front: latency_ms, flops_<device>, bytes_<src>-><dst>, "
        "params_<device>; the sampler's second objective is the first",
    )
    sampler: Literal["grid", "tpe", "nsga2"] = "grid"
    trials: int | None = Field(default=None, ge=1, description="tpe, nsga2: trials to run")
    population: int | None = Field(default=None, ge=2, description="nsga2 population")
    seed: int = 0
    max_concurrent_trials: int = Field(default=1, ge=1)
    cpus_per_trial: float = Field(default=2.0, gt=0)
    asha: AshaConfig | Literal[False] = AshaConfig()
    constraints: ConstraintsConfig = ConstraintsConfig()
    dimensions: DimensionsConfig

    @field_validator("minimise")
    @classmethod
    def _known_costs(cls, names: list[str]) -> list[str]:
        for name in names:
            if name != "latency_ms" and not name.startswith(COST_PREFIXES):
                raise ValueError(
                    f"unknown cost {name!r}: latency_ms, flops_<device>, bytes_<src>-><dst> "
                    "or params_<device>"
                )
        return names

    @property
    def early_stopping(self) -> bool:
        return self.asha is not False


def load_space(path: Path) -> SearchSpace:
    """SPACE.yaml validated; every problem one line naming the file and the key."""
    shape = "a search space is a mapping with a dimensions: key"
    space = validated_file(path, SearchSpace, shape)
    if space.sampler == "grid" and space.trials is not None:
        raise ConfigError(f"{path.name}: trials: a grid runs every candidate; leave it out")
    if space.sampler != "grid" and space.trials is None:
        raise ConfigError(f"{path.name}: trials: say how many trials the {space.sampler} runs")
    if space.population is not None and space.sampler != "nsga2":
        raise ConfigError(f"{path.name}: population: only the nsga2 sampler has one")
    return space
