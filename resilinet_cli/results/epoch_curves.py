"""Weighted accuracy against training epochs, from the histories of ``train.epoch_sweep`` units.

Each unit's history.csv holds, per epoch, the validation set's weighted accuracy under every
reliability setting (``val_weighted_<setting>``). Averaged over iterations, these curves show
whether one variant's resilience only needs more training than another's.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from resilinet_cli import stats
from resilinet_cli.results import layout
from resilinet_cli.results.runs import Unit
from resilinet_cli.sweeps.sweep import EPOCH_COLUMN_PREFIX

COLUMNS = ["variant", "setting", "epoch", "mean", "ci95", "iterations"]


def epoch_table(out: Path, units: list[Unit]) -> pd.DataFrame:
    """Mean weighted accuracy per variant, setting and epoch, with its 95 % interval.

    ``ci95`` is the half-width of the t-interval of the mean over iterations (empty for one
    iteration). Units without epoch sweeps add nothing; with none at all the table is empty.
    """
    frames = []
    for unit in units:
        if unit.factor is not None:  # only a plain average_accuracy run has one curve per variant
            continue
        path = unit.folder(out) / layout.HISTORY
        if not path.is_file():
            continue
        history = pd.read_csv(path)
        columns = [c for c in history.columns if c.startswith(EPOCH_COLUMN_PREFIX)]
        if not columns:
            continue
        long = history.melt(id_vars="epoch", value_vars=columns, var_name="setting")
        long["setting"] = long["setting"].str.removeprefix(EPOCH_COLUMN_PREFIX)
        frames.append(long.assign(variant=unit.variant, iteration=unit.iteration))
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    values = pd.concat(frames, ignore_index=True)
    rows = []
    for (variant, setting, epoch), group in values.groupby(
        ["variant", "setting", "epoch"], sort=False
    ):
        rows.append({
            "variant": variant,
            "setting": setting,
            "epoch": int(epoch),
            "mean": float(group["value"].mean()),
            "ci95": stats.mean_half_width(group["value"].to_numpy(float)),
            "iterations": len(group),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)
