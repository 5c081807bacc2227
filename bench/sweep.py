"""The failure sweep against one clean pass, the reference method and the FLOP floor.

    python -m bench.sweep                  # Health MLP, CIFAR MobileNet and grid4, ResiliNet
    python -m bench.sweep --models health --repeats 5

For each model, with random weights (speed does not depend on training) and a synthetic test set
of the real size, it prints side by side from one run:

- T_clean: one compiled, warmed pass over the test set with every node alive;
- T_sweep: resilinet's sweep over every combination with information flow;
- T_naive: the reference method: per combination, zero the dead nodes' weights, ``predict``,
  restore the weights;
- K, the combinations with information flow, and the FLOP floor: the FLOPs of computing each
  node once per distinct input that reaches it, over the FLOPs of one clean pass.

Targets: T_sweep/T_clean <= 1.15 x floor, and T_naive/T_sweep >= 0.9 x K/floor.

Exits (``--parts exits``): ``vanilla+exits`` and ``resilinet+exits``, with a head at every
non-final node, beside ``vanilla`` and ``resilinet``, each swept as ``resilinet run`` sweeps it
(``Sweeper.table``; every combination for an exit model, the ones with flow otherwise). For
each model: T_clean, one pass with every node alive computing every output, T_sweep, and the
FLOP floor (bench/exit_plan.py for an exit model: each node and head once per distinct input,
over every node and head once). Target: T_sweep/T_clean <= 1.15 x floor. Printed beside: the
exit sweep's time and FLOPs over the plain sweep's of the same base variant.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from bench.common import CONFIGS, MODELS, Model, best_time, model_flops, peak_rss_mb, print_results
from bench.exit_plan import exit_flop_ratio, exit_plan_flops, with_exit_variants

# the real test-set sizes (Fashion-MNIST's 10 % split for grid4)
EXAMPLES = {"health": 34_000, "cifar_mobilenet": 6_000, "grid4": 7_000}
PARTS = ("plain", "exits")


def measure(case: Model, repeats: int, batch_size: int) -> dict[str, Any]:
    from resilinet_cli.config import load_config
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.sweeps.node_graph import cut_nodes
    from resilinet_cli.sweeps.plan import flop_ratio, plan_sweep
    from resilinet_cli.sweeps.sweep import SharedSweep
    from resilinet_cli.variants import topology_of

    config = load_config(CONFIGS / case.config)
    topology = topology_of(config, "resilinet")
    data, x, y = synthetic(case)
    examples = len(x)
    build = {"input_shape": case.shape, "num_classes": case.classes, "seed": 0}
    model, family = build_from_config(config, "resilinet", **build)

    failable = len(topology.failable)
    runnable = [c for c in topology.combinations() if topology.has_information_flow(c)]
    graph = cut_nodes(model, topology)
    plan = plan_sweep(topology, graph.merge, runnable)
    floor = flop_ratio(plan, topology, {n: model_flops(m) for n, m in graph.stacks.items()})

    clean = clean_pass(model, data, failable, batch_size)

    runner = SharedSweep(graph, plan)
    reference, _ = build_from_config(config, "resilinet", mux_detect="zeros", **build)
    reference.set_weights(model.get_weights())
    everyone = np.ones((examples, failable), "float32")

    def naive() -> list[int]:
        hits = []
        for combo in runnable:
            saved = {}
            for node, alive in zip(topology.failable, combo, strict=True):
                for name in family.failure_layers(node) if not alive else ():
                    layer = reference.get_layer(name)
                    saved[name] = layer.get_weights()
                    layer.set_weights([np.zeros_like(w) for w in saved[name]])
            out = reference.predict([x, everyone], batch_size=batch_size, verbose=0)
            hits.append(int((out.argmax(axis=1) == y).sum()))
            for name, weights in saved.items():
                reference.get_layer(name).set_weights(weights)
        return hits

    rss_before = peak_rss_mb()
    t_clean = best_time(clean, repeats)
    t_sweep = best_time(lambda: runner.counts(data, batch_size=batch_size), repeats)
    rss_sweep = peak_rss_mb()
    t_naive = best_time(naive, repeats)
    shared = runner.counts(data, batch_size=batch_size)
    assert [shared[c] for c in runnable] == naive(), "the sweep and the reference method differ"
    return {
        "model": case.name,
        "examples": examples,
        "k": len(runnable),
        "t_clean": t_clean,
        "t_sweep": t_sweep,
        "t_naive": t_naive,
        "flop_floor": floor,
        "t_sweep_over_clean": t_sweep / t_clean,
        "sweep_target": 1.15 * floor,
        "naive_over_sweep": t_naive / t_sweep,
        "naive_target": 0.9 * len(runnable) / floor,
        "test_set_mb": x.nbytes / 2**20,
        "peak_rss_mb_before_sweep": rss_before,
        "peak_rss_mb_after_sweep": rss_sweep,
    }


def synthetic(case: Model) -> tuple[Any, np.ndarray, np.ndarray]:
    """A random test set of the real size, unbatched, with its arrays."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    examples = EXAMPLES[case.name]
    x = rng.standard_normal((examples, *case.shape), dtype="float32")
    y = rng.integers(0, case.classes, examples)
    return tf.data.Dataset.from_tensor_slices((x, y)), x, y


