"""The paper's claim, tested on a run: ResiliNet > deepFogGuard > Vanilla under failures.

Iteration k of every variant trains from the same seed (``runs.iteration_seed``), so the two
variants of a comparison are paired by iteration and tested on their per-iteration differences
of weighted accuracy (``stats.paired``: paired t-test, two-sided). What the test covers is the
variation over training seeds, on one shared test set: not the variation over test samples.

A page states many comparisons, a profile many pages'. Each verdict therefore stands on its p
adjusted over its family (``Family``): the profile's comparisons when the run belongs to one,
else its own page's; Holm's correction unless the config's ``stats.correction`` or ``report
--correction`` says otherwise. A comparison that is undecided says how small a difference its
n could detect and how many pairs its observed difference would need.

``paired.csv`` is in fractions 0..1 like the other tables; the report shows points.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from resilinet_cli import stats
from resilinet_cli.results.runs import Unit
from resilinet_cli.results.tables import unit_weighted
from resilinet_cli.topology import Topology

CHAIN = ("resilinet", "deepfogguard", "vanilla")  # the claim, best first
COLUMNS = [
    "setting", "a", "b", "n", "difference", "ci_low", "ci_high", "correlation", "p",
    "p_adjusted", "correction", "family", "test", "verdict", "detectable", "n_needed",
]  # fmt: skip
VERDICTS = {1: "holds", -1: "contradicted", 0: "undecided"}
TOO_MANY = f"> {stats.MAX_PAIRS}"


@dataclass(frozen=True)
class Family:
    """Comparisons corrected together: their adjusted p by identity, and how."""

    correction: str
    adjusted: Mapping[str, float]

    @property
    def size(self) -> int:
        return len(self.adjusted)

    @classmethod
    def of(cls, tables: Iterable[pd.DataFrame], correction: str) -> Family:
        """The family of every tested comparison in ``tables`` (``paired_table``'s), each
        counted once: the same units compared in two experiments are one test."""
        raw: dict[str, float] = {}
        for table in tables:
            for row in table.itertuples():
                if not _missing(row.p):
                    raw.setdefault(row.identity, float(row.p))
        names = list(raw)
        adjusted = stats.adjust([raw[name] for name in names], correction)
        return cls(correction, dict(zip(names, adjusted, strict=True)))

    def level(self) -> float:
        """The significance level the power analysis assumes (``stats.test_level``)."""
        return stats.test_level(self.correction, self.size)

    def describe(self) -> str:
        return family_text(self.correction, self.size)


def family_text(correction: str, size: int) -> str:
    """'Holm's correction over a family of 36 comparisons'."""
    if correction == "none":
        return f"no correction for the {size} comparisons"
    return f"{stats.CORRECTION_NAMES[correction]}'s correction over a family of {size} comparisons"


def per_unit(
    results: Mapping[Unit, pd.DataFrame], topology: Topology, keys: Mapping[Unit, str]
) -> pd.DataFrame:
    """variant, iteration, seed, setting, value, key: each plain unit's weighted accuracies
    (``key``: its training key, which names the test a comparison of its units is)."""
    rows = [
        {"variant": u.variant, "iteration": u.iteration, "seed": u.seed, "setting": s,
         "value": v, "key": keys.get(u, f"{u.variant}:{u.seed}")}
        for u, frame in results.items()
        if u.factor is None and u.trained_for is None
        for s, v in unit_weighted(frame, topology).items()
    ]  # fmt: skip
    columns = ["variant", "iteration", "seed", "setting", "value", "key"]
    return pd.DataFrame(rows, columns=columns)


def paired_table(values: pd.DataFrame, reliability: Mapping[str, Sequence[float]]) -> pd.DataFrame:
    """One row per setting and neighbouring pair of ``CHAIN`` with at least one shared seed:
    the raw test, and ``identity``, which the family counts once however often it appears."""
    rows = []
    for setting, survival in reliability.items():
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
            keys = list(zip(pairs["key_a"], pairs["key_b"], strict=True))
            identity = [list(survival), a, b, keys]
            rows.append(comparison_row(setting, a, b, pairs, identity))
    return pd.DataFrame(rows, columns=[*COLUMNS, "sd", "identity"])


def comparison_row(
    setting: str, a: str, b: str, pairs: pd.DataFrame, identity: Any
) -> dict[str, Any]:
    """One raw paired test of ``pairs``' ``value_a`` against ``value_b`` (rows sharing a seed);
    ``identity`` names the test, so that a family counts it once."""
    result = stats.paired(pairs["value_a"], pairs["value_b"])
    return {
        "setting": setting,
        "a": a,
        "b": b,
        "n": result.n,
        "difference": result.mean,
        "ci_low": result.low,
        "ci_high": result.high,
        "correlation": result.correlation,
        "p": result.p,
        "test": _test(result),
        "sd": result.sd,
        "identity": _digest(identity),
    }


def judged(table: pd.DataFrame, family: Family) -> pd.DataFrame:
    """``table`` with each comparison's adjusted p, verdict, and for an undecided one what its
    n could detect and the n its difference would need (power ``stats.POWER`` at alpha/m)."""
    level = family.level()
    rows = []
    for row in table.to_dict("records"):
        adjusted = None if _missing(row["p"]) else family.adjusted.get(row["identity"])
        sign = 0
        if adjusted is not None and adjusted < stats.ALPHA:
            sign = 1 if row["difference"] > 0 else -1
        detectable = needed = None
        if sign == 0 and adjusted is not None:
            detectable = stats.detectable_difference(row["sd"], int(row["n"]), level)
            pairs = stats.pairs_needed(row["difference"], row["sd"], level)
            needed = TOO_MANY if pairs is None else str(pairs)
        rows.append(
            {
                **row,
                "p_adjusted": adjusted,
                "correction": family.correction,
                "family": family.size,
                "verdict": VERDICTS[sign],
                "detectable": detectable,
                "n_needed": needed,
            }
        )
    return pd.DataFrame(rows, columns=[*COLUMNS, "sd", "identity"])


def csv_table(table: pd.DataFrame) -> pd.DataFrame:
    """What ``paired.csv`` holds: ``COLUMNS``."""
    return table[COLUMNS]


def _test(result: stats.Paired) -> str:
    if result.p is not None:
        return stats.PAIRED_TEST
    return "none: all differences equal" if result.constant else "none: n=1"


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value).encode()).hexdigest()[:16]


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
            "r": [_number(r) for r in table["correlation"]],
            "p": [_p_cell(row) for row in table.itertuples()],
            "adjusted p": [_adjusted_cell(row) for row in table.itertuples()],
            "verdict": table["verdict"],
            "detectable": [_points(d) for d in table["detectable"]],
            "n needed": [_needed(n) for n in table["n_needed"]],
        }
    )
    align = ("left", "left", "right", "right", "right", "right", "right", "right", "left",
             "right", "right")  # fmt: skip
    return frame.to_markdown(index=False, disable_numparse=True, colalign=align)


