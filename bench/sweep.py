"""The failure sweep against one clean pass, the reference method and the FLOP floor.

    python -m bench.sweep                  # Health MLP and CIFAR MobileNet, ResiliNet
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
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from bench.common import CONFIGS, MODELS, Model, best_time, model_flops, peak_rss_mb, print_results

EXAMPLES = {"health": 34_000, "cifar_mobilenet": 6_000}  # the real test-set sizes


def measure(case: Model, repeats: int, batch_size: int) -> dict[str, Any]:
    import tensorflow as tf

    from resilinet_cli.config import load_config
    from resilinet_cli.models.builder import build_from_config
    from resilinet_cli.sweeps.node_graph import cut_nodes
    from resilinet_cli.sweeps.plan import flop_ratio, plan_sweep
    from resilinet_cli.sweeps.sweep import SharedSweep
    from resilinet_cli.variants import topology_of

    config = load_config(CONFIGS / case.config)
    topology = topology_of(config, "resilinet")
    rng = np.random.default_rng(0)
    examples = EXAMPLES[case.name]
    x = rng.standard_normal((examples, *case.shape), dtype="float32")
    y = rng.integers(0, case.classes, examples)
    data = tf.data.Dataset.from_tensor_slices((x, y))
    build = {"input_shape": case.shape, "num_classes": case.classes, "seed": 0}
    model, family = build_from_config(config, "resilinet", **build)

    failable = len(topology.failable)
    runnable = [c for c in topology.combinations() if topology.has_information_flow(c)]
    graph = cut_nodes(model, topology)
    plan = plan_sweep(topology, graph.merge, runnable)
    floor = flop_ratio(plan, topology, {n: model_flops(m) for n, m in graph.stacks.items()})

    @tf.function(reduce_retracing=True)
    def clean_hits(xb: tf.Tensor, yb: tf.Tensor) -> tf.Tensor:
        alive = tf.ones([tf.shape(xb)[0], failable])
        predicted = tf.argmax(model([xb, alive], training=False), axis=-1)
        return tf.reduce_sum(tf.cast(tf.equal(predicted, tf.cast(yb, tf.int64)), tf.int64))

    def clean() -> int:
        return sum(int(clean_hits(xb, yb)) for xb, yb in data.batch(batch_size).prefetch(2))

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS)
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs each; the best counts")
    parser.add_argument("--batch-size", type=int, default=1024, help="examples per chunk")
    args = parser.parse_args()
    rows = [measure(MODELS[name], args.repeats, args.batch_size) for name in args.models.split(",")]
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
    print_results(rows)


if __name__ == "__main__":
    main()
