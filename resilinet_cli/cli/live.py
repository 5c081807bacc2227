"""``resilinet deploy`` and ``resilinet live-eval``: a unit's model on real node processes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from resilinet_cli.cli.app import main
from resilinet_cli.cli.options import DATA_DIR_OPTION, Seconds

DEPLOY_FOLDER = "live"  # inside the unit folder: spec, state and node logs
EVAL_FOLDER = "live-eval"
LOAD_FOLDER = "live-load"
LOAD_CSV = "live_load.csv"  # per step: offered and answered rate, latency, the clients' CPU
LOAD_PNG = "live_load.png"


def launch_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Where the nodes listen, how long a hop may take, and TLS."""
    options = [
        click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind."),
        click.option(
            "--hosts",
            type=click.Choice(["local", "netns"]),
            default="local",
            show_default=True,
            help="local: every node on --host; netns: each node in a network namespace of its "
            "own with its own address on a private bridge, made and removed with the "
            "deployment (needs root and iproute2).",
        ),
        click.option(
            "--subnet",
            help="With --hosts netns: the private subnet, e.g. 10.213.7.0/24 (the bridge takes "
            "its first address, the nodes the next) [default: a free /24 of 10.213.0.0/16].",
        ),
        click.option(
            "--port",
            type=int,
            help="The first node's port; the others follow in topology order [default: free "
            "ports].",
        ),
        click.option(
            "--deadline-ms",
            type=click.FloatRange(min=1),
            default=200.0,
            show_default=True,
            help="Per-hop deadline: a sender that has not answered by then is treated as dead.",
        ),
        click.option("--tls-cert", type=click.Path(path_type=Path, dir_okay=False, exists=True)),
        click.option("--tls-key", type=click.Path(path_type=Path, dir_okay=False, exists=True)),
        click.option(
            "--tls-ca",
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            help="With --tls-cert and --tls-key: serve TLS, verify peers against this CA.",
        ),
        click.option("--mtls", is_flag=True, help="Also require client certificates."),
        click.option(
            "--links",
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            help="A YAML file shaping links: {seed, links: {src->dst: {bandwidth, latency, "
            "jitter, loss, trace}}} [default: the unit config's live: section].",
        ),
        click.option(
            "--exit-rule",
            type=click.Choice(["fallback", "threshold"]),
            default="fallback",
            show_default=True,
            help="A model with exits: the cloud answers, or the deepest exit reached when the "
            "cloud is cut off (fallback); or an exit whose normalised entropy is below T "
            "answers at once and the nodes above compute nothing (threshold; T from the "
            "unit's exits.json, else the variant's threshold).",
        ),
        click.option(
            "--batch-window-ms",
            type=click.FloatRange(min=0),
            default=0.0,
            show_default=True,
            help="Each node runs the requests that arrive within this window as one batch "
            "(0: each on its own); must be under --deadline-ms.",
        ),
        click.option(
            "--max-batch",
            type=click.IntRange(min=1),
            default=16,
            show_default=True,
            help="With --batch-window-ms: the most rows in one batch.",
        ),
        DATA_DIR_OPTION,
    ]
    for option in reversed(options):
        function = option(function)
    return function


def make_launch(
    host: str,
    port: int | None,
    deadline_ms: float,
    tls_cert: Path | None,
    tls_key: Path | None,
    tls_ca: Path | None,
    mtls: bool,
    exit_rule: str = "fallback",
    links: Path | None = None,
    batch_window_ms: float = 0.0,
    max_batch: int = 16,
    hosts: str = "local",
    subnet: str | None = None,
) -> Any:
    from resilinet_cli.live.launch import LaunchOptions
    from resilinet_cli.live.spec import Tls

    given = [p for p in (tls_cert, tls_key, tls_ca) if p is not None]
    if given and len(given) != 3:
        raise click.UsageError("TLS needs all of --tls-cert, --tls-key and --tls-ca")
    if mtls and not given:
        raise click.UsageError("--mtls needs --tls-cert, --tls-key and --tls-ca")
    if subnet is not None and hosts != "netns":
        raise click.UsageError("--subnet places nodes in namespaces; give --hosts netns")
    if hosts == "netns":
        from resilinet_cli.live.errors import LiveError
        from resilinet_cli.live.hosts import can_use_netns

        reason = can_use_netns()
        if reason:
            raise LiveError(reason)
    tls = None
    if given:
        paths = [str(Path(p).resolve()) for p in (tls_cert, tls_key, tls_ca)]
        tls = Tls(*paths, mutual=mtls)
    return LaunchOptions(
        host=host,
        port=port,
        deadline_ms=deadline_ms,
        tls=tls,
        exit_rule=exit_rule,
        links=links,
        batch_window_ms=batch_window_ms,
        max_batch=max_batch,
        hosts=hosts,
        subnet=subnet,
    )


