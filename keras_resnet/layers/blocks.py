"""Blocks as single Keras layers: residual blocks (branch, shortcut, stochastic depth), the highway
gate, and DenseNet's layers and transitions.

Keeping a whole block in one layer makes a 1202-layer network a graph of ~600 nodes (it builds, saves
and loads at Python's default recursion limit), and lets a lesion study switch a branch off in place.
"""

from keras import initializers, layers, ops

from keras_resnet.layers.common import BN_EPSILON, BN_MOMENTUM, register
from keras_resnet.layers.shortcuts import IdentityShortcut, ProjectionShortcut, ZeroPadShortcut
from keras_resnet.layers.stochastic_depth import StochasticDepth

SHORTCUTS = ("A", "B", "C", "highway", "none")


def check_positive_int(name, value):
    """Raise a ValueError unless `value` is a positive integer (widths, cardinalities, growth rates)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer (1, 2, 3, ...).")


def check_compression(compression):
    """Raise a ValueError unless DenseNet's compression factor theta lies in (0, 1]."""
    if isinstance(compression, bool) or not isinstance(compression, (int, float)) or not 0.0 < compression <= 1.0:
        raise ValueError(
            f"compression={compression!r} must be in (0, 1]: the fraction of channels a transition keeps "
            "(0.5 in DenseNet-BC, 1.0 for no compression)."
        )


@register
class HighwayShortcut(layers.Layer):
    """Highway networks' gated shortcut (Srivastava et al. 2015) for a residual block.

    The block outputs `T(x) * F(x) + (1 - T(x)) * carry(x)`, with the transform gate
    `T(x) = sigmoid(1x1 conv(x) + b)` (one gate per output channel and position, strided like the block)
    and the carry `x` itself, subsampled and zero-padded where the shape changes (as option A, so the gate
    is the only parameter a highway net adds to its option-A twin). `b` starts negative so that each
    block begins by mostly carrying its input, as the paper recommends ("-1, -3 etc.").

    Args:
        filters: number of output channels.
        strides: spatial subsampling factor.
        gate_bias: initial bias of the gate (T starts at sigmoid(gate_bias), 0.12 for -2).
    """

    def __init__(self, filters, strides=1, gate_bias=-2.0, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.strides = strides
        self.gate_bias = gate_bias
        self.gate_conv = layers.Conv2D(
            filters, 1, strides=strides, bias_initializer=initializers.Constant(gate_bias), name="gate"
        )

    def build(self, input_shape):
        if input_shape[-1] != self.filters or self.strides != 1:
            self.carry = ZeroPadShortcut(self.filters, self.strides, name="carry")
        else:
            self.carry = IdentityShortcut(name="carry")
        self.carry.build(input_shape)
        self.gate_conv.build(input_shape)

    def call(self, inputs):
        return self.carry(inputs)

    def gate(self, inputs):
        """The transform gate T(x) in (0, 1), shaped like the block's output."""
        return ops.sigmoid(self.gate_conv(inputs))

    def compute_output_shape(self, input_shape):
        return self.gate_conv.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides, "gate_bias": self.gate_bias}


