"""Blocks as single Keras layers: residual blocks (branch, shortcut, stochastic depth), the highway
gate, and DenseNet's layers and transitions.

Keeping a whole block in one layer makes a 1202-layer network a graph of ~600 nodes (it builds, saves
and loads at Python's default recursion limit), and lets a lesion study switch a branch off in place.
Every sublayer gets the block's dtype policy and BatchNormalization options; a branch's convolutions
come from `keras_resnet.specs.branch_convs`, the description plans count from too.
"""

from keras import initializers, layers, ops

from keras_resnet import specs
from keras_resnet.layers.attention import EfficientChannelAttention, SqueezeExcite
from keras_resnet.layers.blur import BlurPool
from keras_resnet.layers.common import BN_EPSILON, BN_MOMENTUM, NormOptions, register
from keras_resnet.layers.conv import Conv2D
from keras_resnet.layers.shortcuts import IdentityShortcut, ProjectionShortcut, ZeroPadShortcut
from keras_resnet.layers.stochastic_depth import StochasticDepth, stochastic_depth_path
from keras_resnet.utils import checks


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
        self.filters, self.strides, self.gate_bias = filters, strides, gate_bias

    def build(self, input_shape):
        self.gate_conv = layers.Conv2D(
            self.filters,
            1,
            strides=self.strides,
            dtype=self.dtype_policy,
            name="gate",
            bias_initializer=initializers.Constant(self.gate_bias),
        )
        if input_shape[-1] != self.filters or self.strides != 1:
            self.carry = ZeroPadShortcut(self.filters, self.strides, dtype=self.dtype_policy, name="carry")
        else:
            self.carry = IdentityShortcut(dtype=self.dtype_policy, name="carry")
        self.carry.build(input_shape)
        self.gate_conv.build(input_shape)

    def call(self, inputs):
        return self.carry(inputs)

    def gate(self, inputs):
        """The transform gate T(x) in (0, 1), shaped like the block's output."""
        return ops.sigmoid(self.gate_conv(inputs))

    def compute_output_shape(self, input_shape):
        return self.carry.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides, "gate_bias": self.gate_bias}