def clean_pass(model: Any, data: Any, failable: int, batch_size: int) -> Callable[[], int]:
    """One compiled pass with every node alive; every output is read, so none is pruned."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def hits(xb: tf.Tensor, yb: tf.Tensor) -> tf.Tensor:
        alive = tf.ones([tf.shape(xb)[0], failable])
        labels = tf.cast(yb, tf.int64)
        outputs = tf.nest.flatten(model([xb, alive], training=False))
        right = [tf.equal(tf.argmax(out, axis=-1), labels) for out in outputs]
        return tf.add_n([tf.reduce_sum(tf.cast(r, tf.int64)) for r in right])

    return lambda: sum(int(hits(xb, yb)) for xb, yb in data.batch(batch_size).prefetch(2))


def sweep_floor(model: Any, topology: Any, sweeper: Any) -> tuple[float, float]:
    """The sweep's FLOPs per example and its FLOP floor (over one clean pass)."""
    from resilinet_cli.sweeps.node_graph import cut_nodes
    from resilinet_cli.sweeps.plan import flop_ratio, plan_sweep

    graph = cut_nodes(model, topology)
    nodes = {n: model_flops(m) for n, m in graph.stacks.items()}
    if sweeper.exits is not None:
        heads = {n: model_flops(m) for n, m in graph.exits.items()}
        plan = sweeper.exits.plan
        return exit_plan_flops(plan, topology, nodes, heads), exit_flop_ratio(
            plan, topology, nodes, heads
        )
    shared = plan_sweep(topology, graph.merge, sweeper.runnable)
    return sum(nodes[s[0]] for s in shared.nodes), flop_ratio(shared, topology, nodes)


def interleaved_best_times(runs: dict[Any, Callable[[], Any]], repeats: int) -> dict[Any, float]:
    """The fastest of ``repeats`` timed calls of each run, after one untimed warm-up each.

    The runs take turns, once each per round, so that a slow phase of the shared machine hits
    them all alike rather than whichever ran then.
    """
    for run in runs.values():
        run()
    times: dict[Any, list[float]] = {key: [] for key in runs}
    for _ in range(repeats):
        for key, run in runs.items():
            start = time.perf_counter()
            run()
            times[key].append(time.perf_counter() - start)
    return {key: min(seconds) for key, seconds in times.items()}