@main.command()
@click.argument("unit_dir", type=click.Path(path_type=Path), required=False)
@click.option("--stop", is_flag=True, help="Stop the deployment of UNIT_DIR (or of --state).")
@click.option(
    "--state",
    type=click.Path(path_type=Path, file_okay=False),
    help="The deployment's folder: spec, state file, node logs "
    f"[default: UNIT_DIR/{DEPLOY_FOLDER}].",
)
@launch_options
def deploy(
    unit_dir: Path | None, stop: bool, state: Path | None, data_dir: Path | None, **launch: Any
) -> None:
    """Serve UNIT_DIR's model as one process per physical node, over gRPC.

    \b
    Start, then stop:
      resilinet deploy results/quickstart/runs/resilinet/iter-1
      resilinet deploy --stop results/quickstart/runs/resilinet/iter-1
    """
    from resilinet_cli.live.deployment import STATE, Deployment, is_node_process, stop_state
    from resilinet_cli.live.errors import LiveError

    if unit_dir is None and state is None:
        raise click.UsageError("give UNIT_DIR (or --state with --stop)")
    folder = state or unit_dir / DEPLOY_FOLDER
    if stop:
        stopped = stop_state(folder / STATE)
        click.echo(f"stopped {len(stopped)} node(s): {', '.join(stopped) or 'none running'}")
        return
    assert unit_dir is not None
    if (folder / STATE).is_file():
        import json

        running = json.loads((folder / STATE).read_text(encoding="utf-8"))
        if any(is_node_process(n["pid"], running["spec"]) for n in running["nodes"].values()):
            raise LiveError(f"{folder}: a deployment is running; stop it with --stop first")
    from resilinet_cli.live.launch import unit_spec
    from resilinet_cli.live.unit import class_prior, load_unit

    options = make_launch(**launch)  # bad options are refused before the unit is read
    unit = load_unit(unit_dir, data_dir)
    spec = unit_spec(unit, class_prior(unit), options)
    deployment = Deployment.start(spec, folder, on_ready=starting(spec.processes))
    for node in spec.processes:
        click.echo(f"{node:>8}  {spec.address(node)}  pid {deployment.processes[node].pid}")
    if spec.link_shapes:
        from resilinet_cli import atomic
        from resilinet_cli.live.live_eval import LINKS_CSV
        from resilinet_cli.live.shaping import link_table

        atomic.write_csv(folder / LINKS_CSV, link_table(spec))
        click.echo(f"shaped links: {', '.join(spec.link_shapes)} ({folder / LINKS_CSV})")
    deployment.detach()
    entry = spec.topology.input_node
    click.echo(f"entry point: {entry} at {spec.address(entry)}")
    click.echo(f"spec and token: {folder / 'spec.json'}; logs: {folder}")
    click.echo(f"stop with: resilinet deploy --stop {unit_dir}")


def starting(processes: list[str]) -> Callable[[str, float], None]:
    """Say that the node processes start, then each one's time to ready as it comes, and the
    whole deployment's once the last is ready."""
    click.echo(f"starting {len(processes)} node processes in parallel ({', '.join(processes)}); "
               "each loads TensorFlow and its model")  # fmt: skip
    ready: list[str] = []

    def tell(node: str, seconds: float) -> None:
        ready.append(node)
        click.echo(f"{node:>8}  ready after {seconds:.1f} s")
        if len(ready) == len(processes):
            click.echo(f"all {len(processes)} nodes ready after {seconds:.1f} s")

    return tell


def near_note(summary: Any) -> str:
    """The examples counted apart because their entropy was within rounding of T."""
    near = int(summary["near_threshold"].sum())
    return f"; near the threshold (not compared): {near}" if near else ""


