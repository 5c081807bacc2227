"""The paper's claim, tested on a run: ResiliNet > deepFogGuard > Vanilla under failures.

Iteration k of every variant trains from the same seed (``runs.iteration_seed``), so the two
variants of a comparison are paired by iteration and tested on their per-iteration differences
of weighted accuracy (``stats.paired``: paired t-test, two-sided, p < ``stats.ALPHA``). Pairing
removes the noise the two share (the draws of their common seed), which Welch's test on the
table's means and stds (``tables.ordering``) cannot. A verdict says no more than the test does:
"holds" or "contradicted" past p < 0.05, "undecided at n = …" otherwise.

``paired.csv`` is in fractions 0..1 like the other tables; the report shows points.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from resilinet_cli import stats
from resilinet_cli.results.runs import Unit
from resilinet_cli.results.tables import unit_weighted
from resilinet_cli.topology import Topology

CHAIN = ("resilinet", "deepfogguard", "vanilla")  # the claim, best first
COLUMNS = ["setting", "a", "b", "n", "difference", "ci_low", "ci_high", "p", "test", "verdict"]
VERDICTS = {1: "holds", -1: "contradicted", 0: "undecided"}
NOTE = (
    "Difference a - b in points of weighted accuracy; iteration k of a is paired with iteration "
    f"k of b (same seed). {round(100 * stats.CONFIDENCE)} % CI and two-sided p from the "
    f"{stats.PAIRED_TEST}; a verdict on a > b needs p < {stats.ALPHA:g}."
)


def per_unit(results: dict[Unit, pd.DataFrame], topology: Topology) -> pd.DataFrame:
    """variant, iteration, seed, setting, value: each plain unit's weighted accuracies."""
    rows = [
        {"variant": u.variant, "iteration": u.iteration, "seed": u.seed, "setting": s, "value": v}
        for u, frame in results.items()
        if u.factor is None and u.trained_for is None
        for s, v in unit_weighted(frame, topology).items()
    ]
    return pd.DataFrame(rows, columns=["variant", "iteration", "seed", "setting", "value"])


