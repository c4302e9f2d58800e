"""Shortcut connections of a residual block (He et al. 2015, sec. 3.3, options A/B/C)."""

from keras import layers, ops

from keras_resnet.layers.common import BN_EPSILON, BN_MOMENTUM, NormOptions, register


@register
class IdentityShortcut(layers.Layer):
    """The parameter-free identity shortcut, used wherever input and output shapes agree."""

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


@register
class ZeroPadShortcut(layers.Layer):
    """Option A: subsample spatially and zero-pad the new channels, adding no parameters.

    The padding is split evenly on both sides of the channel axis, as in the reference CIFAR code. With as
    many channels out as in, it is the subsampling identity of keras.applications' ResNetV2.

    Args:
        filters: number of output channels (at least the input's).
        strides: spatial subsampling factor.
    """

    def __init__(self, filters, strides=1, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.strides = strides

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels > self.filters:
            raise ValueError(
                f"ZeroPadShortcut cannot shrink {channels} channels to {self.filters}: "
                "use a ProjectionShortcut (shortcut='B' or 'C')."
            )
        extra = self.filters - channels
        self._pad = ((0, 0), (0, 0), (0, 0), (extra // 2, extra - extra // 2))

    def call(self, inputs):
        x = inputs[:, :: self.strides, :: self.strides, :]
        return ops.pad(x, self._pad)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape

        def shrink(size):
            return None if size is None else -(-size // self.strides)

        return (batch, shrink(height), shrink(width), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides}


@register
class ProjectionShortcut(NormOptions, layers.Layer):
    """Options B and C: a strided 1x1 convolution, followed by batch normalisation in v1 nets.

    Pre-activation nets (He et al. 2016) project the already normalised input and add no BN here.

    Args:
        filters: number of output channels.
        strides: spatial subsampling factor.
        batch_norm: whether a BatchNormalization follows the convolution.
        use_bias: whether the convolution has a bias (keras.applications parity).
        avg_down: average-pool (`strides` x `strides`, windows cut at the border averaging what they hold)
            and convolve at stride 1, instead of a strided 1x1 that reads one pixel in four (ResNet-D, He et
            al. 2019; timm's `avg_down`).
        bn_momentum, bn_epsilon, sync_bn: the BatchNormalization's options.
    """

    def __init__(
        self,
        filters,
        strides=1,
        batch_norm=True,
        use_bias=False,
        avg_down=False,
        bn_momentum=BN_MOMENTUM,
        bn_epsilon=BN_EPSILON,
        sync_bn=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._norm_options(bn_momentum, bn_epsilon, sync_bn)
        self.filters, self.strides, self.batch_norm, self.use_bias = filters, strides, batch_norm, use_bias
        self.avg_down = avg_down

    def build(self, input_shape):
        pooled = self.avg_down and self.strides > 1
        # "same" average pooling counts only the pixels inside the image, as torch's ceil_mode=True,
        # count_include_pad=False does: the two agree on odd sizes too.
        self.pool = (
            layers.AveragePooling2D(self.strides, self.strides, padding="same", dtype=self.dtype_policy, name="pool")
            if pooled
            else None
        )
        self.conv = layers.Conv2D(
            self.filters,
            1,
            strides=1 if pooled else self.strides,
            use_bias=self.use_bias,
            kernel_initializer="he_normal",
            dtype=self.dtype_policy,
            name="conv",
        )
        shape = self.pool.compute_output_shape(input_shape) if pooled else input_shape
        self.conv.build(shape)
        self.bn = self.make_norm("bn") if self.batch_norm else None
        if self.bn is not None:
            self.bn.build(self.conv.compute_output_shape(shape))

    def call(self, inputs, training=None):
        x = self.conv(inputs if self.pool is None else self.pool(inputs))
        return x if self.bn is None else self.bn(x, training=training)

    def compute_output_shape(self, input_shape):
        return (
            *input_shape[:1],
            *[None if s is None else -(-s // self.strides) for s in input_shape[1:3]],
            self.filters,
        )

    def get_config(self):
        return {
            **super().get_config(),
            **self.norm_config(),
            "filters": self.filters,
            "strides": self.strides,
            "batch_norm": self.batch_norm,
            "use_bias": self.use_bias,
            "avg_down": self.avg_down,
        }