class ResidualBlock(NormOptions, layers.Layer):
    """Base class of the residual blocks: `output = shortcut(x) + branch(x)`.

    The ordering is v1 (conv-BN-ReLU, ReLU after the addition; He et al. 2015) or pre-activation
    (BN-ReLU-conv, nothing after the addition; He et al. 2016). Subclasses say which convolutions the
    branch has (`branch_convs`).

    Args:
        filters: base number of filters of the block.
        strides: spatial stride of the block (2 at the first block of a downsampling stage).
        shortcut: "A" zero-padding identity where the shape changes (no parameters), "B" 1x1 projection
            where the channels change and identity elsewhere (subsampled where a block strides without
            widening, as in keras.applications' ResNetV2), "C" projection everywhere, "highway" for the
            gated shortcut of highway networks (`HighwayShortcut`), "none" for the plain (no shortcut)
            twin used in degradation experiments.
        preact: pre-activation ordering.
        survival_prob: stochastic-depth survival probability p_l of this block (1.0 disables it).
        survival_scale: `StochasticDepth`'s `scale`: "test" (Huang et al.) or "train" (timm's drop path).
        survival_implementation: `StochasticDepth`'s `implementation`: "auto" (see `stochastic_depth_path`),
            "cond" (a dropped branch is not computed) or "select" (it is computed and discarded).
        zero_init: start the branch at zero (last BN's gamma in v1, last conv's kernel in pre-act) so the
            block begins as the identity (Goyal et al. 2017).
        use_bias: convolutions with biases (keras.applications parity): every one in v1 blocks (a BN follows them
            anyway), only the last in pre-activation blocks, as keras.applications' ResNetV2.
        dropout: dropout rate between the branch's convolutions (wide ResNets).
        attention: None, "se" (`SqueezeExcite` of `se_channels`) or "eca" (`EfficientChannelAttention` of
            `eca_kernel`) on the branch's output, before the addition (Hu et al. 2018, Fig. 3; timm).
        avg_down: the projection shortcut average-pools before its 1x1 (ResNet-D).
        blur: the strided convolution runs at stride 1 and a `BlurPool` follows its activation (Zhang 2019).
        active: False removes the branch (lesion study): the block returns its shortcut only.
        bn_momentum, bn_epsilon, sync_bn: every BatchNormalization's options.
    """

    expansion = 1

    def __init__(
        self,
        filters,
        strides=1,
        shortcut="B",
        preact=False,
        survival_prob=1.0,
        survival_scale="test",
        survival_implementation="auto",
        zero_init=False,
        use_bias=False,
        dropout=0.0,
        attention=None,
        se_channels=0,
        eca_kernel=0,
        avg_down=False,
        blur=False,
        active=True,
        bn_momentum=BN_MOMENTUM,
        bn_epsilon=BN_EPSILON,
        sync_bn=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # Built through keras_resnet.specs these are checked already; a block built directly is checked here,
        # by the same rules.
        checks.check_choice("shortcut", shortcut, specs.SHORTCUTS)
        checks.check_choice("attention", attention, specs.ATTENTIONS)
        if blur and preact:
            raise ValueError(
                "blur needs v1 ordering (conv-BN-ReLU): a pre-activation block has no activation after its strided "
                "convolution."
            )
        self._norm_options(bn_momentum, bn_epsilon, sync_bn)
        self.filters, self.strides, self.shortcut, self.preact = filters, strides, shortcut, preact
        self.survival_prob, self.zero_init, self.use_bias, self.dropout = survival_prob, zero_init, use_bias, dropout
        self.survival_scale = survival_scale
        stochastic_depth_path(survival_implementation)  # a bad value fails here, not at the first build
        self.survival_implementation = survival_implementation
        self.attention, self.se_channels, self.eca_kernel = attention, se_channels, eca_kernel
        self.avg_down, self.blur = avg_down, blur
        self.active = active

    @property
    def output_filters(self):
        return self.filters * self.expansion

    def branch_convs(self):
        """The branch as (kernel size, output channels, strides, groups) per convolution."""
        raise NotImplementedError

    def build(self, input_shape):
        kind = specs.shortcut_layer(self.shortcut, input_shape[-1], self.output_filters, self.strides)
        named = dict(dtype=self.dtype_policy, name="shortcut")
        self.shortcut_layer = {
            "none": lambda: None,
            "highway": lambda: HighwayShortcut(self.output_filters, self.strides, **named),
            # Pre-activation nets project the normalised input and need no BN of their own there.
            "projection": lambda: ProjectionShortcut(
                self.output_filters,
                self.strides,
                batch_norm=not self.preact,
                use_bias=self.use_bias,
                avg_down=self.avg_down,
                **self.norm_config(),
                **named,
            ),
            "zero_pad": lambda: ZeroPadShortcut(self.output_filters, self.strides, **named),
            "identity": lambda: IdentityShortcut(**named),
        }[kind]()
        if self.shortcut_layer is not None:
            self.shortcut_layer.build(input_shape)
        # A projection in a pre-activation block sees the normalised input (He et al. 2016, Fig. 4).
        self._shortcut_preact = self.preact and kind == "projection"
        convs = self.branch_convs()
        self.convs, self.norms, self.pads, self.blurs = [], [], [], []
        shape = tuple(input_shape)
        for number, (kernel, channels, strides, groups) in enumerate(convs, start=1):
            last = number == len(convs)
            blur = BlurPool(strides, dtype=self.dtype_policy, name="blur") if self.blur and strides > 1 else None
            strides = 1 if blur is not None else strides
            # Strided 3x3 convolutions pad symmetrically, as the papers' Torch code and torchvision do;
            # Keras' "same" would pad only bottom/right and shift every feature map by half a pixel.
            pad = kernel // 2 if strides > 1 and kernel > 1 else 0
            # keras_resnet's Conv2D: ResNeXt's grouped 3x3 takes the path that is fast on this device.
            conv = Conv2D(
                channels,
                kernel,
                strides=strides,
                padding="valid" if pad else "same",
                groups=groups,
                # keras.applications' ResNetV2 has biases only where no BN follows: a pre-activation block's last conv.
                use_bias=self.use_bias and (not self.preact or last),
                kernel_initializer="zeros" if self.zero_init and self.preact and last else "he_normal",
                dtype=self.dtype_policy,
                name=f"conv{number}",
            )
            norm = self.make_norm(f"bn{number}", zero=self.zero_init and not self.preact and last)
            if self.preact:
                norm.build(shape)  # BN-ReLU before the convolution
            if pad:

                def grow(size):
                    return None if size is None else size + 2 * pad

                shape = (shape[0], grow(shape[1]), grow(shape[2]), shape[3])
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            if not self.preact:
                norm.build(shape)
            if blur is not None:
                blur.build(shape)
                shape = blur.compute_output_shape(shape)
            self.convs.append(conv)
            self.norms.append(norm)
            self.pads.append(pad)
            self.blurs.append(blur)
        named = dict(dtype=self.dtype_policy, name="attention")
        self.attention_layer = {
            None: lambda: None,
            "se": lambda: SqueezeExcite(self.se_channels, **named),
            "eca": lambda: EfficientChannelAttention(self.eca_kernel, **named),
        }[self.attention]()
        if self.attention_layer is not None:
            self.attention_layer.build(shape)
        self.drop = layers.Dropout(self.dropout, dtype=self.dtype_policy, name="dropout") if self.dropout else None
        self.drop_path = (
            StochasticDepth(
                self.survival_prob,
                scale=self.survival_scale,
                implementation=self.survival_implementation,
                dtype=self.dtype_policy,
                name="stochastic_depth",
            )
            if self.survival_prob < 1.0
            else None
        )
        super().build(input_shape)

    def _conv(self, number, x):
        pad = self.pads[number]
        x = ops.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0))) if pad else x
        return self.convs[number](x)

    def _branch(self, x, training):
        """The residual branch on `x`, the block's input (or, pre-activated, its normalised input)."""
        last = len(self.convs) - 1
        for number in range(len(self.convs)):
            if self.preact:  # BN-ReLU-conv; the first BN-ReLU was applied to `x` already
                if number > 0:
                    x = ops.relu(self.norms[number](x, training=training))
                    x = self.drop(x, training=training) if self.drop is not None else x
                x = self._conv(number, x)
            else:  # conv-BN-ReLU, no ReLU after the last BN: it follows the addition
                x = self.norms[number](self._conv(number, x), training=training)
                if number < last:
                    x = ops.relu(x)
                    x = self.blurs[number](x) if self.blurs[number] is not None else x
                    x = self.drop(x, training=training) if self.drop is not None else x
        return x if self.attention_layer is None else self.attention_layer(x)

    def parts(self, inputs, training=None):
        """The block before its addition: `(shortcut, branch_fn)`.

        `shortcut` is the shortcut's output (None in a plain net) and `branch_fn()` computes the branch,
        so that callers evaluate it only when needed. `finish(shortcut + branch_fn())` is the block's
        output; `keras_resnet.research.analysis` recombines the two parts to lesion a block or route gradients.
        """

        def preactivate():
            return ops.relu(self.norms[0](inputs, training=training))

        normalised = preactivate() if self._shortcut_preact else None  # the projection reads it too

        def branch():
            if not self.preact:
                return self._branch(inputs, training)
            return self._branch(normalised if normalised is not None else preactivate(), training)

        if self.shortcut_layer is None:
            return None, branch
        shortcut = self.shortcut_layer(normalised if self._shortcut_preact else inputs, training=training)
        if self.shortcut != "highway":
            return shortcut, branch
        gate = self.shortcut_layer.gate(inputs)
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
        elif self.drop_path is not None:
            # A pre-activation block whose projection reads the normalised input runs its first BN whether
            # or not the branch is kept: only the other BNs' statistics (and the dropout's seed) belong to the
            # skipped branch.
            branch_norms = self.norms[1:] if self._shortcut_preact else self.norms
            branch_layers = [*branch_norms, *([self.drop] if self.drop is not None else [])]
            state = [v for layer in branch_layers for v in layer.non_trainable_variables]
            out = self.drop_path.combine(shortcut, branch, training=training, state=state)
        else:
            out = shortcut + branch()
        return self.finish(out)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape

        def shrink(size):
            return None if size is None else -(-size // self.strides)

        return (batch, shrink(height), shrink(width), self.output_filters)

    def get_config(self):
        return {
            **super().get_config(),
            **self.norm_config(),
            "filters": self.filters,
            "strides": self.strides,
            "shortcut": self.shortcut,
            "preact": self.preact,
            "survival_prob": self.survival_prob,
            "survival_scale": self.survival_scale,
            "survival_implementation": self.survival_implementation,
            "zero_init": self.zero_init,
            "use_bias": self.use_bias,
            "dropout": self.dropout,
            "attention": self.attention,
            "se_channels": self.se_channels,
            "eca_kernel": self.eca_kernel,
            "avg_down": self.avg_down,
            "blur": self.blur,
            "active": self.active,
        }


@register
class BasicBlock(ResidualBlock):
    """Two 3x3 convolutions (ResNet-18/34 and the CIFAR ResNets)."""

    def branch_convs(self):
        return specs.branch_convs("basic", self.filters, self.filters, 1, self.strides, "3x3")


@register
class BottleneckBlock(ResidualBlock):
    """1x1 reduce, 3x3 (optionally grouped: ResNeXt), 1x1 expand to `expansion * filters` channels.

    Args:
        width: channels of the 1x1/3x3 convolutions (default `filters`; ResNeXt and wide nets widen it).
        groups: cardinality of the grouped 3x3 convolution; it must divide `width`.
        stride_in: "1x1" puts the stride in the first 1x1 convolution (the paper's v1, keras.applications),
            "3x3" in the 3x3 convolution (v1.5, torchvision; always so in pre-activation nets).
        **kwargs: the arguments of `ResidualBlock`.
    """

    expansion = specs.EXPANSION

    def __init__(self, filters, width=None, groups=1, stride_in="3x3", **kwargs):
        super().__init__(filters, **kwargs)
        if stride_in not in ("1x1", "3x3"):
            raise ValueError(f"stride_in={stride_in!r} must be '1x1' (v1) or '3x3' (v1.5 / pre-activation).")
        self.width, self.groups, self.stride_in = width or filters, groups, stride_in
        if not isinstance(groups, int) or groups < 1 or self.width % groups:
            valid = [c for c in range(1, self.width + 1) if self.width % c == 0]
            raise ValueError(
                f"cardinality (groups) {groups} does not divide the bottleneck width {self.width}: use one of {valid}."
            )

    def branch_convs(self):
        return specs.branch_convs("bottleneck", self.filters, self.width, self.groups, self.strides, self.stride_in)

    def get_config(self):
        return {**super().get_config(), "width": self.width, "groups": self.groups, "stride_in": self.stride_in}


@register
class DenseLayer(NormOptions, layers.Layer):
    """One layer of a dense block (Huang et al. 2017): new features concatenated to all previous ones.

    BN-ReLU-1x1 conv to `bottleneck * growth_rate` channels, BN-ReLU-3x3 conv to `growth_rate` channels
    (DenseNet-B); with `bottleneck=0` only the BN-ReLU-3x3 conv (the original DenseNet). The output is
    the input with `growth_rate` channels appended.

    Args:
        growth_rate: channels each layer adds (k).
        bottleneck: width of the 1x1 bottleneck as a multiple of k (4 in the paper), 0 for none.
        bn_momentum, bn_epsilon, sync_bn: every BatchNormalization's options.
    """

    def __init__(
        self,
        growth_rate,
        bottleneck=specs.DENSE_BOTTLENECK,
        bn_momentum=BN_MOMENTUM,
        bn_epsilon=BN_EPSILON,
        sync_bn=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        checks.check("growth_rate", growth_rate)
        self._norm_options(bn_momentum, bn_epsilon, sync_bn)
        self.growth_rate, self.bottleneck = growth_rate, bottleneck

    def build(self, input_shape):
        convs = ([(1, self.bottleneck * self.growth_rate)] if self.bottleneck else []) + [(3, self.growth_rate)]
        self.norms = [self.make_norm(f"bn{number}") for number in range(1, len(convs) + 1)]
        self.convs = [
            layers.Conv2D(
                channels,
                kernel,
                padding="same",
                use_bias=False,
                kernel_initializer="he_normal",
                dtype=self.dtype_policy,
                name=f"conv{number}",
            )
            for number, (kernel, channels) in enumerate(convs, start=1)
        ]
        shape = tuple(input_shape)
        for norm, conv in zip(self.norms, self.convs):
            norm.build(shape)
            conv.build(shape)
            shape = conv.compute_output_shape(shape)

    def call(self, inputs, training=None):
        x = inputs
        for norm, conv in zip(self.norms, self.convs):
            x = conv(ops.relu(norm(x, training=training)))
        return ops.concatenate([inputs, x], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.growth_rate)

    def get_config(self):
        return {
            **super().get_config(),
            **self.norm_config(),
            "growth_rate": self.growth_rate,
            "bottleneck": self.bottleneck,
        }


@register
class Transition(NormOptions, layers.Layer):
    """DenseNet's transition between dense blocks: BN-ReLU-1x1 conv, then 2x2 average pooling, stride 2.

    The convolution keeps `floor(compression * channels)` channels (theta; 0.5 in DenseNet-BC), as
    keras.applications and torchvision do.

    Args:
        compression: fraction of the channels kept, in (0, 1].
        bn_momentum, bn_epsilon, sync_bn: the BatchNormalization's options.
    """

    def __init__(self, compression=0.5, bn_momentum=BN_MOMENTUM, bn_epsilon=BN_EPSILON, sync_bn=False, **kwargs):
        super().__init__(**kwargs)
        checks.check("compression", compression)
        self._norm_options(bn_momentum, bn_epsilon, sync_bn)
        self.compression = compression

    def build(self, input_shape):
        self.bn = self.make_norm("bn")
        self.conv = layers.Conv2D(
            self._kept(input_shape[-1]),
            1,
            padding="same",
            use_bias=False,
            kernel_initializer="he_normal",
            dtype=self.dtype_policy,
            name="conv",
        )
        self.pool = layers.AveragePooling2D(2, strides=2, dtype=self.dtype_policy, name="pool")
        self.bn.build(input_shape)
        self.conv.build(input_shape)

    def call(self, inputs, training=None):
        return self.pool(self.conv(ops.relu(self.bn(inputs, training=training))))

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape

        def half(size):
            return None if size is None else size // 2

        return (batch, half(height), half(width), self._kept(channels))

    def _kept(self, channels):
        return max(1, int(channels * self.compression))

    def get_config(self):
        return {**super().get_config(), **self.norm_config(), "compression": self.compression}