def paired_table(values: pd.DataFrame, settings: Iterable[str]) -> pd.DataFrame:
    """One row per setting and neighbouring pair of ``CHAIN`` with at least one shared seed."""
    rows = []
    for setting in settings:
        here = values[values["setting"] == setting]
        for a, b in itertools.pairwise(CHAIN):
            pairs = pd.merge(
                here[here["variant"] == a],
                here[here["variant"] == b],
                on=["iteration", "seed"],
                suffixes=("_a", "_b"),
            ).sort_values("iteration")
            if pairs.empty:
                continue
            result = stats.paired(pairs["value_a"], pairs["value_b"])
            rows.append(
                {
                    "setting": setting,
                    "a": a,
                    "b": b,
                    "n": result.n,
                    "difference": result.mean,
                    "ci_low": result.low,
                    "ci_high": result.high,
                    "p": result.p,
                    "test": _test(result),
                    "verdict": VERDICTS[result.sign],
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def _test(result: stats.Paired) -> str:
    if result.p is not None:
        return stats.PAIRED_TEST
    return "none: all differences equal" if result.constant else "none: n=1"


def failure_settings(topology: Topology) -> list[str]:
    """The reliability settings under which some node can fail: the claim's ground."""
    return [name for name, survival in topology.reliability.items() if min(survival) < 1]


def shows_noise(table: pd.DataFrame) -> bool:
    """Whether any comparison has the two pairs a test needs (else the page says nothing new)."""
    return bool((table["n"] >= 2).any())


def markdown(table: pd.DataFrame) -> str:
    """The comparisons as a Markdown table, differences and CIs in points."""
    frame = pd.DataFrame(
        {
            "setting": table["setting"],
            "comparison": table["a"] + " - " + table["b"],
            "n": table["n"].astype(int).astype(str),
            "difference": [f"{100 * d:+.2f}" for d in table["difference"]],
            "95 % CI": [_interval(row) or "" for row in table.itertuples()],
            "p": [_p_cell(row) for row in table.itertuples()],
            "verdict": table["verdict"],
        }
    )
    align = ("left", "left", "right", "right", "right", "left", "left")
    return frame.to_markdown(index=False, disable_numparse=True, colalign=align)


def comparison_sentence(row: Any) -> str:
    """'resilinet > deepfogguard holds: resilinet - deepfogguard = +2.10 points [0.40, 3.80],
    paired t-test p = 0.03, n = 5', or 'is contradicted: ...', or 'is undecided at n = 5: ...'."""
    a, b, n = row.a, row.b, int(row.n)
    claim, difference = f"{a} > {b}", f"{a} - {b}"
    points = f"{100 * row.difference:+.2f} points"
    if n < 2:
        return f"{claim} is undecided at n = 1: {difference} = {points}, no noise estimate (n=1)"
    if row.test != stats.PAIRED_TEST:
        return (
            f"{claim} is undecided at n = {n}: all {n} differences {difference} equal {points}, "
            f"so the {stats.PAIRED_TEST} is undefined (no spread)"
        )
    test = f"{stats.PAIRED_TEST} {_p(row.p)}"
    estimate = f"{difference} = {points} {_interval(row)}"
    if row.verdict == "undecided":
        return f"{claim} is undecided at n = {n}: {estimate}, {test}"
    verb = "holds" if row.verdict == "holds" else "is contradicted"
    return f"{claim} {verb}: {estimate}, {test}, n = {n}"


def claim_lines(table: pd.DataFrame, settings: Iterable[str]) -> list[str]:
    """One bullet per failure setting: the claim's verdict there, then each comparison's."""
    lines = []
    for setting in settings:
        rows = list(table[table["setting"] == setting].itertuples())
        if not rows:
            continue
        details = "; ".join(comparison_sentence(row) for row in rows)
        lines.append(f"- **{setting}**: the claim {overall_verdict(rows)}. {details}.")
    return lines


def overall_verdict(rows: list[Any]) -> str:
    """The whole chain at one setting: contradicted by any link, holds only if every link does."""
    verdicts = [row.verdict for row in rows]
    if "contradicted" in verdicts:
        return "is contradicted"
    if verdicts == ["holds"] * (len(CHAIN) - 1):
        return "holds"
    return "is undecided"


def summary_markdown(experiments: list[tuple[str, pd.DataFrame, list[str]]]) -> str:
    """A profile's experiments side by side: the claim per failure setting, and both links'
    differences under the harshest setting (``experiments``: name, paired table, settings)."""
    rows = []
    for name, table, settings in experiments:
        if not settings:
            continue
        harshest = table[table["setting"] == settings[-1]]
        row = {"experiment": name, "n": ", ".join(sorted({str(int(n)) for n in table["n"]}))}
        for a, b in itertools.pairwise(CHAIN):
            link = harshest[(harshest["a"] == a) & (harshest["b"] == b)]
            cell = ""
            if not link.empty:
                first = link.iloc[0]
                p = _p_cell(first) if _missing(first.p) else _p(first.p)
                cell = " ".join(filter(None, [f"{100 * first.difference:+.2f}", _interval(first)]))
                cell += f", {p}"
            row[f"{a} - {b}, {settings[-1]}"] = cell
        verdicts = []
        for setting in settings:
            here = list(table[table["setting"] == setting].itertuples())
            if here:
                verdicts.append(f"{setting}: {overall_verdict(here).removeprefix('is ')}")
        row["the claim"] = "; ".join(verdicts)
        rows.append(row)
    if not rows:
        return ""
    return pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True)


def section_text(table: pd.DataFrame, settings: Iterable[str]) -> str:
    """The report's paragraphs: the claim per failure setting, then the table of all settings."""
    head = (
        f"**The paper's claim under failures** (resilinet > deepfogguard > vanilla; "
        f"{stats.PAIRED_TEST} on iterations that share a seed, two-sided, p < {stats.ALPHA:g}):"
    )
    lines = claim_lines(table, settings)
    return "\n\n".join(
        [
            "\n".join([head, "", *lines]) if lines else head + " no failure setting to test.",
            "**Paired comparisons**",
            markdown(table),
            f"_{NOTE}_",
        ]
    )


def _interval(row: Any) -> str | None:
    if _missing(row.ci_low) or _missing(row.ci_high):
        return None
    return f"[{100 * row.ci_low:.2f}, {100 * row.ci_high:.2f}]"


def _p_cell(row: Any) -> str:
    if not _missing(row.p):
        return stats.p_text(row.p)
    if int(row.n) < 2:
        return "no noise estimate (n=1)"
    return f"undefined: all {int(row.n)} differences equal {100 * row.difference:+.2f}"


def _p(p: float) -> str:
    """'p = 0.03', 'p < 0.001'."""
    text = stats.p_text(p)
    return f"p < {text[1:]}" if text.startswith("<") else f"p = {text}"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
