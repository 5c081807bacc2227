"""``resilinet partition``: where a Keras network can be cut, and what each cut costs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from resilinet_cli.cli.app import main
from resilinet_cli.cli.options import ALLOW_CODE_OPTION, load
from resilinet_cli.cli.output import echo_json
from resilinet_cli.errors import ConfigError


@main.command()
@click.argument("model", metavar="MODEL")
@click.option("--args", "args_text", metavar="YAML", default="{}",
              help="Keyword arguments of the source, e.g. '{alpha: 0.35, input_shape: "
              "[32, 32, 3], classes: 10}'.")  # fmt: skip
@click.option("--weights", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Weights to load (.keras or .weights.h5); costs ignore them.")  # fmt: skip
@click.option("--topology", metavar="NAME|FILE",
              help="Topology preset or file [default: the config's, else cnn].")  # fmt: skip
@click.option("--suggest", is_flag=True, help="Propose one cut per node within the limits.")
@click.option("--max-link-bytes", type=click.IntRange(min=1), metavar="N",
              help="--suggest: most bytes per example a link may carry.")  # fmt: skip
@click.option("--max-flops", "max_flops", multiple=True, metavar="NODE=N",
              help="--suggest: most FLOPs per example NODE may compute, e.g. iot=2e6 "
              "(repeatable).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the cut points as JSON.")
@ALLOW_CODE_OPTION
def partition(
    model: str,
    args_text: str,
    weights: Path | None,
    topology: str | None,
    suggest: bool,
    max_link_bytes: int | None,
    max_flops: tuple[str, ...],
    as_json: bool,
) -> None:
    """List the layers MODEL can be cut after, with the bytes per example that would cross
    each cut and the FLOPs per example computed up to it.

    MODEL is an experiment config (its model and topology), a keras.applications name, a
    .keras file or a factory module:function (with --allow-code). A layer is a cut point when
    its output is the only tensor that the layers after it read from the layers before it; a
    cut inside a residual block is none. FLOPs are TensorFlow's profiler count (a multiply-add
    is 2). With --suggest, the cuts with the fewest bytes on the chain links that keep every
    link under --max-link-bytes and every --max-flops node under its limit. The input node
    (the weakest device) computes at most 15% of the FLOPs unless --max-flops names it; a
    warning names any node that computes more than half of them.

    \b
    Example:
      resilinet partition configs/byom_mobilenetv2_fashion.yaml
      resilinet partition keras.applications.MobileNetV2 --topology cnn \\
          --args '{alpha: 0.35, input_shape: [32, 32, 3], classes: 10}'
      resilinet partition configs/byom_mobilenetv2_fashion.yaml --suggest \\
          --max-link-bytes 4096 --max-flops iot=2e6 --max-flops edge=4e6

    \b
    --json prints one object: model, topology (its nodes), total_flops, cut_points (each
    with layer, shape, bytes_per_example, cumulative_flops) and, with --suggest, suggestion
    (node -> layer), max_link_bytes, max_flops (the node limits applied), default_budget
    (node, percent, max_flops; null when --max-flops names the input node), node_flops (each
    node's FLOPs per example, the output node's included) and warnings.
    """
    from resilinet_cli.models import costs
    from resilinet_cli.models.cuts import LayerGraph
    from resilinet_cli.models.keras_source import NetworkError, load_network

    if not suggest and (max_link_bytes or max_flops):
        raise click.UsageError("--max-link-bytes and --max-flops apply to --suggest")
    spec, nodes, current = network_spec(model, args_text, weights, topology)
    limits = parse_limits(max_flops, nodes)
    try:
        network = load_network(spec)
        graph = LayerGraph(network)
    except NetworkError as error:
        raise ConfigError(f"{model}: {error.message}") from None
    points = graph.cut_points()
    flops = costs.layer_flops(network)
    total = costs.total_flops(flops)
    table = costs.cut_costs(network, points, flops)
    chosen, found = current, {}
    if suggest:
        found = suggest_cuts(model, table, nodes, total, max_link_bytes, limits)
        chosen = found["suggestion"]
    if as_json:
        echo_json({
            "model": model, "topology": nodes, "total_flops": total,
            "cut_points": [vars(cost) for cost in table], **found,
        })  # fmt: skip
    else:
        echo_table(model, len(graph.calls), table, nodes, total, chosen, found)
    for warning in found.get("warnings", []):  # last, where the reader ends
        click.echo(f"warning: {warning}", err=True)


def echo_table(
    model: str,
    layers: int,
    table: list[Any],
    nodes: list[str],
    total: int,
    chosen: dict[str, str] | None,
    found: dict[str, Any],
) -> None:
    """The text report: the cut points, then the limits, cuts and node FLOPs of a suggestion."""
    from resilinet_cli.models import costs

    click.echo(
        f"{model}: {layers} layers, {len(table)} cut points, "
        f"{total:,} FLOPs per example; topology {' -> '.join(nodes)}\n"
    )
    click.echo(costs.format_table(table, total, chosen))
    if found:
        click.echo(f"\nLimits: {stated_limits(found, nodes[0])}")
    if chosen:
        label = "Suggested cuts" if found else "The config's cuts"
        click.echo(f"\n{label} (model.cut):")
        for node, layer in chosen.items():
            click.echo(f"  {node}: {layer}")
    if found:
        click.echo(f"\nFLOPs per example by node: {shares(found['node_flops'], total)}")


def suggest_cuts(
    model: str,
    table: list[Any],
    nodes: list[str],
    total: int,
    max_link_bytes: int | None,
    explicit: dict[str, int],
) -> dict[str, Any]:
    """The suggestion with what it was chosen under and what it gives each node (the JSON
    fields): the input node gets its default budget, so that fewest bytes alone cannot put the
    whole network on the weakest device."""
    from resilinet_cli.models import costs

    limits = costs.with_default_budget(explicit, nodes[0], total)
    default = None
    if nodes[0] not in explicit:
        default = {"node": nodes[0], "percent": costs.INPUT_NODE_PERCENT,
                   "max_flops": limits[nodes[0]]}  # fmt: skip
    found = {"max_link_bytes": max_link_bytes, "max_flops": limits, "default_budget": default}
    chosen = costs.suggest(table, nodes[:-1], total, max_link_bytes=max_link_bytes,
                           max_flops=limits)  # fmt: skip
    if chosen is None:
        raise ConfigError(f"{model}: no cuts fit the limits ({stated_limits(found, nodes[0])}); "
                          "relax them")  # fmt: skip
    own = costs.node_flops(table, chosen, nodes[-1], total)
    warnings = [
        f"{node} computes {100 * own[node] / total:.1f}% of the FLOPs per example, more than "
        f"half; --max-flops {node}=N limits it"
        for node in costs.crowded(own, total)
    ]
    return {"suggestion": chosen, **found, "node_flops": own, "warnings": warnings}


def stated_limits(found: dict[str, Any], input_node: str) -> str:
    """The limits a suggestion was chosen under, in words, the default budget marked."""
    parts = []
    for node, limit in found["max_flops"].items():
        part = f"{node} at most {limit:,} FLOPs"
        if node == input_node and found["default_budget"] is not None:
            percent = found["default_budget"]["percent"]
            part += f" (default: {percent}% of the total; --max-flops {node}=N sets another)"
        parts.append(part)
    if found["max_link_bytes"] is not None:
        parts.append(f"links at most {found['max_link_bytes']:,} bytes")
    return ", ".join(parts)


def shares(node_flops: dict[str, int], total: int) -> str:
    """Each node's FLOPs and share of the total, e.g. ``iot 1.2 MFLOPs (4.7%)``."""
    from resilinet_cli.models.costs import human_flops

    def share(flops: int) -> str:
        return f"{100 * flops / total:.1f}%" if total else "-"

    return ", ".join(f"{node} {human_flops(f)} ({share(f)})" for node, f in node_flops.items())


