"""Anti-aliased downsampling (Zhang 2019, "Making Convolutional Networks Shift-Invariant Again")."""

import numpy as np
from keras import layers, ops

from keras_resnet.layers.common import register

# The 3-tap binomial filter [1, 2, 1] / 4, applied along both axes: timm's BlurPool2d with filt_size=3.
TAPS = np.array([1.0, 2.0, 1.0]) / 4.0


@register
class BlurPool(layers.Layer):
    """Low-pass each channel with a fixed 3x3 binomial filter, then subsample: reflect padding of 1, stride 2.

    It has no weights (the filter is fixed; timm keeps it as a non-persistent buffer, out of its state
    dicts). `multiply_adds` is what `keras_resnet.flops` counts for it.

    Args:
        strides: the subsampling factor.
    """

    def __init__(self, strides=2, **kwargs):
        super().__init__(**kwargs)
        self.strides = strides

    def build(self, input_shape):
        self._filter = np.repeat(np.outer(TAPS, TAPS)[:, :, None, None], input_shape[-1], axis=2)

    def call(self, inputs):
        padded = ops.pad(inputs, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
        kernel = ops.convert_to_tensor(self._filter, dtype=inputs.dtype)
        return ops.depthwise_conv(padded, kernel, strides=self.strides, padding="valid")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape

        def shrink(size):
            return None if size is None else (size - 1) // self.strides + 1

        return (batch, shrink(height), shrink(width), channels)

    def multiply_adds(self, input_shape):
        """Multiply-adds of one image: 9 per output element."""
        _, height, width, channels = self.compute_output_shape(input_shape)
        return 9 * height * width * channels

    def get_config(self):
        return {**super().get_config(), "strides": self.strides}