class ResidualBlock(layers.Layer):
    """Base class of the residual blocks: `output = shortcut(x) + branch(x)`.

    Subclasses only say which convolutions make the branch (`conv_specs`). The ordering is v1
    (conv-BN-ReLU, ReLU after the addition; He et al. 2015) or pre-activation (BN-ReLU-conv, nothing
    after the addition; He et al. 2016).

    Args:
        filters: base number of filters of the block.
        strides: spatial stride of the block (2 at the first block of a downsampling stage).
        shortcut: "A" zero-padding identity where the shape changes (no parameters), "B" 1x1 projection
            where the channels change and identity elsewhere (subsampled where a block strides without
            widening, as in keras.applications' ResNetV2), "C" projection everywhere, "highway" for the
            gated shortcut of highway networks (`HighwayShortcut`), "none" for the plain (no shortcut)
            twin used in degradation experiments.
        preact: pre-activation ordering.
        survival_prob: stochastic-depth survival probability of this block (1.0 disables it).
        zero_init: start the branch at zero (last BN's gamma in v1, last conv's kernel in pre-act) so the
            block begins as the identity (Goyal et al. 2017).
        use_bias: convolutions with biases (keras.applications parity); BN follows them anyway.
        dropout: dropout rate between the branch's convolutions (wide ResNets).
        active: False removes the branch (lesion study): the block returns its shortcut only.
    """

    expansion = 1

    def __init__(
        self,
        filters,
        strides=1,
        shortcut="B",
        preact=False,
        survival_prob=1.0,
        zero_init=False,
        use_bias=False,
        dropout=0.0,
        active=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if shortcut not in SHORTCUTS:
            raise ValueError(f"shortcut={shortcut!r} is not one of {SHORTCUTS}.")
        self.filters = filters
        self.strides = strides
        self.shortcut_type = shortcut
        self.preact = preact
        self.survival_prob = survival_prob
        self.zero_init = zero_init
        self.use_bias = use_bias
        self.dropout = dropout
        self.active = active
        specs = self.conv_specs()
        self.convs, self.bns, self.pads = [], [], []
        for i, (kernel, channels, conv_strides, groups) in enumerate(specs, start=1):
            last = i == len(specs)
            zero_kernel = zero_init and preact and last
            # Strided 3x3 convolutions pad symmetrically, as the papers' Torch code and torchvision do;
            # Keras' "same" would pad only bottom/right and shift every feature map by half a pixel.
            pad = kernel // 2 if conv_strides > 1 and kernel > 1 else 0
            self.pads.append(pad)
            self.convs.append(
                layers.Conv2D(
                    channels,
                    kernel,
                    strides=conv_strides,
                    padding="valid" if pad else "same",
                    groups=groups,
                    use_bias=use_bias,
                    kernel_initializer="zeros" if zero_kernel else "he_normal",
                    name=f"conv{i}",
                )
            )
            zero_gamma = zero_init and not preact and last
            self.bns.append(
                layers.BatchNormalization(
                    epsilon=BN_EPSILON,
                    momentum=BN_MOMENTUM,
                    gamma_initializer="zeros" if zero_gamma else "ones",
                    name=f"bn{i}",
                )
            )
        self.drop = layers.Dropout(dropout, name="dropout") if dropout else None
        self.stochastic_depth = (
            StochasticDepth(survival_prob, name="stochastic_depth") if survival_prob < 1.0 else None
        )

    @property
    def output_filters(self):
        return self.filters * self.expansion

    def conv_specs(self):
        """The branch as (kernel size, output channels, strides, groups) per convolution."""
        raise NotImplementedError

    def build(self, input_shape):
        widens = input_shape[-1] != self.output_filters
        reshapes = widens or self.strides != 1
        kind = self.shortcut_type
        if kind == "none":
            self.shortcut = None
        elif kind == "highway":
            self.shortcut = HighwayShortcut(self.output_filters, self.strides, name="shortcut")
        elif kind == "C" or (kind == "B" and widens):
            # Pre-activation nets project the normalised input and need no BN of their own here.
            self.shortcut = ProjectionShortcut(
                self.output_filters, self.strides, batch_norm=not self.preact, use_bias=self.use_bias, name="shortcut"
            )
        elif reshapes:
            self.shortcut = ZeroPadShortcut(self.output_filters, self.strides, name="shortcut")
        else:
            self.shortcut = IdentityShortcut(name="shortcut")
        # A projection in a pre-activation block sees the normalised input (He et al. 2016, Fig. 4).
        self._shortcut_preact = self.preact and isinstance(self.shortcut, ProjectionShortcut)
        if self.shortcut is not None:
            self.shortcut.build(input_shape)
        # Building every sublayer from shapes here spares Keras a symbolic trace of `call` per block.
        shape = tuple(input_shape)
        for conv, bn, pad in zip(self.convs, self.bns, self.pads):
            if self.preact:
                bn.build(shape)
            if pad:
                grow = lambda size: None if size is None else size + 2 * pad  # noqa: E731
                shape = (shape[0], grow(shape[1]), grow(shape[2]), shape[3])
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            if not self.preact:
                bn.build(shape)
        super().build(input_shape)

    def _layer(self, i, x, training):
        """Convolution i of the branch with its BN (and ReLU/dropout) in this block's ordering."""
        last = i == len(self.convs) - 1
        if self.preact:
            if i > 0:
                x = ops.relu(self.bns[i](x, training=training))
                if self.drop is not None:
                    x = self.drop(x, training=training)
            return self.convs[i](self._pad(i, x))
        x = self.bns[i](self.convs[i](self._pad(i, x)), training=training)
        if last:
            return x
        x = ops.relu(x)
        return x if self.drop is None else self.drop(x, training=training)

    def _pad(self, i, x):
        p = self.pads[i]
        return ops.pad(x, ((0, 0), (p, p), (p, p), (0, 0))) if p else x

    def _preactivate(self, x, training):
        return ops.relu(self.bns[0](x, training=training))

    def parts(self, inputs, training=None):
        """The block before its addition: `(shortcut, branch_fn)`.

        `shortcut` is the shortcut's output (None in a plain net) and `branch_fn()` computes the branch,
        so that callers evaluate it only when needed. `finish(shortcut + branch_fn())` is the block's
        output; `keras_resnet.analysis` recombines the two parts to lesion a block or route gradients.
        """
        preact = self._preactivate(inputs, training) if self._shortcut_preact else None

        def branch():
            x = inputs
            if self.preact:
                x = preact if preact is not None else self._preactivate(inputs, training)
            for i in range(len(self.convs)):
                x = self._layer(i, x, training)
            return x

        if self.shortcut is None:
            return None, branch
        shortcut = self.shortcut(inputs if preact is None else preact, training=training)
        if self.shortcut_type != "highway":
            return shortcut, branch
        gate = self.shortcut.gate(inputs)
        # T*F + (1-T)*x = x + T*(F - x): the gated difference takes the residual branch's place, so
        # stochastic depth and lesions drop it exactly as they drop a residual branch.
        return shortcut, lambda: gate * (branch() - shortcut)

    def finish(self, x):
        """What follows the addition: a ReLU in v1 blocks (He et al. 2015), nothing in pre-activation ones."""
        return x if self.preact else ops.relu(x)

    def call(self, inputs, training=None):
        shortcut, branch = self.parts(inputs, training)
        if shortcut is None:
            out = branch()
        elif not self.active:
            out = shortcut
        elif self.stochastic_depth is not None:
            out = self.stochastic_depth.combine(shortcut, branch, training=training)
        else:
            out = shortcut + branch()
        return self.finish(out)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        shrink = lambda size: None if size is None else -(-size // self.strides)  # noqa: E731
        return (batch, shrink(height), shrink(width), self.output_filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "strides": self.strides,
            "shortcut": self.shortcut_type,
            "preact": self.preact,
            "survival_prob": self.survival_prob,
            "zero_init": self.zero_init,
            "use_bias": self.use_bias,
            "dropout": self.dropout,
            "active": self.active,
        }


@register
class BasicBlock(ResidualBlock):
    """Two 3x3 convolutions (ResNet-18/34 and the CIFAR ResNets)."""

    def conv_specs(self):
        return [(3, self.filters, self.strides, 1), (3, self.filters, 1, 1)]


@register
class BottleneckBlock(ResidualBlock):
    """1x1 reduce, 3x3 (optionally grouped: ResNeXt), 1x1 expand to `expansion * filters` channels.

    Args:
        stride_in: "1x1" puts the stride in the first 1x1 convolution (the paper's v1, keras.applications),
            "3x3" in the 3x3 convolution (v1.5, torchvision; always so in pre-activation nets).
        width: channels of the 1x1/3x3 convolutions (default `filters`; ResNeXt and wide nets widen it).
        groups: cardinality of the grouped 3x3 convolution; it must divide `width`.
        expansion: output channels = expansion * filters.
        (other arguments as in `ResidualBlock`)
    """

    def __init__(self, filters, stride_in="3x3", width=None, groups=1, expansion=4, **kwargs):
        if stride_in not in ("1x1", "3x3"):
            raise ValueError(f"stride_in={stride_in!r} must be '1x1' (v1) or '3x3' (v1.5 / pre-activation).")
        self.stride_in = stride_in
        self.width = width or filters
        self.groups = groups
        check_positive_int("groups", groups)
        if self.width % groups:
            valid = [c for c in range(1, self.width + 1) if self.width % c == 0]
            raise ValueError(
                f"cardinality (groups) {groups} does not divide the bottleneck width {self.width}: "
                f"use one of {valid}."
            )
        self.expansion = expansion
        super().__init__(filters, **kwargs)

    def conv_specs(self):
        s1, s3 = (self.strides, 1) if self.stride_in == "1x1" else (1, self.strides)
        return [
            (1, self.width, s1, 1),
            (3, self.width, s3, self.groups),
            (1, self.filters * self.expansion, 1, 1),
        ]

    def get_config(self):
        return {
            **super().get_config(),
            "stride_in": self.stride_in,
            "width": self.width,
            "groups": self.groups,
            "expansion": self.expansion,
        }


@register
class DenseLayer(layers.Layer):
    """One layer of a dense block (Huang et al. 2017): new features concatenated to all previous ones.

    BN-ReLU-1x1 conv to `bottleneck * growth_rate` channels, BN-ReLU-3x3 conv to `growth_rate` channels
    (DenseNet-B); with `bottleneck=0` only the BN-ReLU-3x3 conv (the original DenseNet). The output is
    the input with `growth_rate` channels appended.

    Args:
        growth_rate: channels each layer adds (k).
        bottleneck: width of the 1x1 bottleneck as a multiple of k (4 in the paper), 0 for none.
    """

    def __init__(self, growth_rate, bottleneck=4, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("growth_rate", growth_rate)
        self.growth_rate = growth_rate
        self.bottleneck = bottleneck
        specs = ([(1, bottleneck * growth_rate)] if bottleneck else []) + [(3, growth_rate)]
        self.bns = [_batch_norm(f"bn{i}") for i in range(1, len(specs) + 1)]
        self.convs = [_conv(channels, kernel, f"conv{i}") for i, (kernel, channels) in enumerate(specs, start=1)]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for bn, conv in zip(self.bns, self.convs):
            bn.build(shape)
            conv.build(shape)
            shape = conv.compute_output_shape(shape)

    def call(self, inputs, training=None):
        x = inputs
        for bn, conv in zip(self.bns, self.convs):
            x = conv(ops.relu(bn(x, training=training)))
        return ops.concatenate([inputs, x], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.growth_rate)

    def get_config(self):
        return {**super().get_config(), "growth_rate": self.growth_rate, "bottleneck": self.bottleneck}


@register
class Transition(layers.Layer):
    """DenseNet's transition between dense blocks: BN-ReLU-1x1 conv, then 2x2 average pooling, stride 2.

    The convolution keeps `floor(compression * channels)` channels (theta; 0.5 in DenseNet-BC), as
    keras.applications and torchvision do.

    Args:
        compression: fraction of the channels kept, in (0, 1].
    """

    def __init__(self, compression=0.5, **kwargs):
        super().__init__(**kwargs)
        check_compression(compression)
        self.compression = compression
        self.bn = _batch_norm("bn")
        self.pool = layers.AveragePooling2D(2, strides=2, name="pool")

    def build(self, input_shape):
        self.conv = _conv(self._kept(input_shape[-1]), 1, "conv")
        self.bn.build(input_shape)
        self.conv.build(input_shape)

    def call(self, inputs, training=None):
        return self.pool(self.conv(ops.relu(self.bn(inputs, training=training))))

    def compute_output_shape(self, input_shape):
        shape = self.pool.compute_output_shape(input_shape)
        return (*shape[:-1], self._kept(input_shape[-1]))

    def _kept(self, channels):
        return max(1, int(channels * self.compression))

    def get_config(self):
        return {**super().get_config(), "compression": self.compression}


def _batch_norm(name):
    return layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name)


def _conv(channels, kernel, name):
    return layers.Conv2D(channels, kernel, padding="same", use_bias=False, kernel_initializer="he_normal", name=name)
