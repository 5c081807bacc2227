"""Experiment configs: YAML files -> frozen, validated objects.

``schema`` defines the sections and their defaults, ``loading`` reads files (``base:``,
generated topologies), ``presets`` the config groups (topology, dataset, model by name),
``overrides`` applies edits, ``grammar`` reads command-line overrides with Hydra's parser and
``multirun`` expands their values into a ``-m`` multirun's runs (both import hydra, so they
are imported where needed), ``messages`` words the problems, ``families`` lists the model
families and ``generate`` the topology generators.
"""

from resilinet_cli.config.loading import SMOKE_OVERRIDES, load_config, read_mapping
from resilinet_cli.config.overrides import Edit, apply_edit, apply_override
from resilinet_cli.config.schema import (
    ALL_VARIANTS,
    ExperimentConfig,
    ExperimentType,
    ModelConfig,
    TopologyConfig,
    validate_config,
)
from resilinet_cli.config.yaml_file import read_yaml

__all__ = [
    "ALL_VARIANTS",
    "SMOKE_OVERRIDES",
    "Edit",
    "ExperimentConfig",
    "ExperimentType",
    "ModelConfig",
    "TopologyConfig",
    "apply_edit",
    "apply_override",
    "load_config",
    "read_mapping",
    "read_yaml",
    "validate_config",
]
