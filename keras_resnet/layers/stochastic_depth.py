"""Stochastic depth (Huang et al. 2016, "Deep Networks with Stochastic Depth")."""

import keras
from keras import layers, ops

from keras_resnet.layers.common import register
from keras_resnet.utils import checks

SCALES = ("test", "train")  # where the expectation of a dropped branch is restored


@register
class StochasticDepth(layers.Layer):
    """Drop a residual branch for the whole mini-batch with probability `1 - survival_prob`.

    In training the block's output is `shortcut + branch` with probability `survival_prob` and
    `shortcut` otherwise, drawn once per mini-batch; at inference it is `shortcut + survival_prob * branch`.
    Residual blocks call `combine` with the branch as a function, so that a dropped branch is not
    computed at all (`keras.ops.cond`): that is where the paper's ~25% training-time saving comes from.
    Used as a plain layer, `layer([shortcut, residual])` applies the same rule to a computed residual.

    With `scale="train"` the expectation is kept the other way, as timm's and Model Garden's drop path
    do: a kept branch is divided by `survival_prob` in training and inference adds it unscaled, so
    weights trained that way (timm's ResNet-RS) give their outputs here.

    Args:
        survival_prob: probability in (0, 1] that the branch is kept in a training step.
        seed: optional seed for the per-batch draws.
        scale: "test" (Huang et al.: the branch times `survival_prob` at inference) or "train" (a kept
            branch over `survival_prob` in training, unscaled at inference).
    """

    def __init__(self, survival_prob, seed=None, scale="test", **kwargs):
        super().__init__(**kwargs)
        checks.check("survival_prob", survival_prob)
        checks.check_choice("scale", scale, SCALES)  # "test": Huang et al. 2016; "train": timm's drop path
        self.survival_prob = float(survival_prob)
        self.seed, self.scale = seed, scale
        self.seed_generator = keras.random.SeedGenerator(seed)

    def combine(self, shortcut, branch_fn, training=None, state=()):
        """The block output from `shortcut` and `branch_fn()`, evaluating the branch only if it is kept.

        Args:
            shortcut: the shortcut's output.
            branch_fn: computes the branch (the residual).
            training: whether this is a training step (draw) or inference (scale).
            state: the branch's non-trainable variables (BatchNormalization statistics): a dropped branch
                leaves them as they were, on every backend.
        """
        if not training:
            return shortcut + (self.survival_prob * branch_fn() if self.scale == "test" else branch_fn())
        keep = keras.random.uniform((), seed=self.seed_generator) < self.survival_prob
        kept = (
            (lambda: shortcut + branch_fn())
            if self.scale == "test"
            else (lambda: shortcut + branch_fn() / self.survival_prob)
        )
        if keras.backend.backend() != "jax":
            return ops.cond(keep, kept, lambda: shortcut)
        # Under jax.jit a variable update cannot leave a lax.cond, so JAX computes the branch and selects:
        # the result is the same, the compute saving is lost, and the statistics the branch updated are put
        # back when it was dropped.
        before = [variable.value for variable in state]
        out = ops.where(keep, kept(), shortcut)
        for variable, value in zip(state, before):
            variable.assign(ops.where(keep, variable.value, value))
        return out

    def call(self, inputs, training=None):
        shortcut, residual = inputs
        return self.combine(shortcut, lambda: residual, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "survival_prob": self.survival_prob, "seed": self.seed, "scale": self.scale}
