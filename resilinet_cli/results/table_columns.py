"""What a result table holds: the columns every table has, the ones that name a row (an
experiment's factor and its details), and the note that says what its cells are.

Tables (``tables.py``), report pages (``report_page.py``) and figures (``plots.py``) read
their columns through this module, so that a new factor column needs no change in any of them.
"""

from __future__ import annotations

import pandas as pd

# The note under a weighted-accuracy table: in tables/ and the command line, and (shorter, as
# the report's methods say ddof=1) on report pages.
NOTE = "Weighted accuracy in %, mean ± sample std (ddof=1) over n iterations."
REPORT_NOTE = "Weighted accuracy in %, mean ± sample std over n iterations."
# The columns every table has; any other column names a factor level. ``information_flow`` is
# added by the caller of the heatmap (kinds.figures): False marks a cell that is a guess.
STANDARD_COLUMNS = (
    "variant",
    "setting",
    "combination",
    "mean",
    "std",
    "iterations",
    "information_flow",
)


def label_columns(table: pd.DataFrame) -> list[str]:
    """The columns that name a table row: variant, then the factor and its details, if any."""
    return ["variant", *(c for c in table.columns if c not in STANDARD_COLUMNS)]


def factor_column(table: pd.DataFrame) -> str | None:
    """The table's factor column (the first column no table always has), or None."""
    return next((c for c in table.columns if c not in STANDARD_COLUMNS), None)
