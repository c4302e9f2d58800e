"""Stochastic depth (Huang et al. 2016, "Deep Networks with Stochastic Depth")."""

import keras
from keras import layers, ops

from keras_resnet.layers.common import register


@register
class StochasticDepth(layers.Layer):
    """Drop a residual branch for the whole mini-batch with probability `1 - survival_prob`.

    In training the block's output is `shortcut + branch` with probability `survival_prob` and
    `shortcut` otherwise, drawn once per mini-batch; at inference it is `shortcut + survival_prob * branch`.
    Residual blocks call `combine` with the branch as a function, so that a dropped branch is not
    computed at all (`keras.ops.cond`): that is where the paper's ~25% training-time saving comes from.
    Used as a plain layer, `layer([shortcut, residual])` applies the same rule to a computed residual.

    Args:
        survival_prob: probability in (0, 1] that the branch is kept in a training step.
        seed: optional seed for the per-batch draws.
    """

    def __init__(self, survival_prob, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 < survival_prob <= 1.0:
            raise ValueError(f"survival_prob={survival_prob} must be in (0, 1].")
        self.survival_prob = float(survival_prob)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def combine(self, shortcut, branch_fn, training=None):
        """Return the block output from `shortcut` and `branch_fn()`, evaluating the branch only if kept."""
        if not training:
            return shortcut + self.survival_prob * branch_fn()
        keep = keras.random.uniform((), seed=self.seed_generator) < self.survival_prob
        if keras.backend.backend() == "jax":
            # Under jax.jit the branch's BatchNorm statistic updates cannot leave a lax.cond, so JAX
            # computes the branch and selects; the result is the same, only the saving is lost.
            return ops.where(keep, shortcut + branch_fn(), shortcut)
        return ops.cond(keep, lambda: shortcut + branch_fn(), lambda: shortcut)

    def call(self, inputs, training=None):
        shortcut, residual = inputs
        return self.combine(shortcut, lambda: residual, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "survival_prob": self.survival_prob, "seed": self.seed}