def note(table: pd.DataFrame, test_examples: int | None = None) -> str:
    """How to read the table: the test, the correction, what the inference covers, and how
    the pairs correlated (pairing helps only where they correlate positively)."""
    correction, size = str(table["correction"].iloc[0]), int(table["family"].iloc[0])
    examples = f" of {test_examples:,} examples" if test_examples else ""
    text = (
        "Difference a - b in points of weighted accuracy; iteration k of a is paired with "
        f"iteration k of b (same seed). The {round(100 * stats.CONFIDENCE)} % CI (unadjusted) "
        f"and the two-sided p are the {stats.PAIRED_TEST}'s; a verdict on a > b needs an "
        f"adjusted p < {stats.ALPHA:g} ({family_text(correction, size)}). The test's noise is the "
        f"variation over training seeds, on one shared test set{examples}: it says nothing "
        "about another test set. r: the correlation of the pairs over iterations. An "
        f"undecided comparison gives the smallest difference its n detects with power "
        f"{stats.POWER:g} at {stats.ALPHA:g}/{size} (detectable) and the n its "
        "observed difference would need."
    )
    correlations = [float(r) for r in table["correlation"] if not _missing(r)]
    if correlations:
        text += f" Median r here: {statistics.median(correlations):+.2f}."
    return text


