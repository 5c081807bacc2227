"""The search on Ray Tune: a grid or an Optuna sampler, ASHA, retries and Tune's own restore.

Verified against Ray 2.60 (docs/search.md): with two objectives, Optuna and ASHA work when the
metrics are given to the searcher and the scheduler, not to ``TuneConfig``; every report carries
both objectives; a trial ASHA stops is told to Optuna as complete with its early accuracy, so
the front (outputs.py) leaves stopped trials out. Trials train with resilinet's own code (never
Ray's TensorFlow trainer, which runs Keras 2).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resilinet_cli.errors import ConfigError
from resilinet_cli.search.plan import SearchPlan
from resilinet_cli.search.trial import FINAL, TrialContext, run_trial

EXPERIMENT = "tune"  # Tune's experiment folder under the storage path
RETRIES = 2  # a failed trial (a lost worker or node) runs again up to this many times


@dataclass(frozen=True)
class TrialOutcome:
    """One Tune trial as the outputs need it."""

    candidate: str
    state: str  # finished, stopped (ASHA), pruned (constraints), error, pending
    epochs: int  # epochs it reported (trained or replayed)
    metrics: dict[str, Any]  # its last report
    seconds: float  # time inside the trainable


def require_tune() -> None:
    """One line, before anything starts, when the ``search`` extra is missing."""
    missing = []
    for module in ("ray.tune", "optuna"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module.split(".")[0] + ("[tune]" if module == "ray.tune" else ""))
    if missing:
        raise ConfigError(
            f"resilinet search needs {' and '.join(missing)}: pip install -e '.[search]' in "
            "the resilinet repository"
        )


def param_space(plan: SearchPlan) -> dict[str, Any]:
    """Tune's space: the grid of fitting candidates, or the dimensions for a sampler."""
    from ray import tune

    if plan.space.sampler == "grid":
        return {"candidate": tune.grid_search([c.id for c in plan.fitting])}
    names = ("variant", "cut", "partition", "skips", "failout", "granularity", "epochs")
    return {
        name: tune.choice(list(dict.fromkeys(choice[name] for choice in plan.choices)))
        for name in names
    }


def searcher(plan: SearchPlan) -> Any:
    """Optuna (TPE or NSGA-II, seeded) on both objectives, or None for the grid."""
    if plan.space.sampler == "grid":
        return None
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = plan.space
    if space.sampler == "tpe":
        sampler = optuna.samplers.TPESampler(seed=space.seed)
    else:
        sampler = optuna.samplers.NSGAIISampler(population_size=space.population or 50,
                                                seed=space.seed)  # fmt: skip
    return OptunaSearch(metric=["objective", "cost"], mode=["max", "min"], sampler=sampler)


def scheduler(plan: SearchPlan) -> Any:
    """ASHA on the validation objective per epoch; without it every trial trains to the end."""
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    asha = plan.space.asha
    if asha is False:
        return FIFOScheduler()
    longest = max(c.design.epochs for c in plan.candidates)
    return ASHAScheduler(
        metric="objective",
        mode="max",
        time_attr="epoch",  # not Tune's report count: a trial resumed from a checkpoint
        max_t=longest,  # reports its remaining epochs only; the last comes with the test sweep
        grace_period=asha.grace_epochs,
        reduction_factor=asha.reduction_factor,
    )


@dataclass(frozen=True)
class SearchCall:
    """What one call of ``run_search`` did: for trials per hour and Tune's overhead."""

    wall_seconds: float
    trials_run: int  # trials that started and ended in this call
    busy_seconds: float  # time inside those trials
    concurrency: int


