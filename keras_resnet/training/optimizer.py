"""A recipe's optimizer in Keras (any backend): the schedule, the papers' weight decay, `compile_model`.

`keras_resnet.training.loop` (a run), `keras_resnet.tuning.tuner` (each trial) and `keras_resnet.research.analysis` (the
studies) all compile through `compile_model`, so one recipe means one optimizer everywhere. `import
keras_resnet` registers `RecipeSchedule`, so checkpoints that hold the optimizer load in a fresh process.
"""

import math

import keras

from keras_resnet.layers.common import register


@register
class RecipeSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `lr`, then steps of `gamma` at `milestones` (fractions of `total_steps`) or a cosine."""

    def __init__(self, lr, total_steps, warmup_steps=0, milestones=(), gamma=0.1, shape="step"):
        self.lr, self.total_steps, self.warmup_steps = float(lr), int(total_steps), int(warmup_steps)
        self.milestones, self.gamma, self.shape = tuple(milestones), float(gamma), shape

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        if self.shape == "cosine":
            span = max(self.total_steps - self.warmup_steps, 1)
            progress = keras.ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
            decayed = 0.5 * self.lr * (1.0 + keras.ops.cos(math.pi * progress))
        else:
            drops = sum(keras.ops.cast(step >= round(m * self.total_steps), "float32") for m in self.milestones)
            decayed = self.lr * keras.ops.power(self.gamma, drops)
        warm = self.lr * (step + 1.0) / max(self.warmup_steps, 1)
        return keras.ops.where(step < self.warmup_steps, warm, decayed)

    def get_config(self):
        return dict(
            lr=self.lr,
            total_steps=self.total_steps,
            warmup_steps=self.warmup_steps,
            milestones=self.milestones,
            gamma=self.gamma,
            shape=self.shape,
        )


def add_weight_decay(model, weight_decay):
    """Put an L2 penalty `weight_decay / 2 * sum(w**2)` on every kernel of `model` (BN and biases are free).

    The gradient gains `weight_decay * w` before momentum, which is the Torch SGD the papers used.
    Keras' `optimizer(weight_decay=...)` is decoupled (AdamW-style, bypasses momentum, scaled by the
    learning rate) and touches BN parameters too, so it is not the papers' regulariser. Set on the
    variables rather than the layers' configs, the penalty leaves saved models unchanged.

    Args:
        model: a built `keras.Model`; its trainable variables named "kernel" get the penalty (frozen
            ones do not: they do not move).
        weight_decay: the papers' weight decay (1e-4 for the CIFAR ResNets); 0 or None removes the penalty.
    """
    penalty = keras.regularizers.L2(weight_decay / 2) if weight_decay else None
    trainable = {id(variable) for variable in model.trainable_weights}
    for variable in model.weights:  # a kernel frozen since an earlier compile loses its penalty too
        if variable.name == "kernel":
            variable.regularizer = penalty if id(variable) in trainable else None


def compile_model(model, recipe, steps_per_epoch, global_batch, epochs=None, jit_compile=False):
    """Compile `model` with `recipe`'s SGD, schedule and weight decay for a classification run.

    Args:
        model: a built `keras.Model` with softmax outputs (call inside a strategy's scope when distributed).
        recipe: a `keras_resnet.training.recipes.Recipe`.
        steps_per_epoch: optimizer steps per epoch (the schedule is laid out in steps).
        global_batch: images per step over all replicas: the learning rate is `recipe.lr` scaled linearly
            from `recipe.lr_batch` (Goyal et al. 2017).
        epochs: epochs the schedule spans (default `recipe.epochs`).
        jit_compile: compile the train step with XLA (`torch.compile` on PyTorch; JAX always compiles).

    Returns:
        The `RecipeSchedule` the optimizer follows. With `recipe.one_hot` the loss expects one-hot labels
        (`keras_resnet.training.data.pipeline(..., classes=...)` gives them).
    """
    add_weight_decay(model, recipe.weight_decay)
    epochs = recipe.epochs if epochs is None else epochs
    schedule = RecipeSchedule(
        recipe.lr * global_batch / recipe.lr_batch,
        epochs * steps_per_epoch,
        round(recipe.warmup_epochs * steps_per_epoch),
        recipe.milestones,
        recipe.gamma,
        recipe.schedule,
    )
    sgd = keras.optimizers.SGD(
        schedule,
        momentum=recipe.momentum,
        nesterov=recipe.nesterov,
        use_ema=recipe.ema,
        ema_momentum=recipe.ema_momentum,
    )
    # One-hot labels where they are blended (smoothing, MixUp, CutMix): the pipeline gives what this expects.
    loss = (
        keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing)
        if recipe.one_hot
        else keras.losses.SparseCategoricalCrossentropy()
    )
    # JAX has no other way to run fast: without jit each op runs on its own (jit_compile=False means eager there).
    jit_compile = True if keras.backend.backend() == "jax" else jit_compile
    # Accuracy as a weighted metric: the same number without sample weights, and padding (weight 0, see
    # keras_resnet.training.data.Batches) left out of it under data parallelism.
    model.compile(optimizer=sgd, loss=loss, weighted_metrics=["accuracy"], jit_compile=jit_compile)
    # The optimizer's slots now, as Keras does under a tf.distribute strategy: left to the first step, they are
    # created inside its trace and tf.function traces the whole training step twice (half of ResNet-110's
    # first step on TensorFlow).
    sgd.build(model.trainable_variables)
    return schedule