def network_spec(
    model: str, args_text: str, weights: Path | None, topology: str | None
) -> tuple[Any, list[str], dict[str, str] | None]:
    """The ModelConfig MODEL names, the topology's nodes, and the config's cuts (if any)."""
    import yaml

    from resilinet_cli.config import ModelConfig, TopologyConfig
    from resilinet_cli.config.presets import resolve
    from resilinet_cli.models.keras_family import chosen_cut

    if model.endswith((".yaml", ".yml")):
        config = load(Path(model), [], False, None)
        if config.model.name != "keras":
            raise ConfigError(f"{model}: model.name is {config.model.name}; partition reads "
                              "model.name: keras configs (or name a network directly)")  # fmt: skip
        nodes = list(config.topology.nodes)
        spec = config.model
        if weights is not None:
            spec = spec.model_copy(update={"weights": weights})
        current = chosen_cut(spec)[0] if topology is None else None
        if topology is None:
            return spec, nodes, current
    try:
        args = yaml.safe_load(args_text)
    except yaml.YAMLError as error:
        raise click.BadParameter(f"not YAML: {error}", param_hint="--args") from None
    if not isinstance(args, dict):
        raise click.BadParameter("expected a mapping, e.g. '{alpha: 0.5}'", param_hint="--args")
    section = resolve({"topology": topology or "cnn"}, "topology", Path.cwd() / "-", "--topology")
    nodes = list(TopologyConfig(**section["topology"]).nodes)
    if model.endswith((".yaml", ".yml")):
        return spec, nodes, None
    key = "path" if model.endswith(".keras") else "source"
    if key == "source" and not model.startswith("keras.applications.") and ":" not in model:
        raise click.BadParameter(
            "expected a config (.yaml), keras.applications.<Name>, a .keras file or "
            "module:function",
            param_hint="MODEL",
        )
    if key == "path" and not Path(model).is_file():
        raise click.BadParameter(f"{model}: no such file", param_hint="MODEL")
    spec = ModelConfig(name="keras", args=args, weights=weights, **{key: model})
    return spec, nodes, None


def parse_limits(texts: tuple[str, ...], nodes: list[str]) -> dict[str, int]:
    """``--max-flops iot=2e6`` as {"iot": 2000000}; a node must be one of the topology's."""
    limits = {}
    for text in texts:
        node, sep, value = text.partition("=")
        if not sep or node not in nodes:
            raise click.BadParameter(
                f"{text!r}: expected NODE=N with NODE one of {', '.join(nodes)}",
                param_hint="--max-flops",
            )
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not 0 <= number < math.inf:  # nan fails too
            message = f"{text!r}: N must be a number of FLOPs, 0 or more"
            raise click.BadParameter(message, param_hint="--max-flops")
        limits[node] = int(number)
    return limits
