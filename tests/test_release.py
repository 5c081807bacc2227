"""A long run must not keep the models and traced training steps of finished units."""

from __future__ import annotations

import gc

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.framework import func_graph

from resilinet_cli.experiments.unit import release_models
from resilinet_cli.training.fit import train_model


def live_training_graphs() -> set[int]:
    """Ids of the traced training steps still in memory (other tests' models may hold some)."""
    return {
        id(obj)
        for obj in gc.get_objects()
        if isinstance(obj, func_graph.FuncGraph) and obj.name == "one_step_on_data"
    }


def test_release_models_frees_every_traced_training_step(tmp_path):
    release_models()
    before = live_training_graphs()
    for _ in range(2):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
        y = np.arange(32) % 3
        data = keras.utils.split_dataset((x, y), left_size=0.75)
        train = data[0].batch(8)
        train_model(
            model,
            lambda epoch, train=train: train,
            data[1].batch(8),
            epochs=1,
            seed=0,
            work_dir=tmp_path,
        )
        del model, data, train
        release_models()
    assert live_training_graphs() - before == set()


def test_training_traces_its_step_once(tmp_path, monkeypatch):
    """Metrics and optimizer slots exist before fit: the step is not traced a second time."""
    traced = []
    build_graph = func_graph.func_graph_from_py_func

    def counting(name, *args, **kwargs):
        traced.append(name)
        return build_graph(name, *args, **kwargs)

    monkeypatch.setattr(func_graph, "func_graph_from_py_func", counting)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    data = tf.data.Dataset.from_tensor_slices((np.zeros((16, 4), "float32"), np.zeros(16))).batch(8)
    train_model(model, lambda epoch: data, None, epochs=2, seed=0, work_dir=tmp_path)
    assert traced.count("one_step_on_data") == 1
    release_models()
