"""How figures read a result table: numbers coerced, rows in order of first appearance,
one series per variant (and factor level), names in words.

Input tables are the CSVs of ``tables.write_tables``, possibly read with ``dtype=str``:
numbers are coerced here (``numeric_table``). Any column between ``variant`` and ``setting`` (or
``combination``) is an experiment's factor (the first) and its details (such as a skip subset's
bits, ``table_columns``): the factor splits the variants. Figures name it by ``factor_label``,
which the experiment kind supplies.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from resilinet_cli.errors import RunError
from resilinet_cli.results.figure_style import LEVEL_HATCHES, variant_colour, variant_name
from resilinet_cli.results.table_columns import factor_column

VARIABLE = "variable"


def wrap_links(name: str) -> str:
    """'iot→fog2 + fog2→cloud' on two lines, so that link names need no rotated ticks."""
    return name.replace(" + ", "\n+ ")


def factor_name(factor: str, label: str | None) -> str:
    """How a figure names a factor: the kind's label, else the column name in words."""
    return label or factor.replace("_", " ")


def setting_name(setting: str) -> str:
    return setting.replace("_", " ")


def numeric_table(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    missing = [c for c in ["variant", *columns] if c not in table.columns]
    if missing:
        raise RunError(f"result table lacks columns {', '.join(missing)}")
    table = table.assign(**{c: pd.to_numeric(table[c], errors="coerce") for c in columns})
    table = table.assign(variant=table["variant"].astype(str))
    if "setting" in table.columns:
        table = table.assign(setting=table["setting"].astype(str))
    factor = factor_column(table)
    if factor:
        table = table.assign(**{factor: table[factor].astype(str)})
    return table


def ordered(values: pd.Series) -> list[str]:
    """Distinct values in order of first appearance (config order, sweep order)."""
    return list(dict.fromkeys(values.astype(str)))


def series_keys(table: pd.DataFrame, factor: str | None) -> list[tuple[str, ...]]:
    """(variant,) or (variant, level) for every row group, in order of appearance."""
    columns = ["variant", factor] if factor else ["variant"]
    return list(dict.fromkeys(table[columns].itertuples(index=False, name=None)))


def series_label(key: tuple[str, ...]) -> str:
    return ", ".join([variant_name(key[0]), *key[1:]])


def series_styles(
    series: list[tuple[str, ...]],
) -> Iterator[tuple[tuple[str, ...], str, str, str]]:
    """(key, label, colour, hatch): the variant's colour, a hatch per later factor level."""
    for key in series:
        siblings = [k for k in series if k[0] == key[0]]
        hatch = LEVEL_HATCHES[siblings.index(key) % len(LEVEL_HATCHES)]
        yield key, series_label(key), variant_colour(key[0]), hatch


def select_series(table: pd.DataFrame, factor: str | None, key: tuple[str, ...]) -> pd.DataFrame:
    mask = table["variant"] == key[0]
    if factor:
        mask &= table[factor] == key[1]
    return table[mask]


def select_variant(table: pd.DataFrame, variant: str) -> pd.DataFrame:
    return table[table["variant"] == variant]


def yerr(std: pd.Series) -> np.ndarray:
    return np.nan_to_num(100 * std.to_numpy(float), nan=0.0)
