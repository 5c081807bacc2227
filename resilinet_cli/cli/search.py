"""``resilinet search``: the designs of one network over one topology that stay accurate under
a failure model within a device, link and latency budget (docs/search.md)."""

from __future__ import annotations

import os
import shlex
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from resilinet_cli.cli.app import main

EXISTING_FILE = click.Path(path_type=Path, dir_okay=False, exists=True)
DRY_RUN_ROWS = 200  # a space of every cut tuple has tens of thousands


@main.command()
@click.argument("config", type=EXISTING_FILE, required=False)
@click.option("--space", "space_file", type=EXISTING_FILE, metavar="SPACE.yaml",
              help="What may vary, the sampler, ASHA and the constraints.")  # fmt: skip
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="The search's folder [default: searches/<config name>].")  # fmt: skip
@click.option("--resume", "resume_dir", type=click.Path(path_type=Path, file_okay=False,
              exists=True), metavar="DIR", help="Continue the search in DIR.")  # fmt: skip
@click.option("--costs", "costs_file", type=EXISTING_FILE, metavar="FILE",
              help="A costs: section (resilinet measure writes one) for CONFIG's.")  # fmt: skip
@click.option("--dry-run", is_flag=True,
              help="List the candidates after pruning, count them, estimate the time.")  # fmt: skip
@click.option("--address", metavar="auto|HOST:PORT",
              help="The Ray cluster of the trials [default: a Ray instance here].")  # fmt: skip
@click.option("--storage", type=click.Path(path_type=Path, file_okay=False), metavar="DIR",
              help="A folder every node of the cluster reaches at this path: Tune's storage and "
              "the trials' folders [default: the search's folder; a cluster of several nodes "
              "needs one].")  # fmt: skip
@click.option("--reuse-from", type=click.Path(path_type=Path, file_okay=False, exists=True),
              metavar="RUN_DIR", help="Copy a finished unit of equal training instead of "
              "training it (as `resilinet run --reuse-from`).")  # fmt: skip
def search(
    config: Path | None,
    space_file: Path | None,
    out: Path | None,
    resume_dir: Path | None,
    costs_file: Path | None,
    dry_run: bool,
    address: str | None,
    storage: Path | None,
    reuse_from: Path | None,
) -> None:
    """Search designs of CONFIG's network (cuts, skips, failout, variants, epochs) for the
    Pareto front of expected accuracy under a failure model against device, link and latency
    costs, training each candidate as a Ray Tune trial.

    \b
    Example:
      resilinet search configs/search/digits_mlp.yaml --space configs/search/digits_mlp_space.yaml
      resilinet search --resume searches/search_digits_mlp
    \b
    Writes into its folder: trials.csv (every candidate: design, costs, state, validation and
    test scores), pareto.csv, front.png, REPORT.md, and each trial's run folder under trials/
    (resilinet evaluate, live-eval and deploy work on it). Rerunning the same command, or
    --resume DIR, continues the search without retraining finished trials.
    """
    from resilinet_cli.search import folder as search_folder

    if resume_dir is not None:
        if config is not None or space_file is not None:
            raise click.UsageError("--resume DIR takes no CONFIG or --space: DIR has both")
        config, space_file = search_folder.saved_inputs(resume_dir)
        out = resume_dir
    elif config is None or space_file is None:
        raise click.UsageError("give CONFIG and --space SPACE.yaml, or --resume DIR")
    loaded, space = search_folder.load_inputs(config, space_file, costs_file)
    out = out or Path("searches") / loaded.name
    if not dry_run:
        from resilinet_cli.search.tuning import require_tune

        require_tune()
    plan = plan_with_progress(loaded, space, space_file, config)
    if dry_run:
        echo_dry_run(plan)
        return
    run_and_report(plan, out, config, space_file, address, storage, reuse_from)


def plan_with_progress(config: Any, space: Any, space_file: Path, config_file: Path) -> Any:
    from resilinet_cli.search.plan import plan_search

    started, last = time.monotonic(), [0.0]

    def costing(done: int, total: int) -> None:
        now = time.monotonic() - started  # quiet unless it takes a while
        if now - last[0] >= 5.0 or (done == total and last[0]):
            last[0] = now
            click.echo(f"costing candidates: {done}/{total}", err=True)

    return plan_search(config, space, space_file, config_file.name, on_costing=costing)