def measure_exits(case: Model, repeats: int, batch_size: int) -> list[dict[str, Any]]:
    """Per base variant: its plain sweep and its exit model's sweep, timed side by side."""
    from resilinet_cli.config import load_config
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.sweeps.sweep import Sweeper
    from resilinet_cli.variants import topology_of

    config = with_exit_variants(load_config(CONFIGS / case.config))
    data, x, _ = synthetic(case)
    build = {"input_shape": case.shape, "num_classes": case.classes, "seed": 0}
    failable = len(config.topology.failable)
    figures: dict[str, dict[str, Any]] = {}
    runs: dict[tuple[str, str], Callable[[], Any]] = {}
    for variant in ("vanilla", "vanilla+exits", "resilinet", "resilinet+exits"):
        topology = topology_of(config, variant)
        model, _ = build_from_config(config, variant, **build)
        sweeper = Sweeper(model, topology, guess=1 / case.classes, batch_size=batch_size)
        flops, floor = sweep_floor(model, topology, sweeper)
        swept = len(sweeper.combos) if sweeper.exits is not None else len(sweeper.runnable)
        figures[variant] = {"k": swept, "flops": flops, "floor": floor}
        runs[variant, "t_clean"] = clean_pass(model, data, failable, batch_size)
        runs[variant, "t_sweep"] = partial(sweeper.table, data, len(x))
    for (variant, figure), seconds in interleaved_best_times(runs, repeats).items():
        figures[variant][figure] = seconds
    rows = []
    for variant, f in figures.items():
        base = figures[variant.split("+")[0]]
        rows.append(
            {
                "model": case.name,
                "variant": variant,
                "examples": len(x),
                "k": f["k"],
                "t_clean": f["t_clean"],
                "t_sweep": f["t_sweep"],
                "flop_floor": f["floor"],
                "t_sweep_over_clean": f["t_sweep"] / f["t_clean"],
                "sweep_target": 1.15 * f["floor"],
                "ok": int(f["t_sweep"] / f["t_clean"] <= 1.15 * f["floor"]),
                "sweep_over_plain_sweep": f["t_sweep"] / base["t_sweep"],
                "flops_over_plain_sweep": f["flops"] / base["flops"],
            }
        )
    return rows


def print_exits(rows: list[dict[str, Any]]) -> None:
    """The exit sweep's table, each exit model under its base variant."""
    print()
    print(
        f"{'model':<16}{'variant':<17}{'K':>3}{'T_clean':>9}{'T_sweep':>9}{'floor':>7}"
        f"{'sweep/clean':>13}{'(target)':>10}{'':>5}{'time/plain':>12}{'FLOPs/plain':>13}"
    )
    for r in rows:
        print(
            f"{r['model']:<16}{r['variant']:<17}{r['k']:>3}{r['t_clean']:>8.3f}s"
            f"{r['t_sweep']:>8.3f}s{r['flop_floor']:>7.2f}{r['t_sweep_over_clean']:>13.2f}"
            f"{'<=' + format(r['sweep_target'], '.2f'):>10}{'ok' if r['ok'] else 'MISS':>5}"
            f"{r['sweep_over_plain_sweep']:>12.2f}{r['flops_over_plain_sweep']:>13.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS)
    )
    parser.add_argument("--parts", default=",".join(PARTS), help="comma-separated: plain, exits")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs each; the best counts")
    parser.add_argument("--batch-size", type=int, default=1024, help="examples per chunk")
    args = parser.parse_args()
    names, parts = args.models.split(","), args.parts.split(",")
    rows, exit_rows = [], []
    if "plain" in parts:
        rows = [measure(MODELS[name], args.repeats, args.batch_size) for name in names]
    if "exits" in parts:
        exit_rows = [
            r for name in names for r in measure_exits(MODELS[name], args.repeats, args.batch_size)
        ]
    if rows:
        print_plain(rows)
    if exit_rows:
        print_exits(exit_rows)
    print_results([*rows, *exit_rows])


def print_plain(rows: list[dict[str, Any]]) -> None:
    """The plain sweep's table."""
    print()
    print(
        f"{'model':<16}{'K':>3}{'T_clean':>9}{'T_sweep':>9}{'T_naive':>9}"
        f"{'floor':>7}{'sweep/clean':>13}{'(target)':>10}{'naive/sweep':>13}{'(target)':>10}"
        f"{'peak RSS MiB':>14}"
    )
    for r in rows:
        print(
            f"{r['model']:<16}{r['k']:>3}{r['t_clean']:>8.3f}s{r['t_sweep']:>8.3f}s"
            f"{r['t_naive']:>8.3f}s{r['flop_floor']:>7.2f}{r['t_sweep_over_clean']:>13.2f}"
            f"{'<=' + format(r['sweep_target'], '.2f'):>10}{r['naive_over_sweep']:>13.2f}"
            f"{'>=' + format(r['naive_target'], '.2f'):>10}{r['peak_rss_mb_after_sweep']:>14.0f}"
        )


if __name__ == "__main__":
    main()
