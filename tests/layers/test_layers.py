"""Layers: failout rates and granularity, gating, the mux rule, and serialisation."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from layer_harness import check_layer

from resilinet_cli.layers import Failout, InputMux, NodeGate


def draw_masks(layer: Failout, batch: int, calls: int) -> np.ndarray:
    alive = np.ones((batch, len(layer.survival)), "float32")
    return np.stack([keras.ops.convert_to_numpy(layer(alive, training=True)) for _ in range(calls)])


def test_failout_per_batch_switches_off_whole_nodes_at_the_configured_rate() -> None:
    layer = Failout([0.9, 0.7, 0.5], granularity="batch", seed=3)
    masks = draw_masks(layer, batch=16, calls=2000)  # [calls, batch, nodes]
    assert set(np.unique(masks)) <= {0.0, 1.0}
    # One draw per batch: every example of a call shares the same flags.
    assert (masks == masks[:, :1, :]).all()
    kept = masks[:, 0, :].mean(axis=0)
    # Binomial std at n=2000 is at most 0.0112; allow 4 sigma.
    np.testing.assert_allclose(kept, [0.9, 0.7, 0.5], atol=0.045)
    # Nodes draw independently: P(both of the first two kept) ~ 0.9 * 0.7.
    both = (masks[:, 0, 0] * masks[:, 0, 1]).mean()
    assert both == pytest.approx(0.63, abs=0.045)


def test_failout_per_example_draws_each_row() -> None:
    layer = Failout([0.8, 0.6], granularity="example", seed=5)
    masks = draw_masks(layer, batch=64, calls=100)
    assert not (masks == masks[:, :1, :]).all()
    np.testing.assert_allclose(masks.reshape(-1, 2).mean(axis=0), [0.8, 0.6], atol=0.03)


def test_failout_is_the_identity_at_inference() -> None:
    layer = Failout([0.5, 0.5], seed=1)
    alive = np.array([[1, 0], [1, 1]], "float32")
    for _ in range(20):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(alive)), alive)
        out = layer(alive, training=False)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(out), alive)


def test_failout_never_revives_a_dead_node() -> None:
    layer = Failout([1.0, 1.0], seed=1)
    alive = np.array([[1, 0]] * 4, "float32")
    out = keras.ops.convert_to_numpy(layer(alive, training=True))
    np.testing.assert_array_equal(out, alive)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"survival": [0.0]},
        {"survival": [1.5]},
        {"survival": []},
        {"survival": [0.9], "granularity": "node"},
    ],
)
def test_failout_rejects_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="Received"):
        Failout(**kwargs)


def test_node_gate_zeroes_exactly_the_dead_examples() -> None:
    x = np.arange(1, 13, dtype="float32").reshape(2, 3, 2)
    alive = np.array([[1, 0], [1, 1]], "float32")
    out = keras.ops.convert_to_numpy(NodeGate(index=1)([x, alive]))
    np.testing.assert_array_equal(out[0], 0.0)
    np.testing.assert_array_equal(out[1], x[1])


def test_mux_picks_the_skip_input_exactly_when_the_sender_is_dead() -> None:
    chain = np.full((4, 3), 2.0, "float32")
    skip = np.full((4, 3), 7.0, "float32")
    # column 0 is the chain sender; rows: alive, dead, alive, dead
    alive = np.array([[1, 1], [0, 1], [1, 0], [0, 0]], "float32")
    out = keras.ops.convert_to_numpy(InputMux(senders=[0, None])([chain, skip, alive]))
    np.testing.assert_array_equal(out[:, 0], [2.0, 7.0, 2.0, 7.0])


def test_mux_with_a_dead_skip_sender_outputs_zero() -> None:
    chain, skip = np.ones((2, 3), "float32"), np.full((2, 3), 5.0, "float32")
    alive = np.array([[0, 0], [0, 1]], "float32")
    out = keras.ops.convert_to_numpy(InputMux(senders=[0, 1])([chain, skip, alive]))
    np.testing.assert_array_equal(out, [[0, 0, 0], [5, 5, 5]])


def mux_values_and_gradients(
    mux: InputMux, xs: list[np.ndarray], alive: np.ndarray, upstream: np.ndarray, jit: bool = False
) -> list[np.ndarray]:
    """The mux's output, then the gradient of ``sum(output * upstream)`` for each input."""
    import tensorflow as tf

    @tf.function(jit_compile=jit)
    def run(xs: list, alive: tf.Tensor) -> list:
        with tf.GradientTape() as tape:
            tape.watch(xs)
            out = mux([*xs, alive])
        return [out, *tape.gradient(out, xs, output_gradients=tf.constant(upstream))]

    return [t.numpy() for t in run([tf.constant(x) for x in xs], tf.constant(alive))]


def reference_mux(senders: list, xs: list[np.ndarray], alive: np.ndarray) -> np.ndarray:
    """The rule itself, per example: the first input whose sender is alive, else zeros."""
    out = np.zeros_like(xs[0])
    for i in range(len(alive)):
        for x, sender in zip(xs, senders, strict=True):
            if sender is None or alive[i, sender] > 0:
                out[i] = x[i]
                break
    return out