def comparison_sentence(row: Any) -> str:
    """'resilinet > deepfogguard holds: resilinet - deepfogguard = +2.10 points [0.40, 3.80],
    paired t-test p = 0.003, Holm-adjusted p = 0.02, n = 5', or 'is contradicted: ...', or
    'is undecided at n = 5: ...; 5 pairs detect 4.10 points, +2.10 points would need n = 19'."""
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
    test = f"{stats.PAIRED_TEST} {_p(row.p)}, {_adjusted(row)}"
    estimate = f"{difference} = {points} {_interval(row)}"
    if row.verdict == "undecided":
        power = f"{n} pairs detect {_points(row.detectable)} points"
        if float(row.detectable) >= 1:  # more than accuracy can differ by
            power = (
                f"{n} pairs cannot detect any possible difference (it would take "
                f"{_points(row.detectable)} points)"
            )
        need = (
            f"{points} would need more than {stats.MAX_PAIRS} pairs"
            if _needed(row.n_needed) == TOO_MANY
            else f"{points} would need n = {_needed(row.n_needed)}"
        )
        return f"{claim} is undecided at n = {n}: {estimate}, {test}; {power}, {need}"
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
    differences under the harshest setting (``experiments``: name, judged table, settings)."""
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
                cell = " ".join(filter(None, [f"{100 * first.difference:+.2f}", _interval(first)]))
                if _missing(first.p):
                    cell += f", {_p_cell(first)}"
                else:
                    cell += f", {_p(first.p)}, adjusted {_adjusted_cell(first)}"
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


def summary_note(experiments: list[tuple[str, pd.DataFrame, list[str]]]) -> str:
    """How to read a profile's summary: the test, and the one family all its pages share."""
    tables = [table for _, table, _ in experiments if not table.empty]
    correction = str(tables[0]["correction"].iloc[0]) if tables else "holm"
    size = int(tables[0]["family"].iloc[0]) if tables else 0
    return (
        "Difference a - b in points of weighted accuracy, its 95 % CI (unadjusted) and the "
        f"two-sided p of the {stats.PAIRED_TEST} on iterations that share a seed; a verdict needs "
        f"an adjusted p < {stats.ALPHA:g}, adjusted over every comparison of the profile's "
        f"pages ({family_text(correction, size)})."
    )


def section_text(
    table: pd.DataFrame, settings: Iterable[str], test_examples: int | None = None
) -> str:
    """The report's paragraphs: the claim per failure setting, then the table of all settings."""
    head = (
        f"**The paper's claim under failures** ({' > '.join(CHAIN)}; "
        f"{stats.PAIRED_TEST} on iterations that share a seed, two-sided, adjusted p < "
        f"{stats.ALPHA:g}):"
    )
    lines = claim_lines(table, settings)
    return "\n\n".join(
        [
            "\n".join([head, "", *lines]) if lines else head + " no failure setting to test.",
            "**Paired comparisons**",
            markdown(table),
            f"_{note(table, test_examples)}_",
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


def _adjusted_cell(row: Any) -> str:
    return "" if _missing(row.p_adjusted) else stats.p_text(row.p_adjusted)


def _adjusted(row: Any) -> str:
    """'Holm-adjusted p = 0.39 (family of 36)', or 'uncorrected' without a correction."""
    if row.correction == "none":
        return f"uncorrected (family of {int(row.family)})"
    name = stats.CORRECTION_NAMES[row.correction]
    return f"{name}-adjusted {_p(row.p_adjusted)} (family of {int(row.family)})"


def _p(p: float) -> str:
    """'p = 0.03', 'p < 0.001'."""
    text = stats.p_text(p)
    return f"p < {text[1:]}" if text.startswith("<") else f"p = {text}"


def _points(value: Any) -> str:
    return "" if _missing(value) else f"{100 * float(value):.2f}"


def _needed(value: Any) -> str:
    """'39', '> 1000' or '' (a number read back from paired.csv may come as 39.0)."""
    if _missing(value):
        return ""
    if isinstance(value, str):
        return value
    return str(int(value))


def _number(value: Any) -> str:
    return "" if _missing(value) else f"{float(value):+.2f}"


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(value)
    except TypeError:
        return False
