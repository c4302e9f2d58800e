"""Channel attention at the end of a residual branch: squeeze-and-excitation and ECA."""

from keras import layers, ops

from keras_resnet.layers.common import register


@register
class SqueezeExcite(layers.Layer):
    """Squeeze-and-excitation (Hu et al. 2018): each channel scaled by a gate computed from all channels' means.

    `x * sigmoid(fc2(relu(fc1(mean(x)))))`, with `fc1`/`fc2` 1x1 convolutions with biases (to `channels` and
    back), as timm's `SEModule`, so its weights convert as they are.

    Args:
        channels: the hidden width (see `keras_resnet.specs.se_channels`).
    """

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels

    def build(self, input_shape):
        conv = dict(kernel_size=1, use_bias=True, dtype=self.dtype_policy)
        self.fc1 = layers.Conv2D(self.channels, name="fc1", **conv)
        self.fc2 = layers.Conv2D(input_shape[-1], name="fc2", **conv)
        self.fc1.build((None, 1, 1, input_shape[-1]))
        self.fc2.build((None, 1, 1, self.channels))

    def call(self, inputs):
        squeezed = ops.mean(inputs, axis=(1, 2), keepdims=True)
        return inputs * ops.sigmoid(self.fc2(ops.relu(self.fc1(squeezed))))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


@register
class EfficientChannelAttention(layers.Layer):
    """ECA (Wang et al. 2020): an SE without the bottleneck, a 1-D convolution across the channels' means.

    `x * sigmoid(conv1d(mean(x)))`, the convolution `kernel_size` wide, with no bias, as timm's `EcaModule`.

    Args:
        kernel_size: odd, from the channel count (see `keras_resnet.specs.eca_kernel`).
    """

    def __init__(self, kernel_size, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = kernel_size

    def build(self, input_shape):
        self.conv = layers.Conv1D(
            1, self.kernel_size, padding="same", use_bias=False, dtype=self.dtype_policy, name="conv"
        )
        self.conv.build((None, input_shape[-1], 1))

    def call(self, inputs):
        means = ops.expand_dims(ops.mean(inputs, axis=(1, 2)), -1)  # (batch, channels, 1): channels as a sequence
        gate = ops.sigmoid(self.conv(means))
        return inputs * ops.reshape(gate, (-1, 1, 1, ops.shape(inputs)[-1]))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size}
