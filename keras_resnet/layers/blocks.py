"""Residual blocks as single Keras layers: branch, shortcut and optional stochastic depth in one node.

Keeping a whole block in one layer makes a 1202-layer network a graph of ~600 nodes (it builds, saves
and loads at Python's default recursion limit), and lets a lesion study switch a branch off in place.
"""

from keras import layers, ops

from keras_resnet.layers.common import BN_EPSILON, BN_MOMENTUM, register
from keras_resnet.layers.shortcuts import IdentityShortcut, ProjectionShortcut, ZeroPadShortcut
from keras_resnet.layers.stochastic_depth import StochasticDepth

SHORTCUTS = ("A", "B", "C", "none")


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
            widening, as in keras.applications' ResNetV2), "C" projection everywhere, "none" for the
            plain (no shortcut) twin used in degradation experiments.
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
        return self.shortcut(inputs if preact is None else preact, training=training), branch

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
        groups: cardinality of the grouped 3x3 convolution.
        expansion: output channels = expansion * filters.
        (other arguments as in `ResidualBlock`)
    """

    def __init__(self, filters, stride_in="3x3", width=None, groups=1, expansion=4, **kwargs):
        if stride_in not in ("1x1", "3x3"):
            raise ValueError(f"stride_in={stride_in!r} must be '1x1' (v1) or '3x3' (v1.5 / pre-activation).")
        self.stride_in = stride_in
        self.width = width or filters
        self.groups = groups
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
