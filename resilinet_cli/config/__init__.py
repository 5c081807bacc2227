"""Experiment configs: YAML files -> frozen, validated objects.

``schema`` defines the sections and their defaults, ``loading`` reads files (``base:``, presets,
generated topologies), ``overrides`` applies ``--set`` values, ``messages`` words the problems,
``families`` lists the model families and ``generate`` the topology generators.
"""

from resilinet_cli.config.loading import SMOKE_OVERRIDES, load_config, read_mapping, read_yaml
from resilinet_cli.config.overrides import apply_override, multirun
from resilinet_cli.config.schema import (
    ALL_VARIANTS,
    ExperimentConfig,
    ExperimentType,
    ModelConfig,
    TopologyConfig,
    validate_config,
)

__all__ = [
    "ALL_VARIANTS",
    "SMOKE_OVERRIDES",
    "ExperimentConfig",
    "ExperimentType",
    "ModelConfig",
    "TopologyConfig",
    "apply_override",
    "load_config",
    "multirun",
    "read_mapping",
    "read_yaml",
    "validate_config",
]
