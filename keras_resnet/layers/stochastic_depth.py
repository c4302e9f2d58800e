"""Stochastic depth (Huang et al. 2016, "Deep Networks with Stochastic Depth")."""

import keras
from keras import layers, ops

from keras_resnet.layers.common import register
from keras_resnet.utils import checks

SCALES = ("test", "train")  # where the expectation of a dropped branch is restored
IMPLEMENTATIONS = ("auto", "cond", "select")


def stochastic_depth_path(implementation="auto"):
    """How a training step treats a dropped branch: "cond" (not computed) or "select" (computed, then discarded).

    "auto" is "cond" (`keras.ops.cond`) on every backend and device but JAX on the CPU, where it is "select":
    XLA's CPU compiler runs a convolution's kernel gradient inside a conditional tens of times slower than at
    top level (jax-ml/jax#12868), which costs far more than the branches stochastic depth skips.

    Args:
        implementation: "auto", "cond" or "select".

    Returns:
        "cond" or "select".
    """
    checks.check_choice("implementation", implementation, IMPLEMENTATIONS)
    if implementation != "auto":
        return implementation
    if keras.backend.backend() != "jax":
        return "cond"
    import jax  # Keras runs on JAX, so it is installed

    return "select" if jax.default_backend() == "cpu" else "cond"


@register
class StochasticDepth(layers.Layer):
    """Drop a residual branch for the whole mini-batch with probability `1 - survival_prob`.

    In training the block's output is `shortcut + branch` with probability `survival_prob` and
    `shortcut` otherwise, drawn once per mini-batch; at inference it is `shortcut + survival_prob * branch`.
    Residual blocks call `combine` with the branch as a function, so that a dropped branch is not
    computed at all (`keras.ops.cond`): that is where the paper's ~25% training-time saving comes from.
    `stochastic_depth_path` says where that holds (everywhere but JAX on the CPU, which computes and discards).
    Used as a plain layer, `layer([shortcut, residual])` applies the same rule to a computed residual.

    With `scale="train"` the expectation is kept the other way, as timm's and Model Garden's drop path
    do: a kept branch is divided by `survival_prob` in training and inference adds it unscaled, so
    weights trained that way (timm's ResNet-RS) give their outputs here.

    Args:
        survival_prob: probability in (0, 1] that the branch is kept in a training step.
        seed: optional seed for the per-batch draws.
        scale: "test" (Huang et al.: the branch times `survival_prob` at inference) or "train" (a kept
            branch over `survival_prob` in training, unscaled at inference).
        implementation: "auto" (the default: see `stochastic_depth_path`), "cond" or "select"; the path taken
            is the layer's `resolved_implementation`.
    """

    def __init__(self, survival_prob, seed=None, scale="test", implementation="auto", **kwargs):
        super().__init__(**kwargs)
        checks.check("survival_prob", survival_prob)
        checks.check_choice("scale", scale, SCALES)  # "test": Huang et al. 2016; "train": timm's drop path
        self.survival_prob = float(survival_prob)
        self.seed, self.scale = seed, scale
        self.implementation, self.resolved_implementation = implementation, stochastic_depth_path(implementation)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def combine(self, shortcut, branch_fn, training=None, state=()):
        """The block output from `shortcut` and `branch_fn()`, evaluating the branch only if it is kept.

        Args:
            shortcut: the shortcut's output.
            branch_fn: computes the branch (the residual).
            training: whether this is a training step (draw) or inference (scale).
            state: the variables the branch updates (its BatchNormalization statistics and dropout seeds): a
                dropped branch leaves them as they were, on every backend.
        """
        if not training:
            return shortcut + (self.survival_prob * branch_fn() if self.scale == "test" else branch_fn())
        keep = keras.random.uniform((), seed=self.seed_generator) < self.survival_prob
        kept = (
            (lambda: shortcut + branch_fn())
            if self.scale == "test"
            else (lambda: shortcut + branch_fn() / self.survival_prob)
        )
        if self.resolved_implementation == "select":  # computed either way; a dropped branch's updates undone
            before = [ops.copy(variable) for variable in state]  # a copy: TF's and torch's values change in place
            out = ops.where(keep, kept(), shortcut)
            for variable, value in zip(state, before):
                variable.assign(ops.where(keep, variable.value, value))
            return out
        if keras.backend.backend() != "jax":
            return ops.cond(keep, kept, lambda: shortcut)
        import jax  # Keras runs on JAX, so it is installed

        if not isinstance(keep, jax.core.Tracer):  # an eager call: jax.lax.cond would trace and compile both sides
            return kept() if keep else shortcut
        # A value computed inside jax.lax.cond belongs to that cond's trace: left in a variable, or in the
        # StatelessScope in which Keras' jitted train step holds its variables' values, it escapes the cond. So
        # the branch's updates leave the cond as outputs, the values from before are put back once the branch is
        # traced, and the outputs are assigned after the cond. The branch reads its weights the usual way: a
        # StatelessScope of its own would hide the train step's values (stale weights, no gradients).
        before = [variable.value for variable in state]

        def run():
            out = kept()
            after = [variable.value for variable in state]
            for variable, value in zip(state, before):
                variable.assign(value)
            return out, after

        out, after = ops.cond(keep, run, lambda: (shortcut, before))
        for variable, value in zip(state, after):
            variable.assign(value)
        return out

    def call(self, inputs, training=None):
        shortcut, residual = inputs
        return self.combine(shortcut, lambda: residual, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {
            **super().get_config(),
            "survival_prob": self.survival_prob,
            "seed": self.seed,
            "scale": self.scale,
            "implementation": self.implementation,
        }
