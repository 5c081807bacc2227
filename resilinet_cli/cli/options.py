"""Options and argument parsing shared by the commands that read a config.

What the options leave in the Click context is read through cli/context.py.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from resilinet_cli.cli.context import TRACKER
from resilinet_cli.errors import ConfigError, unknown_choice
from resilinet_cli.results import layout

DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Look for the dataset here first.",
)


NO_SWEEP_OPTION = click.option(
    "--no-sweep",
    is_flag=True,
    help="Train and save only; estimate later with `resilinet evaluate` (for many nodes).",
)


WORKERS_OPTION = click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    metavar="N",
    help="Train N units at a time, each in a fresh process (same results as one at a time).",
)


def executor_options(function: Any) -> Any:
    """Where units train: here (one at a time, or --workers N at a time) or on a Ray cluster."""
    options = [
        click.option(
            "--executor",
            type=click.Choice(["local", "ray"]),
            default="local",
            show_default=True,
            help="local: this machine; ray: tasks of a Ray cluster (in the repository: "
            "pip install -e '.[ray]').",
        ),
        WORKERS_OPTION,
        click.option(
            "--address",
            metavar="auto|HOST:PORT",
            help="ray: the cluster to join [default: a Ray instance on this machine].",
        ),
        click.option(
            "--num-cpus",
            type=click.FloatRange(min=0, min_open=True),
            help="ray: CPUs each unit asks for [default: resources.num_cpus of the config, 1].",
        ),
        click.option(
            "--num-gpus",
            type=click.FloatRange(min=0),
            help="ray: GPUs each unit asks for; a fraction packs units (0.25: four per GPU) "
            "[default: resources.num_gpus of the config, 0].",
        ),
        click.option(
            "--shared-out",
            is_flag=True,
            help="ray: every node sees the output folder at the same path; tasks write there "
            "themselves instead of sending their files to this machine.",
        ),
        TRACKER_OPTION,
    ]

    @functools.wraps(function)
    def with_executor(*args: Any, **kwargs: Any) -> Any:
        chosen = {name: kwargs.pop(name) for name in EXECUTOR_KEYS}
        return function(*args, executor=chosen_executor(**chosen), **kwargs)

    for option in reversed(options):
        with_executor = option(with_executor)
    return with_executor


EXECUTOR_KEYS = ("executor", "workers", "address", "num_cpus", "num_gpus", "shared_out")


def chosen_tracker(ctx: click.Context, _: click.Parameter, tracker: str) -> str:
    """Keep --tracker for ``invocation``; refuse mlflow in one line when it is not installed."""
    if tracker == "mlflow":
        from resilinet_cli.results.tracking import check_mlflow

        check_mlflow()
    ctx.meta[TRACKER] = tracker
    return tracker


TRACKER_OPTION = click.option(
    "--tracker",
    type=click.Choice(layout.TRACKERS),
    default=layout.TRACKERS[0],
    show_default=True,
    expose_value=False,
    callback=chosen_tracker,
    help="tensorboard: each unit logs to its tensorboard/ folder (tensorboard --logdir "
    "results/NAME); mlflow: also one MLflow run per unit (in the repository: "
    "pip install -e '.[mlflow]'); "
    "none: no logs.",
)


def chosen_executor(
    executor: str,
    workers: int,
    address: str | None,
    num_cpus: float | None,
    num_gpus: float | None,
    shared_out: bool,
) -> Any:
    """The ``Executor`` the options name; options of the other executor are refused."""
    from resilinet_cli.experiments.cluster import RayOptions
    from resilinet_cli.experiments.executors import Executor

    if executor == "ray":
        if workers != 1:
            raise ConfigError("--workers: applies to --executor local (Ray places units itself)")
        return Executor(ray=RayOptions(address, num_cpus, num_gpus, shared_out=shared_out))
    given = {"--address": address, "--num-cpus": num_cpus, "--num-gpus": num_gpus,
             "--shared-out": shared_out or None}  # fmt: skip
    for option, value in given.items():
        if value is not None:
            raise ConfigError(f"{option}: applies to --executor ray")
    return Executor(workers=workers)


REUSE_STALE_OPTION = click.option(
    "--reuse-stale",
    is_flag=True,
    help="Keep finished units made by another training version as they are (default: refuse).",
)


def config_options(function: Any) -> Any:
    """Options shared by the commands that read a config."""
    options = [
        click.argument("config", type=click.Path(path_type=Path, dir_okay=False)),
        click.option(
            "--set",
            "overrides",
            multiple=True,
            metavar="KEY=VALUE",
            help="Override a config value (repeatable), e.g. --set train.epochs=5.",
        ),
        click.option(
            "--smoke",
            is_flag=True,
            help="Shrink the run to seconds (small data subset, 1 epoch, 1 iteration).",
        ),
        click.option(
            "--out",
            type=click.Path(path_type=Path, file_okay=False),
            help="Run folder [default: results/<name>, or results/<name>-smoke].",
        ),
        DATA_DIR_OPTION,
        ALLOW_CODE_OPTION,
    ]
    for option in reversed(options):
        function = option(function)
    return function


def allowed_code(ctx: click.Context, _: click.Parameter, allow: bool) -> bool:
    """--allow-code: a ``module:function`` model source may be imported for this command."""
    from resilinet_cli.models.user_code import allowing_code

    if allow:
        ctx.with_resource(allowing_code())
    return allow


ALLOW_CODE_OPTION = click.option(
    "--allow-code",
    is_flag=True,
    expose_value=False,
    callback=allowed_code,
    help="Let model.source name a Python factory (module:function) and import it; a config "
    "file alone never runs code.",
)


def load(config: Path, overrides: Sequence[str], smoke: bool, data_dir: Path | None) -> Any:
    from resilinet_cli.config import load_config

    extra = [f"dataset.data_dir={data_dir.resolve()}"] if data_dir else []
    loaded = load_config(config, [*overrides, *extra], smoke=smoke)
    if loaded.model.name == "keras":  # its cuts are checked before anything trains
        check_network(loaded, config.name, [*overrides, *extra])
    check_views(loaded, config.name, [*overrides, *extra])
    return loaded


def check_views(config: Any, source: str, overrides: Sequence[Any] = ()) -> None:
    """Check what each input device sees (docs/sensors.md) on the data set's known shape; a
    problem names the override that set its key, else the config file."""
    from resilinet_cli.config.devices import DeviceError, check_devices
    from resilinet_cli.config.messages import blame

    try:
        check_devices(config)
    except DeviceError as error:
        raise ConfigError(blame(source, overrides, error.key, error.message)) from None


def check_network(config: Any, source: str, overrides: Sequence[Any] = ()) -> None:
    """Load the keras family's network and check its cuts; a problem names the override that
    set its key, else the config file."""
    from resilinet_cli.config.messages import blame
    from resilinet_cli.models.keras_family import check_network as check
    from resilinet_cli.models.keras_source import NetworkError
    from resilinet_cli.variants import topology_of

    try:
        check(config.model, topology_of(config))
    except NetworkError as error:
        raise ConfigError(blame(source, overrides, error.key, error.message)) from None


def default_out(config: Any, smoke: bool, out: Path | None) -> Path:
    return out or Path("results") / (config.name + ("-smoke" if smoke else ""))


MAX_ITERATIONS = 10_000  # as the config's iterations


def parse_iterations(text: str | None) -> list[int] | None:
    """'N' runs iterations 1..N; 'A..B' runs exactly A..B (to re-run single cells); None (no
    option): each variant's own count from the config."""
    if text is None:
        return None
    first, sep, last = text.partition("..")
    try:
        bounds = (int(first), int(last)) if sep else (1, int(first))
    except ValueError:
        raise ConfigError(
            f"--iterations {text!r}: expected N or FIRST..LAST, e.g. 10 or 3..3"
        ) from None
    if bounds[0] < 1 or bounds[1] < bounds[0] or bounds[1] > MAX_ITERATIONS:
        raise ConfigError(f"--iterations {text!r}: needs 1 <= FIRST <= LAST <= {MAX_ITERATIONS}")
    return list(range(bounds[0], bounds[1] + 1))


def parse_variants(text: str | None, config: Any, option: str = "--variants") -> list[str]:
    from resilinet_cli.variants import VARIANTS

    if text is None:
        return list(config.variants)
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = [*VARIANTS, *config.techniques]
    for name in names:
        if name not in known:
            raise ConfigError(f"{option}: {unknown_choice('variant', name, known)}")
    return names


TIME_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


class Seconds(click.ParamType):
    """A positive time: ``90``, ``90s``, ``500ms``, ``10m`` or ``1h``; read as seconds."""

    name = "seconds"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            seconds = float(value)
        else:
            text = str(value).strip().lower()
            number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
            unit = text[len(number) :] or "s"
            try:
                seconds = float(number) * TIME_UNITS[unit]
            except (ValueError, KeyError):
                self.fail(f"{value!r} is no time; write e.g. 90, 90s, 500ms, 10m or 1h", param, ctx)
        if not seconds > 0:
            self.fail(f"{value!r} is not a positive time", param, ctx)
        return seconds
