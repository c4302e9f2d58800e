"""What the keras_resnet layers share: registration and the BatchNormalization they all build.

`BatchNormalization` runs TensorFlow's fused kernel (the one tf.keras 2 and PyTorch use).

Keras 3 normalises on every backend with separate ops: a mean, a squared difference, a variance, a
multiply and an add, and their gradients. On TensorFlow's CPU that costs 2-2.6x one fused
`FusedBatchNormV3` (forward and backward at 16x56x56x256: 102 ms against 39 ms), and a ResNet's
BatchNormalizations then take a third of its training step where timm's take a tenth.

The layer is `keras.layers.BatchNormalization` with its weights, options and arithmetic exactly; on the
TensorFlow backend it computes through the fused kernel when the input is 4-D with the channels last and
the layer uses no mask, renormalisation or synchronised statistics (each of those goes to Keras' own
code), and its moving variance is the batch's biased variance, as Keras keeps it (the fused kernel hands
back the unbiased one). It keeps Keras' class name, so weight files address it as they address Keras'
(`batch_normalization`, `batch_normalization_1`, ...), and files written with either load into the other.
JAX and PyTorch run Keras' code (XLA fuses it there; PyTorch's backend calls its own fused kernel).
"""

import keras
from keras import backend, layers, ops

from keras_resnet.specs import BN_EPSILON, BN_MOMENTUM  # noqa: F401  (the defaults of every layer's options)


def register(cls):
    """Register a class for `.keras` / get_config deserialization under the package name."""
    return keras.saving.register_keras_serializable(package="keras_resnet")(cls)


# cuDNN's smallest epsilon; TensorFlow's own wrapper raises a smaller one to it, which would change the result.
FUSED_MIN_EPSILON = 1e-5


@register
class BatchNormalization(layers.BatchNormalization):
    """`keras.layers.BatchNormalization` on TensorFlow's fused kernel where it applies (the module docstring)."""

    def _fused(self, inputs, mask):
        return (
            backend.backend() == "tensorflow"
            and mask is None
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and not self.renorm
            and not self.synchronized
            and self.epsilon >= FUSED_MIN_EPSILON
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fused(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf  # the backend has imported it already

        # As Keras, statistics and arithmetic in float32 under a 16-bit policy: the kernel takes bfloat16 images
        # and computes in float32 itself (the same results as casting first; 1.5x faster on this CPU's AVX512-BF16).
        x = inputs if backend.standardize_dtype(inputs.dtype) == "bfloat16" else ops.cast(inputs, "float32")
        channels = x.shape[-1]
        scale = ops.cast(self.gamma, "float32") if self.scale else tf.ones([channels])
        offset = ops.cast(self.beta, "float32") if self.center else tf.zeros([channels])
        moving_mean = ops.cast(self.moving_mean, "float32")
        moving_variance = ops.cast(self.moving_variance, "float32")
        training = training and self.trainable
        outputs, mean, variance = tf.raw_ops.FusedBatchNormV3(
            x=x,
            scale=scale,
            offset=offset,
            mean=tf.constant([], "float32") if training else moving_mean,
            variance=tf.constant([], "float32") if training else moving_variance,
            epsilon=self.epsilon,
            is_training=bool(training),
        )[:3]
        if training:
            count = ops.cast(ops.prod(ops.shape(x)[:-1]), "float32")
            variance = variance * (count - 1.0) / count  # the kernel's unbiased variance, back to Keras' biased one
            self.moving_mean.assign(moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return ops.cast(outputs, self.compute_dtype)


class NormOptions:
    """The BatchNormalization options a layer takes (Model Garden's norm_momentum/epsilon, use_sync_bn) and
    hands, with its dtype policy, to every sublayer it builds."""

    def _norm_options(self, bn_momentum, bn_epsilon, sync_bn):
        self.bn_momentum, self.bn_epsilon, self.sync_bn = float(bn_momentum), float(bn_epsilon), bool(sync_bn)

    def make_norm(self, name, zero=False):
        return BatchNormalization(
            momentum=self.bn_momentum,
            epsilon=self.bn_epsilon,
            synchronized=self.sync_bn,
            gamma_initializer="zeros" if zero else "ones",
            dtype=self.dtype_policy,
            name=name,
        )

    def norm_config(self):
        return {"bn_momentum": self.bn_momentum, "bn_epsilon": self.bn_epsilon, "sync_bn": self.sync_bn}
