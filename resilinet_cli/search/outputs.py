"""What a search leaves in its folder: trials.csv, pareto.csv, front.png and REPORT.md.

Designs are chosen on the validation split: the front is computed from ``val_*`` columns only;
the test split's numbers stand beside them, labelled, so the test set never picks a design. A
trial ASHA stopped is in trials.csv ("stopped") but never on the front: its accuracy is an early
one. Finished trials' numbers are read back from their unit folders (history.csv, the test
sweep's combinations.csv), so a damaged trial folder is an error, never a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from resilinet_cli import atomic
from resilinet_cli.errors import RunError
from resilinet_cli.results import layout
from resilinet_cli.search.candidates import Candidate
from resilinet_cli.search.objectives import prefixed, score
from resilinet_cli.search.plan import SearchPlan
from resilinet_cli.search.tuning import TrialOutcome

TRIALS_CSV = "trials.csv"
PARETO_CSV = "pareto.csv"
FRONT_PNG = "front.png"
STATE_ORDER = ("finished", "stopped", "error", "pruned", "pending")
BASELINE_STYLES = (("s", "tab:blue"), ("D", "tab:green"))  # CONFIG's cut, latency-optimal cut


def trial_rows(
    plan: SearchPlan, outcomes: Sequence[TrialOutcome], trials_dir: Path
) -> pd.DataFrame:
    """One row per candidate that a trial tried, or that the constraints pruned (grid)."""
    by_candidate: dict[str, list[TrialOutcome]] = {}
    for outcome in outcomes:
        by_candidate.setdefault(outcome.candidate, []).append(outcome)
    rows = []
    for candidate in plan.candidates:
        tried = by_candidate.get(candidate.id, [])
        if not tried and not (candidate.pruned and plan.space.sampler == "grid"):
            continue
        rows.append(candidate_row(plan, candidate, tried, trials_dir))
    table = pd.DataFrame(rows)
    if len(table):
        table["on_front"] = front_mask(table, plan)
    return table


def candidate_row(
    plan: SearchPlan, candidate: Candidate, tried: Sequence[TrialOutcome], trials_dir: Path
) -> dict[str, Any]:
    """A candidate's design, costs, state and scores (val beside test)."""
    best = min(tried, key=lambda o: STATE_ORDER.index(o.state), default=None)
    state = best.state if best else "pruned"
    row: dict[str, Any] = {
        "candidate": candidate.id,
        **candidate.design.columns(),
        "state": state,
        "epochs_trained": max((o.epochs for o in tried if o.state != "pruned"), default=0),
        "trials": len(tried),
        "seconds": round(sum(o.seconds for o in tried), 1),
        **candidate.costs,
        "pruned_by": candidate.pruned,
        "same_training_as": "; ".join(candidate.same_as),
    }
    if state == "finished":
        row.update(finished_scores(plan, candidate, trials_dir))
    elif best is not None and state == "stopped":
        row.update({k: v for k, v in best.metrics.items() if k.startswith("val_")})
    return row


def finished_scores(plan: SearchPlan, candidate: Candidate, trials_dir: Path) -> dict[str, float]:
    """The last epoch's validation scores and the test sweep's, from the unit's own files."""
    folder = candidate.unit.folder(trials_dir / candidate.id)
    try:
        history = pd.read_csv(folder / layout.HISTORY)
        combinations = pd.read_csv(folder / layout.COMBINATIONS)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise RunError(f"{folder}: a finished trial's files cannot be read ({error})") from None
    val = {k: float(v) for k, v in history.iloc[-1].items() if str(k).startswith("val_")
           and ("expected_" in str(k) or "worst_" in str(k))}  # fmt: skip
    variant = candidate.design.variant
    test = score(combinations, candidate.config, variant, plan.space.epsilon)
    return {**val, **prefixed(test, "test")}