@pytest.mark.parametrize("granularity", ["batch", "example"])
@pytest.mark.parametrize("senders", [[0, None], [0, 1], [2, 0, None]])
def test_mux_output_and_gradients_follow_the_picked_input(granularity, senders) -> None:
    """Per example: the picked input's values, and the upstream gradient to it alone.

    Per batch (one flag for every example, alive or dead) and per example, on a feature-map
    shape, with exact comparisons: the other inputs get a gradient of exactly zero, not None.
    """
    rng = np.random.default_rng(1)
    shape = (6, 2, 3, 4)
    xs = [rng.normal(size=shape).astype("float32") for _ in senders]
    upstream = rng.normal(size=shape).astype("float32")
    if granularity == "batch":  # every alive/dead combination of the senders, one per batch
        rows = [np.array(bits, "float32") for bits in np.ndindex(*(2,) * 3)]
        cases = [np.repeat(row[None], shape[0], axis=0) for row in rows]
    else:
        cases = [(rng.random((shape[0], 3)) < 0.5).astype("float32") for _ in range(8)]
    mux = InputMux(senders=senders)
    for alive in cases:
        out, *gradients = mux_values_and_gradients(mux, xs, alive, upstream)
        np.testing.assert_array_equal(out, reference_mux(senders, xs, alive))
        # 1 + the index of the picked input, per element; 0 where none is picked
        picked = reference_mux(senders, [np.full(shape, k + 1.0) for k in range(len(xs))], alive)
        for k, gradient in enumerate(gradients):
            assert gradient is not None
            np.testing.assert_array_equal(gradient, np.where(picked == k + 1, upstream, 0.0))


@pytest.mark.parametrize("shape", [(32, 7), (16, 3, 3, 4)])
def test_mux_is_the_broadcast_select_bit_for_bit(shape) -> None:
    """Same bits as ``keras.ops.where`` with a [batch, 1] condition, the mux's former code.

    With signed zeros, infinities and NaNs in the inputs, where any arithmetic blend of the
    inputs would differ; also under XLA.
    """
    import keras.ops as K

    rng = np.random.default_rng(2)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], "float32")
    xs = [rng.normal(size=shape).astype("float32") for _ in range(2)]
    for x in xs:
        special = rng.random(shape) < 0.3
        x[special] = rng.choice(specials, size=special.sum())
    upstream = rng.normal(size=shape).astype("float32")
    upstream[:, 1] = -0.0  # a zero gradient whose sign a blend's gradient could change
    alive = (rng.random((shape[0], 2)) < 0.5).astype("float32")
    senders = [0, 1]

    class WhereMux(InputMux):
        def call(self, inputs: list) -> object:
            *xs, alive = inputs
            out = K.zeros_like(xs[-1])
            for x, sender in reversed(list(zip(xs, self.senders, strict=True))):
                flag = K.cast(K.take(alive, sender, axis=1), x.dtype)
                flag = K.reshape(flag, (-1,) + (1,) * (len(x.shape) - 1))
                out = K.where(flag > 0, x, out)
            return out

    expected = mux_values_and_gradients(WhereMux(senders), xs, alive, upstream)
    for jit in (False, True):
        got = mux_values_and_gradients(InputMux(senders), xs, alive, upstream, jit=jit)
        for g, e in zip(got, expected, strict=True):
            assert g.tobytes() == e.tobytes()


def test_mux_zero_detection_follows_the_reference_rule() -> None:
    skip = np.full((2, 3), 5.0, "float32")
    alive = np.ones((2, 1), "float32")
    mux = InputMux(senders=[0, None], detect="zeros")
    zero_chain = np.zeros((2, 3), "float32")
    out = keras.ops.convert_to_numpy(mux([zero_chain, skip, alive]))
    np.testing.assert_array_equal(out, skip)
    chain = np.array([[0, 0, 0], [0, 1, 0]], "float32")  # not all zero across the batch
    out = keras.ops.convert_to_numpy(mux([chain, skip, alive]))
    np.testing.assert_array_equal(out, chain)


def test_layers_survive_a_safe_mode_round_trip(tmp_path: Path) -> None:
    alive = np.array([[1, 0, 1], [1, 1, 1]], "float32")
    x = np.random.default_rng(0).random((2, 5)).astype("float32")
    check_layer(
        Failout([0.9, 0.8, 0.7], granularity="example", seed=2, name="f"), [alive], tmp_path
    )
    check_layer(NodeGate(index=1, name="g"), [x, alive], tmp_path)
    check_layer(InputMux(senders=[2, None], name="m"), [x, 2 * x, alive], tmp_path)


@pytest.mark.parametrize("variant", ["vanilla", "deepfogguard", "resilinet", "resilinet_plus"])
@pytest.mark.parametrize("dead", [(), (0,), (2,)])
def test_every_weight_gets_a_gradient_in_training(quick_config, variant, dead) -> None:
    """The skip hyperconnections too, also when their sender's chain link is alive.

    A branching mux once passed the chain input alone; the skip weights then had no gradient
    at all (None), so training never changed them.
    """
    import tensorflow as tf

    from resilinet_cli.models.builder import build_from_config

    model, _ = build_from_config(quick_config, variant, input_shape=(64,), num_classes=10, seed=0)
    alive = np.ones((8, 3), "float32")
    alive[:, list(dead)] = 0.0
    features = np.random.default_rng(0).normal(size=(8, 64)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model([features, alive], training=True))
    gradients = tape.gradient(loss, model.trainable_variables)
    variables = model.trainable_variables
    assert [v.path for v, g in zip(variables, gradients, strict=True) if g is None] == []