@contextmanager
def sigterm_as_ctrl_c() -> Iterator[list[int]]:
    """SIGTERM (Slurm, Kubernetes, preemption) stops the search as Ctrl-C does: Ray Tune saves
    its state and stops the trials, and the same command resumes. The list tells which signal
    came."""
    received: list[int] = []

    def forward(signum: int, frame: Any) -> None:
        received[:] = [signum]
        os.kill(os.getpid(), signal.SIGINT)  # Tune's own handler stops it cleanly

    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = signal.signal(signal.SIGTERM, forward)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def without_out(args: tuple[str, ...]) -> tuple[str, ...]:
    """The command line less ``--out DIR``: the report lives in that folder, and a committed
    one must not name a folder of the machine that made it."""
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--out":
            skip = True
        elif not arg.startswith("--out="):
            kept.append(arg)
    return tuple(kept)


def duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def echo_dry_run(plan: Any) -> None:
    from tabulate import tabulate

    from resilinet_cli.search.estimate import estimate_seconds

    costs = plan.space.minimise
    rows = [
        [c.id, c.design.label(), *(f"{c.costs[name]:,.6g}" for name in costs), c.pruned or "fits"]
        for c in plan.candidates[:DRY_RUN_ROWS]
    ]
    click.echo(tabulate(rows, ["candidate", "design", *costs, "constraints"],
                        disable_numparse=True))  # fmt: skip
    if len(plan.candidates) > DRY_RUN_ROWS:
        click.echo(f"... the first {DRY_RUN_ROWS} of {len(plan.candidates)} candidates")
    fitting = plan.fitting
    seconds = estimate_seconds(plan)
    click.echo(
        f"\n{len(plan.choices)} designs, {len(plan.candidates)} distinct trainings, "
        f"{len(fitting)} fit the constraints; objective {plan.objective}; "
        f"sampler {plan.space.sampler}"
        + (f" ({plan.space.trials} trials)" if plan.space.trials else "")
        + f"; about {duration(seconds)} without early stopping (a rough estimate from "
        "FLOPs; the progress line measures)"
    )


def run_and_report(
    plan: Any, out: Path, config_file: Path, space_file: Path, address: str | None,
    storage: Path | None, reuse_from: Path | None,
) -> None:  # fmt: skip
    from resilinet_cli.cli.context import command_line
    from resilinet_cli.experiments.cluster import RayOptions, connected
    from resilinet_cli.search import folder as search_folder
    from resilinet_cli.search.comparison import compare, write_comparison
    from resilinet_cli.search.outputs import draw_front, trial_rows, write_tables
    from resilinet_cli.search.report import write_report
    from resilinet_cli.search.tuning import run_search

    search_folder.prepare(out, plan, config_file, space_file)
    command = without_out(command_line())  # as given: each unit's record and REPORT.md name it
    # "local": a Ray instance of this search's own, even where `ray start` left one running
    with connected(RayOptions(address=address or "local")):
        search_folder.check_cluster(address, storage, plan.space.cpus_per_trial)
        where = storage or out

        def progress(counts: dict[str, int], left: float) -> None:
            click.echo(
                f"trials: {counts['done']} done, {counts['running']} running, "
                f"{counts['pruned']} pruned, {counts['stopped']} stopped early, "
                f"{counts['failed']} failed, {counts['left']} to go"
                + (f"; about {duration(left)} left" if left else ""),
                err=True,
            )

        with sigterm_as_ctrl_c() as terminated:
            outcomes, done = run_search(
                plan, where, reuse_from=reuse_from, progress=progress, command=command
            )
    invocations = search_folder.add_invocation(out, done)
    table = trial_rows(plan, outcomes, where / "trials")
    front = write_tables(out, table, plan)
    draw_front(out, table, plan)
    gain = write_comparison(out, compare(table, plan, where / "trials"))
    write_report(out, plan, table, front, invocations, shlex.join(command), gain)
    expected = len(plan.fitting) if plan.space.sampler == "grid" else plan.space.trials
    ended = sum(o.state in ("finished", "stopped", "pruned") for o in outcomes)
    failed = sum(o.state == "error" for o in outcomes)
    if ended >= expected:
        click.echo(f"{len(front)} designs on the front: {out / 'pareto.csv'}; {out / 'REPORT.md'}")
        return
    click.echo(
        f"error: {ended} of {expected} trials ended ({failed} failed every retry); rerun the "
        f"command (or resilinet search --resume {out}) to go on; the outputs hold what ended",
        err=True,
    )
    # stopped by a signal: 128 + its number, as `resilinet run` exits (Ctrl-C's handler is
    # Tune's: trials left to run mean it came); trials that failed every retry: 1
    stopped = terminated[0] if terminated else signal.SIGINT
    raise SystemExit(128 + stopped if terminated or ended + failed < expected else 1)
