"""The names of a results folder's files: the one place they are spelled (docs/architecture.md §4).

```
<run>/config.yaml  run.json  REPORT.md  tables/  figures/  runs/<unit>/
<run>/runs/[<level>/]<variant>/iter-<k>/  model.keras  history.csv  combinations.csv  run.json
<profile>/profile.json  REPORT.md  comparison.csv  <experiment>/...
```
"""

from __future__ import annotations

from pathlib import Path

CONFIG = "config.yaml"  # the resolved config of a run
RECORD = "run.json"  # a run's or a unit's record; a unit is finished when it says "done"
NETWORK_FILES = "network_files.json"  # keras family: SHA-256 of model.path and model.weights
REPORT = "REPORT.md"
RUNS = "runs"  # the units' folders
TABLES = "tables"
FIGURES = "figures"
WEIGHTED_CSV = "weighted_accuracy.csv"
WEIGHTED_MD = "weighted_accuracy.md"
WEIGHTED_TEX = "weighted_accuracy.tex"
COMBINATIONS = "combinations.csv"  # a unit's per-combination accuracies, and the run's table
DEVICES_CSV = "devices.csv"  # a fan-in run: accuracy with each input device dead alone
DEVICES_PAIRED_CSV = "devices_paired.csv"  # and each variant's costs against the reference
METHODS_CSV = "methods.csv"  # methods: each variant and inference rule (variant_comparison.py)
METHODS_MD = "methods.md"
METHODS_PAIRED_CSV = "methods_paired.csv"  # methods: each row against the reference's
PAIRED_CSV = "paired.csv"  # average_accuracy: the claim's paired comparisons (results/claims.py)
EPOCHS_CSV = "weighted_by_epoch.csv"  # average_accuracy with train.epoch_sweep: epoch_curves.py
MODEL = "model.keras"
HISTORY = "history.csv"
RESUME = ".resume"  # a unit's epoch checkpoint while it trains
TENSORBOARD = "tensorboard"  # a unit's TensorBoard logs (train/, validation/, test/)
EVALUATION = "evaluation.csv"  # `resilinet evaluate`, next to the model
EVALUATION_WEIGHTED = "evaluation_weighted.csv"
EXITS = "exits.json"  # `resilinet calibrate-exits`: a unit's calibrated threshold, checksummed
PROFILE_RECORD = "profile.json"  # in a profile's folder: what its REPORT.md shows
COMPARISON = "comparison.csv"  # `resilinet compare NEW REF` writes it into NEW
# figures/: one per experiment type, and the heatmap of the per-combination table
WEIGHTED_PNG = "weighted_accuracy.png"
HEATMAP_PNG = "combinations_heatmap.png"
FAILOUT_PNG = "failout_rate.png"
WEIGHT_SCHEME_PNG = "weight_scheme.png"
SKIP_CONFIG_PNG = "skip_config.png"
FAILURE_MODEL_PNG = "failure_model.png"
METHODS_COST_PNG = "methods_cost.png"
EPOCHS_PNG = "weighted_by_epoch.png"
CLAIM_EPOCHS_PNG = "claim_by_epoch.png"  # a profile's: each experiment's harshest setting
FIGURE_DIGESTS = ".inputs.json"  # in figures/: what each figure was last drawn from
REFERENCE = "REFERENCE.md"  # the marker of a committed reference (results/references.py)
# `resilinet live-eval`'s folder
MULTIRUN_CSV = "multirun.csv"  # a -m multirun's folder: every value's weighted accuracy
MULTIRUN_MD = "multirun.md"
MULTIRUN_PNG = "multirun.png"
LEGACY_MULTIRUN_CSV = "sweep.csv"  # the same table, as multiruns before issue 28 named it
LIVE_CSV = "live.csv"
LIVE_SUMMARY_CSV = "live_summary.csv"
LIVE_EVENTS_CSV = "live_events.csv"
LIVE_LATENCY_PNG = "live_latency.png"
# --tracker: where a unit logs besides its files (its TENSORBOARD folder; mlflow logs there too)
TRACKERS = ("tensorboard", "mlflow", "none")


def failure_model_csv(name: str) -> str:
    """In tables/: a run's weighted accuracy rescored under the failure model ``name``."""
    return f"weighted_accuracy_{name}.csv"


def is_run_folder(folder: Path) -> bool:
    """A run folder holds its resolved config."""
    return (folder / CONFIG).is_file()
