"""Training one model: the tf.data pipelines (``inputs``), their per-epoch seeds, the fit with
its best-validation weights (``fit``) and the epoch checkpoint that makes it resumable."""