def front_mask(table: pd.DataFrame, plan: SearchPlan) -> list[bool]:
    """Pareto-optimal finished rows: no other finished row is at least as accurate on the
    validation objective and no costlier in every minimised cost, and better in one."""
    accuracy = f"val_expected_{plan.objective}"
    costs = list(plan.space.minimise)
    finished = table["state"].eq("finished") & table.get(accuracy, pd.Series(dtype=float)).notna()
    points = [
        (i, float(row[accuracy]), [float(row[c]) for c in costs])
        for i, row in table[finished].iterrows()
    ]
    on_front = set()
    for i, acc, cost in points:
        dominated = any(
            other_acc >= acc
            and all(o <= c for o, c in zip(other, cost, strict=True))
            and (other_acc > acc or any(o < c for o, c in zip(other, cost, strict=True)))
            for j, other_acc, other in points
            if j != i
        )
        if not dominated:
            on_front.add(i)
    return [i in on_front for i in table.index]


def write_tables(out: Path, table: pd.DataFrame, plan: SearchPlan) -> pd.DataFrame:
    """trials.csv and pareto.csv (the front, by its first cost), atomically."""
    atomic.write_csv(out / TRIALS_CSV, table)
    front = table[table["on_front"]] if len(table) else table
    front = front.sort_values(plan.space.minimise[0]) if len(front) else front
    atomic.write_csv(out / PARETO_CSV, front)
    return front


def epochs_saved(table: pd.DataFrame) -> float | None:
    """Share of the training epochs the search did not train against every tried candidate
    trained to its budget (ASHA's saving); None when nothing was tried."""
    tried = table[table["state"].isin(["finished", "stopped"])]
    full = tried["epochs"].sum()
    return None if not full else 1.0 - tried["epochs_trained"].sum() / full


def draw_front(out: Path, table: pd.DataFrame, plan: SearchPlan) -> Path | None:
    """Accuracy on the validation objective against each minimised cost, front highlighted,
    the baseline designs (CONFIG's own cut, the latency-optimal cut) marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    accuracy = f"val_expected_{plan.objective}"
    if accuracy not in table:
        return None
    costs = plan.space.minimise
    figure, axes = plt.subplots(1, len(costs), figsize=(5.2 * len(costs), 4.2), squeeze=False)
    done = table[table["state"] == "finished"]
    stopped = table[table["state"] == "stopped"]
    front = done[done["on_front"]]
    marks = baseline_marks(table, plan)
    for axis, cost in zip(axes[0], costs, strict=True):
        axis.scatter(stopped[cost], 100 * stopped[accuracy], marker="x", color="0.7",
                     label="stopped early (ASHA)")  # fmt: skip
        axis.scatter(done[cost], 100 * done[accuracy], color="0.45", label="finished")
        ordered = front.sort_values(cost)
        axis.plot(ordered[cost], 100 * ordered[accuracy], "o-", color="tab:red",
                  drawstyle="steps-post", label="Pareto front")  # fmt: skip
        for (name, rows), (marker, colour) in zip(marks.items(), BASELINE_STYLES, strict=False):
            axis.scatter(rows[cost], 100 * rows[accuracy], s=110, facecolors="none",
                         edgecolors=colour, marker=marker, linewidths=1.6, label=name)  # fmt: skip
        axis.set_xlabel(cost.replace("_", " "))
        axis.set_ylabel(f"expected accuracy, {plan.objective} (validation, %)")
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    path = out / FRONT_PNG
    with atomic.atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=120, format="png")
    plt.close(figure)
    return path


def baseline_marks(table: pd.DataFrame, plan: SearchPlan) -> dict[str, pd.DataFrame]:
    """Finished rows with CONFIG's own cut (or partition), and with the latency-optimal cut."""
    done = table[table["state"] == "finished"]
    marks: dict[str, pd.DataFrame] = {}
    model = plan.config.model
    if plan.cuts and isinstance(model.cut, dict):
        own = " ".join(model.cut.values())
        marks["CONFIG's cut"] = done[done["cut"] == own]
    elif plan.space.dimensions.partition:
        marks["CONFIG's partition"] = done[done["partition"] == model.partition]
    if "latency_ms" in table and (plan.cuts or plan.space.dimensions.partition) and len(done):
        column = "cut" if plan.cuts else "partition"
        fastest = table.loc[table["latency_ms"].idxmin(), column]
        marks["latency-optimal cut"] = done[done[column] == fastest]
    return marks
