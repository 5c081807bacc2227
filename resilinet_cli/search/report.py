"""REPORT.md of a search: how it was run (the methods block), its front, and what it cost."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from tabulate import tabulate

from resilinet_cli import atomic
from resilinet_cli.search.comparison import COMPARISON_CSV, Comparison
from resilinet_cli.search.outputs import FRONT_PNG, PARETO_CSV, TRIALS_CSV, epochs_saved
from resilinet_cli.search.plan import SearchPlan


def methods_block(plan: SearchPlan, command: str) -> list[str]:
    """How the search ran, in enough detail to run it again."""
    space = plan.space
    sampler = {
        "grid": "a full grid of every candidate that fits",
        "tpe": f"Optuna's TPE sampler (seed {space.seed}), {space.trials} trials",
        "nsga2": f"Optuna's NSGA-II (population {space.population or 50}, seed {space.seed}), "
        f"{space.trials} trials",
    }[space.sampler]
    asha = (
        f"ASHA on the validation objective per epoch (grace {space.asha.grace_epochs} epoch, "
        f"reduction factor {space.asha.reduction_factor})"
        if space.asha is not False
        else "no early stopping (every trial trains its whole budget)"
    )
    pruned = sum(1 for c in plan.candidates if c.pruned)
    lines = [
        "## Methods",
        "",
        f"- Command: `{command}`",
        f"- Space: {len(plan.choices)} designs, {len(plan.candidates)} distinct trainings "
        f"(designs that train the same model share one), {pruned} pruned by the constraints "
        "before training.",
        f"- Search: {sampler}; {asha}; at most {space.max_concurrent_trials} trial(s) at once, "
        f"{space.cpus_per_trial:g} CPUs each; a failed trial is retried.",
        f"- Objective: expected accuracy under `{plan.objective}` on the validation split, "
        f"computed exactly from each epoch's sweep of every failure combination; worst case "
        f"over the combinations with probability >= {space.epsilon:g}. Designs are chosen on "
        "validation numbers (`val_*`); the test split's (`test_*`) stand beside them.",
        f"- Costs minimised: {', '.join(f'`{c}`' for c in space.minimise)}; FLOPs and bytes "
        "per example from the built model (TensorFlow's profiler; a multiply-add is 2 FLOPs); "
        "latency estimated for a healthy network (the longest path of node compute and link "
        "transfer).",
    ]
    for figure, source in sorted(plan.sources.items()):
        lines.append(f"  - `{figure}`: {source}")
    return lines


def write_report(
    out: Path, plan: SearchPlan, table: pd.DataFrame, front: pd.DataFrame,
    invocations: list[dict[str, Any]],
    command: str, gain: Comparison | None = None,
) -> Path:  # fmt: skip
    """REPORT.md beside trials.csv."""
    saved = epochs_saved(table) if len(table) else None
    states = table["state"].value_counts().to_dict() if len(table) else {}
    lines = [
        f"# Search: {plan.config.name}",
        "",
        f"The front: `{PARETO_CSV}`; every candidate: `{TRIALS_CSV}`; each trial's run folder: "
        "`trials/<candidate>/`.",
        "",
        f"![validation accuracy under {plan.objective} against each minimised cost, the front "
        f"highlighted]({FRONT_PNG})",
        "",
        *methods_block(plan, command),
        "",
        "## Trials",
        "",
        "- States: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items())),
        (
            "- Training epochs ASHA saved against every tried candidate trained to its budget: "
            + (f"{100 * saved:.1f} %" if saved is not None else "-")
            if plan.space.early_stopping
            else "- No early stopping: every trial trained its whole budget."
        ),
        *timing_lines(invocations),
        "",
        "## Front",
        "",
        front_markdown(front, plan) if len(front) else "No finished trial yet.",
        "",
        *gain_lines(gain, plan),
    ]
    path = out / "REPORT.md"
    atomic.write_text(path, "\n".join(lines))
    return path


def cell(value: Any, cost: bool) -> str:
    """A table cell: a cost to 4 significant digits, a missing choice as '-'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.4g}" if cost else str(value)


def gain_lines(gain: Comparison | None, plan: SearchPlan) -> list[str]:
    """The front against the latency-optimal cut (search/comparison.py)."""
    if gain is None:
        return []
    return [
        "## Against the latency-optimal cut",
        "",
        f"Vanilla at the cut of lowest estimated latency (candidate {gain.baseline}, "
        f"{gain.baseline_latency_ms:.4g} ms) against "
        + (
            "the front's most accurate design (on validation) of equal latency, within 1 % "
            if gain.equal_latency
            else "the front's fastest design (none is within 1 % of the baseline's latency) "
        )
        + f"(candidate {gain.design}, {gain.design_latency_ms:.4g} ms), on the test split "
        f"({gain.examples} examples): expected accuracy under {plan.objective} "
        f"{100 * gain.baseline_accuracy:.2f} % against {100 * gain.design_accuracy:.2f} %, a "
        f"difference of {100 * gain.difference:+.2f} points, 95 % interval "
        f"[{100 * gain.low:+.2f}, {100 * gain.high:+.2f}] (paired over test examples; each "
        f"design trained once, so training noise is not in it). Both in `{COMPARISON_CSV}`.",
        "",
    ]


def timing_lines(invocations: list[dict[str, Any]]) -> list[str]:
    """Trials per hour and Tune's overhead per trial, over every invocation of the search:
    wall time times concurrency, less the time spent inside trials, per trial run. An
    invocation that ran no trial (outputs rebuilt, nothing left to do) is not counted."""
    invocations = [i for i in invocations if i["trials_run"]]
    wall = sum(i["wall_seconds"] for i in invocations)
    ran = sum(i["trials_run"] for i in invocations)
    busy = sum(i["busy_seconds"] for i in invocations)
    slots = sum(i["wall_seconds"] * i["concurrency"] for i in invocations)
    if not ran or not wall:
        return ["- Time: no trial ran in any invocation yet."]
    return [
        f"- Time: {wall / 60:.1f} min of search in {len(invocations)} invocation(s), {ran} "
        f"trials run, {3600 * ran / wall:.1f} trials per hour; Tune's overhead "
        f"{max(0.0, slots - busy) / ran:.2f} s per trial (wall time x concurrency, less the "
        "time inside trials, per trial run)."
    ]


def front_markdown(front: pd.DataFrame, plan: SearchPlan) -> str:
    """The front as a table: the design, its costs, validation and test accuracy (%)."""
    objective = plan.objective
    columns = ["variant", "cut", "partition", "skips", "failout", "epochs", *plan.space.minimise]
    columns = [c for c in columns if c in front and front[c].notna().any()]
    headers = [*columns, f"val {objective} %", f"test {objective} %",
               f"test worst {objective} %"]  # fmt: skip
    rows = []
    for _, row in front.iterrows():
        rows.append([
            *(cell(row[c], c in plan.space.minimise) for c in columns),
            f"{100 * row.get(f'val_expected_{objective}', float('nan')):.2f}",
            f"{100 * row.get(f'test_expected_{objective}', float('nan')):.2f}",
            f"{100 * row.get(f'test_worst_{objective}', float('nan')):.2f}",
        ])  # fmt: skip
    return tabulate(rows, headers, tablefmt="github", disable_numparse=True)