def run_search(
    plan: SearchPlan,
    storage: Path,
    *,
    reuse_from: Path | None = None,
    progress: Callable[[dict[str, int], float], None] | None = None,
    command: tuple[str, ...] = (),
) -> tuple[list[TrialOutcome], SearchCall]:
    """Run (or continue) the search's trials: their outcomes in Tune's order, and what this
    call did."""
    from ray import tune

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # verbose=0 then prints nothing of Tune's
    context = TrialContext(
        config=plan.config.to_dict(),
        candidates={
            c.id: {"design": c.design.to_dict(), "costs": c.costs, "pruned": c.pruned}
            for c in plan.candidates
        },
        lookup=plan.lookup,
        trials_dir=str((storage / "trials").resolve()),
        objective=plan.objective,
        cost=plan.cost,
        epsilon=plan.space.epsilon,
        reuse_from=str(reuse_from.resolve()) if reuse_from else None,
        command=command,
    )  # fmt: skip
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, context=context), {"cpu": plan.space.cpus_per_trial}
    )
    path = storage.resolve() / EXPERIMENT
    counter = Progress(plan, progress or (lambda counts, left: None))
    callbacks = [counter]
    if tune.Tuner.can_restore(str(path)):
        tuner = tune.Tuner.restore(str(path), trainable=trainable, resume_unfinished=True,
                                   resume_errored=True)  # fmt: skip
        # Tune restores the callbacks it pickled; this invocation counts with its own
        tuner._local_tuner.get_run_config().callbacks = callbacks
        counter.restored([outcome(result) for result in tuner.get_results()])
    else:
        space = plan.space
        tuner = tune.Tuner(
            trainable,
            param_space=param_space(plan),
            tune_config=tune.TuneConfig(
                search_alg=searcher(plan),
                scheduler=scheduler(plan),
                num_samples=space.trials or 1,
                max_concurrent_trials=space.max_concurrent_trials,
                # TensorFlow loads once per worker, not once per trial; but a trial ASHA stops
                # is still training when told, and its worker cannot be reset for the next
                reuse_actors=not space.early_stopping,
            ),
            run_config=tune.RunConfig(
                name=EXPERIMENT,
                storage_path=str(storage.resolve()),
                verbose=0,
                failure_config=tune.FailureConfig(max_failures=RETRIES),
                callbacks=callbacks,
            ),
        )
    started = time.monotonic()
    results = tuner.fit()
    done = SearchCall(
        wall_seconds=time.monotonic() - started,
        trials_run=len(counter.seconds),
        busy_seconds=sum(counter.seconds),
        concurrency=plan.space.max_concurrent_trials,
    )
    return [outcome(result) for result in results], done


def outcome(result: Any) -> TrialOutcome:
    """A Tune result as a TrialOutcome."""
    metrics = dict(result.metrics or {})
    if metrics.get("pruned"):
        state = "pruned"
    elif metrics.get(FINAL):
        state = "finished"
    elif result.error is not None:
        state = "error"
    elif metrics:
        state = "stopped"
    else:
        state = "pending"
    return TrialOutcome(
        candidate=str(metrics.get("candidate") or (result.config or {}).get("candidate", "")),
        state=state,
        epochs=int(metrics.get("epoch", 0) or 0),
        metrics=metrics,
        seconds=float(metrics.get("trial_seconds", 0.0) or 0.0),
    )


def progress_class() -> type:
    """Tune's Callback subclass, built on first use (Tune is an optional dependency)."""
    from ray.tune import Callback

    class _Progress(Callback):
        """Counts trials by state and tells ``report`` after every change."""

        def __init__(self, plan: SearchPlan, report: Callable[[dict[str, int], float], None]):
            self.report, self.started = report, time.monotonic()
            self.total = len(plan.fitting) if plan.space.sampler == "grid" else plan.space.trials
            self.counts = {"done": 0, "running": 0, "pruned": 0, "stopped": 0, "failed": 0}
            self.seconds: list[float] = []

        def restored(self, outcomes: list[TrialOutcome]) -> None:
            """Trials a restored search had ended: counted, not run again (a trial the restore
            resumes looks stopped, so stopped ones are counted when they stop again)."""
            names = {"finished": "done", "pruned": "pruned"}
            for ended in outcomes:
                if ended.state in names:
                    self.counts[names[ended.state]] += 1

        def _tell(self) -> None:
            finished = sum(self.counts[k] for k in ("done", "pruned", "stopped", "failed"))
            left = max(0, (self.total or 0) - finished)
            mean = sum(self.seconds) / len(self.seconds) if self.seconds else 0.0
            self.report({**self.counts, "left": left}, mean * left)

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self.counts["running"] += 1
            self._tell()

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any):
            self.counts["running"] -= 1
            last = trial.last_result or {}
            state = "pruned" if last.get("pruned") else "done" if last.get(FINAL) else "stopped"
            self.counts[state] += 1
            self.seconds.append(float(last.get("trial_seconds", 0.0) or 0.0))
            self._tell()

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self.counts["running"] -= 1
            self.counts["failed"] += 1
            self._tell()

    return _Progress


def Progress(plan: SearchPlan, report: Callable[[dict[str, int], float], None]) -> Any:
    return progress_class()(plan, report)