@main.command("live-eval")
@click.argument("unit_dir", type=click.Path(path_type=Path))
@click.option(
    "--chaos",
    default="",
    metavar="EVENTS|FILE",
    help="e.g. 'kill edge@5s, hang fog2@10s, resume fog2@20s, restart edge@25s', or a YAML "
    "file listing such events.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    help="Requests per second [default: as fast as answers come back].",
)
@click.option(
    "--duration",
    type=Seconds(),
    help="How long to stream, cycling the test split: 90, 90s, 10m, 1h [default: the split "
    "once, and 2 s past the last event].",
)
@click.option(
    "--chaos-seed",
    type=int,
    help="Instead of --chaos: faults repeating over --duration at random times drawn from this "
    "seed (kill then restart, or hang then resume; one at a time).",
)
@click.option(
    "--chaos-every",
    type=Seconds(),
    default=60.0,
    show_default=True,
    help="With --chaos-seed: the mean time between faults.",
)
@click.option(
    "--clients",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Concurrent clients; with --rate they send open-loop at that total rate (latency "
    "counts from each request's due time), without it each sends when its answer is back.",
)
@click.option(
    "--window",
    type=Seconds(),
    default=300.0,
    show_default=True,
    help="live_windows.csv's window: requests, accuracy, latency, memory and descriptors per "
    "window (a soak's 5 minutes).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help=f"Folder of live.csv and the other results [default: UNIT_DIR/{EVAL_FOLDER}].",
)
@click.option(
    "--state",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Stream through the running deployment of this folder (from 'resilinet deploy') "
    "instead of starting one; chaos events act on its processes, and it keeps running.",
)
@launch_options
def live_eval(
    unit_dir: Path,
    chaos: str,
    rate: float | None,
    duration: float | None,
    chaos_seed: int | None,
    chaos_every: float,
    clients: int,
    window: float,
    out: Path | None,
    state: Path | None,
    data_dir: Path | None,
    **launch: Any,
) -> None:
    """Stream UNIT_DIR's test split through a live deployment while nodes fail.

    Writes live.csv (per request; its contributed column: which failable nodes contributed,
    1 = contributed), live_summary.csv (live against simulated accuracy per combination: the
    contributing nodes alive, every failable link up, since only node processes fail live),
    live_events.csv (time to detect and recover) and live_latency.png.
    """
    from resilinet_cli.interrupt import catching_ctrl_c, stop_status
    from resilinet_cli.live.chaos import parse_chaos, random_schedule
    from resilinet_cli.live.live_eval import LiveEvalOptions, live_eval
    from resilinet_cli.live.unit import load_unit
    from resilinet_cli.live.windows import growth

    if state is not None and launch.get("links") is not None:
        message = "--links shapes a deployment live-eval starts; with --state the running one"
        raise click.UsageError(message + " keeps the links it was deployed with")
    if chaos_seed is not None and chaos.strip():
        raise click.UsageError("give --chaos or --chaos-seed, not both")
    if chaos_seed is not None and duration is None:
        raise click.UsageError("--chaos-seed draws faults over --duration; give --duration")
    launched = make_launch(**launch)  # bad options are refused before the unit is read
    unit = load_unit(unit_dir, data_dir)
    events = parse_chaos(chaos, unit.topology) if chaos.strip() else []
    if chaos_seed is not None:
        assert duration is not None
        events = random_schedule(unit.topology, chaos_seed, duration, chaos_every)
        click.echo(f"chaos from seed {chaos_seed}: {len(events)} events over {duration:g} s")
    options = LiveEvalOptions(
        events,
        rate,
        duration,
        launched,
        attach=state,
        clients=clients,
        window_s=window,
        sample_s=min(10.0, window / 5),
    )
    with catching_ctrl_c():  # the stream stops early, its results are written
        result = live_eval(unit, options, out or unit_dir / EVAL_FOLDER, on_ready=starting)
    table = result.summary.copy()
    click.echo(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if len(result.events):
        click.echo("chaos events (seen_after_ms: until the answers showed the event):")
        click.echo(result.events.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    if len(result.exits):
        click.echo("answered by (per node: requests, fraction, latency):")
        click.echo(result.exits.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for error in result.chaos_errors:
        click.echo(f"chaos event failed: {error}", err=True)
    if len(result.windows) > 1:
        click.echo(f"per window of {window:g} s (live_windows.csv):")
        shown = ["window", "requests", "unanswered", "live_accuracy", "sweep_accuracy",
                 "differing", "latency_p50_ms", "latency_p99_ms"]  # fmt: skip
        click.echo(result.windows[shown].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        grown = growth(result.windows)
        click.echo("memory, last window against the first after warm-up (live_growth.csv):")
        click.echo(grown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    click.echo(
        f"{result.throughput:.1f} answers/s from {clients} client(s); the clients used "
        f"{100 * result.client_cpu_share:.0f} % of the CPU that they and the nodes used"
    )
    click.echo(
        f"{len(result.live)} requests, {result.failed} unanswered; predictions differing from "
        f"the simulated ones: {result.differing}; mixed views (a node failing or recovering "
        f"mid-request, not compared): {int(result.summary['mixed_view'].sum())}"
        + near_note(result.summary)
    )
    click.echo(f"wrote {result.out}")
    if result.interrupted:
        name, status = stop_status()
        click.echo(f"{name}: the stream stopped after {result.elapsed_s:.0f} s; the results "
                   "cover the requests sent until then", err=True)  # fmt: skip
        raise SystemExit(status)


def rate_list(ctx: click.Context, param: click.Parameter, value: str) -> list[float]:
    """``--rates 10,20,40``: positive numbers, rising."""
    try:
        rates = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r}: write rates as 10,20,40") from None
    if not rates or min(rates) <= 0 or rates != sorted(set(rates)):
        raise click.BadParameter(f"{value!r}: give positive rates, rising, e.g. 10,20,40")
    return rates


@main.command("live-load")
@click.argument("unit_dir", type=click.Path(path_type=Path))
@click.option(
    "--rates",
    default="10,20,40,80,160",
    show_default=True,
    callback=rate_list,
    help="Offered loads, requests per second, one step each (open loop).",
)
@click.option("--clients", type=click.IntRange(min=1), default=8, show_default=True)
@click.option(
    "--seconds",
    type=Seconds(),
    default=8.0,
    show_default=True,
    help="How long each step sends.",
)
@click.option("--dead", help="Also run every step with this failable node killed.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help=f"Folder of live_load.csv and live_load.png [default: UNIT_DIR/{LOAD_FOLDER}].",
)
@launch_options
def live_load(
    unit_dir: Path,
    rates: list[float],
    clients: int,
    seconds: float,
    dead: str | None,
    out: Path | None,
    data_dir: Path | None,
    **launch: Any,
) -> None:
    """Throughput and latency of UNIT_DIR's deployment against offered load.

    Starts the deployment, sends each rate of --rates for --seconds from --clients clients
    (open loop: latency counts from each request's due time), healthy and, with --dead, with
    that node killed; writes live_load.csv and live_load.png.
    """
    from resilinet_cli import atomic
    from resilinet_cli.errors import unknown_choice
    from resilinet_cli.live.deployment import Deployment
    from resilinet_cli.live.errors import LiveError
    from resilinet_cli.live.launch import unit_spec
    from resilinet_cli.live.load_curve import load_curve, plot_load
    from resilinet_cli.live.unit import load_test, load_unit

    options = make_launch(**launch)
    unit = load_unit(unit_dir, data_dir)
    if dead is not None and dead not in unit.topology.alive_columns:
        columns = unit.topology.alive_columns
        raise LiveError(f"--dead: {unknown_choice('node', dead, columns)} (a failable node)")
    test = load_test(unit)
    out = out or unit_dir / LOAD_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    spec = unit_spec(unit, test.prior, options)
    header = "condition   clients  offered/s  answered/s  p50 ms  p99 ms  clients' CPU"

    def tell(row: dict[str, Any]) -> None:
        click.echo(
            f"{row['condition']:<11} {row['clients']:>7}  {row['offered_rps']:>9.1f}  "
            f"{row['answered_rps']:>10.1f}  {row['latency_p50_ms']:>6.1f}  "
            f"{row['latency_p99_ms']:>6.1f}  {100 * row['client_cpu_share']:>11.0f} %"
        )

    with Deployment.start(spec, out / "deployment", on_ready=starting(spec.processes)) as running:
        click.echo(header)
        steps = [(clients, rate) for rate in rates]
        table = load_curve(running, test.x, steps, seconds, dead, tell)
    atomic.write_csv(out / LOAD_CSV, table)
    plot_load(table, out / LOAD_PNG)
    click.echo(f"wrote {out / LOAD_CSV} and {out / LOAD_PNG}")
