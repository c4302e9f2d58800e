"""The spec table and the resolved plan: every family and named model as data, and `resolve()`.

`FAMILIES` and `MODELS` are the table: adding a depth or a variant is a row here, never builder code.
`resolve(name_or_family, **options)` merges a row with the paper's defaults and the caller's options,
validates everything once (one sentence per bad argument) and returns a `Plan`: frozen dataclasses
holding the stem, every block (its type, channels, width, groups, stride, shortcut, survival
probability) and the head. The builders in `keras_resnet.models` iterate a plan; tuning, benchmarks,
weight conversion and `keras-resnet models` read plans instead of building models, and a plan counts
its own parameters and multiply-adds. Nothing in this module imports Keras.

    plan = keras_resnet.specs.resolve("ResNet50")
    plan.parameters()     # (25557032, 53120): trainable, non-trainable
    len(plan.blocks)      # 16
"""

import dataclasses
import difflib
import inspect
import math
import numbers

from keras_resnet import checks


@dataclasses.dataclass(frozen=True)
class Family:
    """How one family of networks is laid out.

    Attributes:
        builder: the builder in `keras_resnet.models` that turns the family into a model.
        stem: "imagenet" (7x7/2 conv + 3x3/2 max-pool) or "cifar" (one 3x3 conv).
        widths: base filters of each stage (a bottleneck block outputs `expansion` times more); empty for
            DenseNets, whose widths follow from the growth rate.
        preact: pre-activation ordering (He et al. 2016, "Identity Mappings") instead of v1.
        depths: fixed depth -> (block, blocks per stage) rows; empty where a rule gives the depth.
        blocks: the block types a rule-based family accepts, with the layers each block adds.
        offset: layers outside the blocks of a rule-based family: depth = layers * n * stages + offset
            (2 for the CIFAR ResNets: stem conv and classifier; 4 for wide ResNets and DenseNet-BC).
        defaults: option values the family's paper uses, overridable by the caller.
        input_shape / classes / min_size: the data set the family was designed for.
        paper: where the architecture comes from.
    """

    builder: str
    stem: str
    widths: tuple
    preact: bool = False
    depths: dict = dataclasses.field(default_factory=dict)
    blocks: dict = dataclasses.field(default_factory=dict)
    offset: int = 2
    defaults: dict = dataclasses.field(default_factory=dict)
    input_shape: tuple = (224, 224, 3)
    classes: int = 1000
    min_size: int = 32
    paper: str = ""


# Layers a block adds to the depth count of a rule-based (CIFAR-style) family: depth = layers * n * 3 + offset.
BLOCK_LAYERS = {"basic": 2, "bottleneck": 3}
# A DenseNet layer: BN-ReLU-3x3 conv ("basic", Huang 2017's DenseNet) or with a 1x1 bottleneck first (-B).
DENSE_LAYERS = {"basic": 1, "bottleneck": 2}

IMAGENET_DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
    200: ("bottleneck", (3, 24, 36, 3)),
}
# The data set the CIFAR families are designed for; their downsampling needs at least 4x4 pixels.
CIFAR_DATA = {"input_shape": (32, 32, 3), "classes": 10, "min_size": 4}

BOTTLENECK_DEPTHS = {depth: row for depth, row in IMAGENET_DEPTHS.items() if row[0] == "bottleneck"}

DENSENET_DEPTHS = {
    121: ("bottleneck", (6, 12, 24, 16)),
    161: ("bottleneck", (6, 12, 36, 24)),
    169: ("bottleneck", (6, 12, 32, 32)),
    201: ("bottleneck", (6, 12, 48, 32)),
    264: ("bottleneck", (6, 12, 64, 48)),
}

FAMILIES = {
    "resnet": Family(
        builder="resnet",
        stem="imagenet",
        widths=(64, 128, 256, 512),
        depths=IMAGENET_DEPTHS,
        # "v1" is He et al. 2015 as published and as keras.applications builds it (stride in the first
        # 1x1 of a bottleneck): it matches the paper's FLOPs and keras.applications' weight layout.
        # "v1.5" (torchvision, NVIDIA) moves the stride to the 3x3: same parameters, ~7% more FLOPs.
        defaults={"variant": "v1", "shortcut": "B"},
        paper="He et al. 2015, Deep Residual Learning for Image Recognition",
    ),
    "resnet_v2": Family(
        builder="resnet",
        stem="imagenet",
        widths=(64, 128, 256, 512),
        preact=True,
        depths=IMAGENET_DEPTHS,
        defaults={"shortcut": "B"},
        paper="He et al. 2016, Identity Mappings in Deep Residual Networks",
    ),
    "cifar_resnet": Family(
        builder="resnet",
        stem="cifar",
        widths=(16, 32, 64),
        blocks=BLOCK_LAYERS,
        defaults={"block": "basic", "shortcut": "A"},
        **CIFAR_DATA,
        paper="He et al. 2015, sec. 4.2 (CIFAR-10)",
    ),
    "preact_resnet": Family(
        builder="resnet",
        stem="cifar",
        widths=(16, 32, 64),
        preact=True,
        blocks=BLOCK_LAYERS,
        defaults={"block": "bottleneck", "shortcut": "B"},
        **CIFAR_DATA,
        paper="He et al. 2016, Identity Mappings in Deep Residual Networks (CIFAR)",
    ),
    # ResNeXt and wide ResNets put the stride in the 3x3 ("v1.5"), as the ResNeXt authors' code and
    # torchvision do; parameter counts do not depend on where the stride sits, FLOPs do.
    "resnext": Family(
        builder="resnet",
        stem="imagenet",
        widths=(64, 128, 256, 512),
        depths=BOTTLENECK_DEPTHS,
        defaults={"variant": "v1.5", "shortcut": "B", "cardinality": 32, "bottleneck_width": 4},
        paper="Xie et al. 2017, Aggregated Residual Transformations for Deep Neural Networks",
    ),
    "wide_resnet": Family(
        builder="resnet",
        stem="imagenet",
        widths=(64, 128, 256, 512),
        depths=BOTTLENECK_DEPTHS,
        defaults={"variant": "v1.5", "shortcut": "B", "widen": 2},
        paper="Zagoruyko & Komodakis 2016, Wide Residual Networks (ImageNet, WRN-50-2)",
    ),
    "cifar_resnext": Family(
        builder="resnet",
        stem="cifar",
        widths=(64, 128, 256),
        blocks={"bottleneck": 3},
        defaults={"block": "bottleneck", "variant": "v1.5", "shortcut": "B", "cardinality": 8, "bottleneck_width": 64},
        **CIFAR_DATA,
        paper="Xie et al. 2017, Aggregated Residual Transformations (CIFAR, ResNeXt-29)",
    ),
    # WRN-d-k: d = 6n + 4 (stem conv, classifier and the two downsampling projections are counted).
    "cifar_wide_resnet": Family(
        builder="resnet",
        stem="cifar",
        widths=(16, 32, 64),
        preact=True,
        blocks={"basic": 2},
        offset=4,
        defaults={"block": "basic", "shortcut": "B", "widen": 10},
        **CIFAR_DATA,
        paper="Zagoruyko & Komodakis 2016, Wide Residual Networks (CIFAR)",
    ),
    "densenet": Family(
        builder="densenet",
        stem="imagenet",
        widths=(),
        depths=DENSENET_DEPTHS,
        defaults={"growth_rate": 32, "compression": 0.5},
        paper="Huang et al. 2017, Densely Connected Convolutional Networks (ImageNet DenseNet-BC)",
    ),
    # DenseNet-BC L: L = 6n + 4 (stem conv, two transitions, classifier); plain DenseNet L = 3n + 4.
    "cifar_densenet": Family(
        builder="densenet",
        stem="cifar",
        widths=(),
        blocks=DENSE_LAYERS,
        offset=4,
        defaults={"block": "bottleneck", "growth_rate": 12, "compression": 0.5},
        **CIFAR_DATA,
        paper="Huang et al. 2017, Densely Connected Convolutional Networks (CIFAR)",
    ),
}

# Public model name -> (family, options). Each row becomes a function `keras_resnet.<name>`.
MODELS = {
    **{f"ResNet{d}": ("resnet", {"depth": d}) for d in IMAGENET_DEPTHS},
    **{f"ResNet{d}V2": ("resnet_v2", {"depth": d}) for d in IMAGENET_DEPTHS},
    **{f"ResNet{d}": ("cifar_resnet", {"depth": d}) for d in (20, 32, 44, 56, 110, 1202)},
    "PreActResNet110": ("preact_resnet", {"depth": 110, "block": "basic"}),
    "PreActResNet164": ("preact_resnet", {"depth": 164}),
    "PreActResNet1001": ("preact_resnet", {"depth": 1001}),
    # Plain twins for the degradation experiment: the same layers with no shortcut addition.
    **{f"PlainNet{d}": ("resnet", {"depth": d, "shortcut": "none"}) for d in (18, 34)},
    **{f"PlainNet{d}": ("cifar_resnet", {"depth": d, "shortcut": "none"}) for d in (20, 32, 44, 56, 110)},
    # ResNeXt{depth}_{cardinality}x{bottleneck_width}d and WideResNet{depth}_{widen}, as the papers name them.
    **{f"ResNeXt{d}_{c}x{w}d": ("resnext", {"depth": d, "cardinality": c, "bottleneck_width": w})
       for d, c, w in ((50, 32, 4), (101, 32, 8), (101, 64, 4))},  # fmt: skip
    **{f"ResNeXt29_{c}x64d": ("cifar_resnext", {"depth": 29, "cardinality": c, "bottleneck_width": 64}) for c in (8, 16)},
    **{f"WideResNet{d}_2": ("wide_resnet", {"depth": d, "widen": 2}) for d in (50, 101)},
    **{f"WideResNet{d}_{k}": ("cifar_wide_resnet", {"depth": d, "widen": k}) for d, k in ((16, 8), (28, 10), (40, 4))},
    **{f"DenseNet{d}": ("densenet", {"depth": d, "growth_rate": 48 if d == 161 else 32}) for d in DENSENET_DEPTHS},
    **{f"DenseNetBC{d}": ("cifar_densenet", {"depth": d, "growth_rate": k}) for d, k in ((100, 12), (250, 24), (190, 40))},
}



# ------------------------------------------------------------------------------------------- options

# Every option a model function takes besides the keras.applications signature, documented once (model
# functions and docs/api.md read these). Which family takes which follows from the keyword-only
# parameters of `_resnet_blocks` and `_densenet_blocks`, plus `COMMON` for every family.
OPTIONS = {
    "block": '"basic" or "bottleneck" (rule-based CIFAR families; a table row fixes its own)',
    "variant": '"v1" (stride in the first 1x1, the paper, keras.applications) or "v1.5" (stride in the 3x3, torchvision; ResNet-B)',
    "shortcut": '"A" zero-padding identity, "B" projection where the shape changes, "C" projection everywhere, '
    '"highway" gated (Srivastava et al. 2015), "none" the plain twin',
    "cardinality": "groups C of the bottleneck's 3x3 convolution (ResNeXt)",
    "bottleneck_width": "channels d per group in the first stage (ResNeXt's 32x4d: C=32, d=4), doubling per stage",
    "widen": "widening factor k of wide ResNets",
    "stochastic_depth": "survival probability p_L of the last block (Huang et al. 2016), decaying linearly from 1; None: off",
    "zero_init_residual": "start each residual branch at zero (Goyal et al. 2017; default True for residual nets)",
    "use_bias": "convolutions with biases (keras.applications' parameter counts)",
    "dropout": "dropout rate between a block's convolutions (wide ResNets)",
    "stride_position": '"first" block of a stage strides (the papers) or the "last" (keras.applications ResNetV2)',
    "growth_rate": "channels k each dense layer adds (DenseNet)",
    "compression": "fraction theta of the channels a transition keeps, in (0, 1] (DenseNet-BC: 0.5)",
    "preprocessing": '{"mean": ..., "std": ...}: normalise raw pixels inside the model (its first layer); None: none',
    "dtype": 'Keras dtype policy of every layer, e.g. "mixed_bfloat16" (the classifier then computes in float32)',
    "bn_momentum": "BatchNormalization momentum (0.9, the papers' Torch code)",
    "bn_epsilon": "BatchNormalization epsilon (1.001e-5, keras.applications')",
    "sync_bn": "BatchNormalization statistics over all replicas (synchronised)",
}
COMMON = ("preprocessing", "dtype", "bn_momentum", "bn_epsilon", "sync_bn")
# keras.applications' BatchNormalization epsilon, so converted weights reproduce its outputs; momentum 0.9 as
# in the papers' Torch code (Keras' default 0.99 lags badly in short runs).
BN_EPSILON, BN_MOMENTUM = 1.001e-5, 0.9
SHORTCUTS = ("A", "B", "C", "highway", "none")
VARIANTS = {"v1": "1x1", "v1.5": "3x3"}  # where a v1 bottleneck strides
POOLINGS = (None, "avg", "max")
DTYPES = (None, "float16", "bfloat16", "float32", "float64", "mixed_float16", "mixed_bfloat16")
# Width of the 1x1 bottleneck in a DenseNet-B layer, as a multiple of the growth rate (Huang 2017, sec. 3).
DENSE_BOTTLENECK = 4
EXPANSION = 4  # a bottleneck block outputs 4x its base width


# ---------------------------------------------------------------------------------------------- plans


@dataclasses.dataclass(frozen=True)
class Stem:
    """The layers before the first block: "imagenet" (7x7/2 conv, 3x3/2 max-pool) or "cifar" (one 3x3 conv),
    `filters` wide, with its own BN-ReLU unless the first block normalises it (`normalize=False`)."""

    kind: str
    filters: int
    normalize: bool = True
    use_bias: bool = False


@dataclasses.dataclass(frozen=True)
class Block:
    """One block of a plan: a residual block ("basic", "bottleneck"), a dense layer or a transition.

    Attributes:
        name: the layer name, keras.applications-style position (`stage2_block1`, `stage1_transition`).
        kind: "basic", "bottleneck", "dense" or "transition".
        stage, index: position (stages and blocks counted from 1).
        in_channels, out_channels: channels the block reads and writes.
        strides: spatial stride of the block.
        filters: base width (a bottleneck outputs `EXPANSION * filters`; a dense layer adds `filters`).
        width: channels of a bottleneck's 1x1/3x3 convolutions (C x d x 2^(stage-1) x k), else `filters`.
        groups: groups of the 3x3 convolution (ResNeXt's cardinality).
        stride_in: "1x1" or "3x3", the bottleneck convolution that strides.
        shortcut: the shortcut option ("A", "B", "C", "highway", "none"); `shortcut_layer` what it becomes here.
        preact: pre-activation ordering (He et al. 2016).
        survival_prob: stochastic-depth survival probability p_l of this block (1.0: never dropped).
        zero_init: the branch starts at zero.
        use_bias, dropout: as the options.
        bottleneck: a dense layer's 1x1 width as a multiple of its growth rate (0: none).
        compression: the fraction of channels a transition keeps.
    """

    name: str
    kind: str
    stage: int
    index: int
    in_channels: int
    out_channels: int
    strides: int = 1
    filters: int = 0
    width: int = 0
    groups: int = 1
    stride_in: str = "3x3"
    shortcut: str = "B"
    preact: bool = False
    survival_prob: float = 1.0
    zero_init: bool = False
    use_bias: bool = False
    dropout: float = 0.0
    bottleneck: int = 0
    compression: float = 0.0

    @property
    def residual(self):
        return self.kind in ("basic", "bottleneck")

    @property
    def shortcut_layer(self):
        return shortcut_layer(self.shortcut, self.in_channels, self.out_channels, self.strides)

    @property
    def convs(self):
        """The branch's convolutions as (kernel, output channels, strides, groups), in order."""
        if self.kind == "dense":
            return ([(1, self.bottleneck * self.filters, 1, 1)] if self.bottleneck else []) + [(3, self.filters, 1, 1)]
        if self.kind == "transition":
            return [(1, self.out_channels, 1, 1)]
        return branch_convs(self.kind, self.filters, self.width, self.groups, self.strides, self.stride_in)

    def layer_config(self):
        """The keyword arguments of this block's layer in `keras_resnet.layers`."""
        if self.kind == "dense":
            return dict(growth_rate=self.filters, bottleneck=self.bottleneck)
        if self.kind == "transition":
            return dict(compression=self.compression)
        config = dict(filters=self.filters, strides=self.strides, shortcut=self.shortcut, preact=self.preact,
                      survival_prob=self.survival_prob, zero_init=self.zero_init, use_bias=self.use_bias,
                      dropout=self.dropout)  # fmt: skip
        if self.kind == "bottleneck":
            config.update(width=self.width, groups=self.groups, stride_in=self.stride_in)
        return config


def branch_convs(kind, filters, width, groups, strides, stride_in):
    """A residual branch's convolutions, in order: the one description the block layers build from and
    plans count from.

    Args:
        kind: "basic" (two 3x3) or "bottleneck" (1x1, 3x3, 1x1 to `EXPANSION * filters`).
        filters: the block's base width.
        width: a bottleneck's 1x1/3x3 width.
        groups: groups of the 3x3 convolution.
        strides: the block's stride.
        stride_in: "1x1" or "3x3", the bottleneck convolution that strides.

    Returns:
        A list of (kernel size, output channels, strides, groups).
    """
    if kind == "basic":
        return [(3, filters, strides, 1), (3, filters, 1, 1)]
    s1, s3 = (strides, 1) if stride_in == "1x1" else (1, strides)
    return [(1, width, s1, 1), (3, width, s3, groups), (1, EXPANSION * filters, 1, 1)]


def shortcut_layer(shortcut, in_channels, out_channels, strides):
    """What a block's shortcut is, from its option and its shapes.

    Args:
        shortcut: the option, "A", "B", "C", "highway" or "none".
        in_channels, out_channels: the block's input and output channels.
        strides: the block's stride.

    Returns:
        "none", "highway", "projection" (1x1 conv), "zero_pad" (option A, also a subsampling identity)
        or "identity".
    """
    widens = in_channels != out_channels
    if shortcut in ("none", "highway"):
        return shortcut
    if shortcut == "C" or (shortcut == "B" and widens):
        return "projection"
    return "zero_pad" if widens or strides != 1 else "identity"


@dataclasses.dataclass(frozen=True)
class Plan:
    """A whole network, resolved: what `keras_resnet.models.build_model` builds, layer by layer.

    Attributes:
        name, family, depth, paper: what it is.
        input_shape, classes, include_top, pooling, classifier_activation: the keras.applications signature.
        stem, blocks: the layers in order; `post_norm` a final BN-ReLU (pre-activation nets, DenseNets).
        preprocessing, dtype, bn_momentum, bn_epsilon, sync_bn: as the options of the same names.
        options: every option's resolved value (the family's defaults, the row's and the caller's).
    """

    name: str
    family: str
    depth: int
    paper: str
    input_shape: tuple
    classes: int
    include_top: bool
    pooling: object
    classifier_activation: object
    stem: Stem
    blocks: tuple
    post_norm: bool
    preprocessing: object = None
    dtype: object = None
    bn_momentum: float = BN_MOMENTUM
    bn_epsilon: float = BN_EPSILON
    sync_bn: bool = False
    options: dict = dataclasses.field(default_factory=dict, compare=False)

    @property
    def stages(self):
        """The blocks grouped by stage, in order."""
        found = {}
        for block in self.blocks:
            found.setdefault(block.stage, []).append(block)
        return tuple(tuple(blocks) for blocks in found.values())

    @property
    def residual_blocks(self):
        return tuple(block for block in self.blocks if block.residual)

    @property
    def out_channels(self):
        return self.blocks[-1].out_channels

    def parameters(self):
        """(trainable, non-trainable) parameter counts, as `keras.Model.count_params` splits them."""
        return tuple(sum(part) for part in zip(*(counts for counts, _ in self._layers(None))))

    def flops(self):
        """Multiply-adds of one forward pass of one image (convolutions and the classifier), as `keras_resnet.flops`.

        Raises:
            ValueError: the input size is not fixed.
        """
        if None in self.input_shape[:2]:
            raise ValueError(f"flops need a fixed input size, but {self.name} takes {self.input_shape}: give input_shape=(height, width, channels).")
        return sum(macs for _, macs in self._layers(self.input_shape[:2]))

    def _layers(self, size):
        """((trainable, non-trainable), multiply-adds) of each weighted layer, tracking the spatial size."""
        conv = lambda cin, cout, k, groups=1, bias=False: (k * k * cin // groups * cout + (cout if bias else 0), 0)  # noqa: E731
        bn = lambda c: (2 * c, 2 * c)  # noqa: E731
        grow = lambda size, k, s, pad: None if size is None else tuple((x + 2 * pad - k) // s + 1 for x in size)  # noqa: E731
        area = lambda size: 0 if size is None else math.prod(size)  # noqa: E731
        stem, channels = self.stem, self.input_shape[-1]
        if stem.kind == "imagenet":
            size = grow(size, 7, 2, 3)
            yield conv(channels, stem.filters, 7, bias=stem.use_bias), area(size) * 49 * channels * stem.filters
        else:
            yield conv(channels, stem.filters, 3, bias=stem.use_bias), area(size) * 9 * channels * stem.filters
        if stem.normalize:
            yield bn(stem.filters), 0
        if stem.kind == "imagenet":
            size = grow(size, 3, 2, 1)
        for block in self.blocks:
            cin = block.in_channels
            if block.kind in ("dense", "transition"):
                for kernel, cout, _, _ in block.convs:
                    yield bn(cin), 0
                    yield conv(cin, cout, kernel), area(size) * kernel * kernel * cin * cout
                    cin = cout
                if block.kind == "transition":
                    size = grow(size, 2, 2, 0)
                continue
            inside = size
            if block.preact:
                yield bn(cin), 0
            for number, (kernel, cout, strides, groups) in enumerate(block.convs, start=1):
                inside = grow(inside, kernel, strides, kernel // 2) if inside is not None else None
                yield conv(cin, cout, kernel, groups, block.use_bias), area(inside) * kernel * kernel * cin // groups * cout
                if not block.preact or number < len(block.convs):
                    yield bn(cout), 0
                cin = cout
            out = grow(size, 1, block.strides, 0)
            kind = block.shortcut_layer
            if kind in ("projection", "highway"):
                yield conv(block.in_channels, block.out_channels, 1, bias=block.use_bias or kind == "highway"), (
                    area(out) * block.in_channels * block.out_channels)
                if kind == "projection" and not block.preact:
                    yield bn(block.out_channels), 0
            size = out
        if self.post_norm:
            yield bn(self.out_channels), 0
        if self.include_top:
            yield (self.out_channels * self.classes + self.classes, 0), self.out_channels * self.classes


# ------------------------------------------------------------------------------------------- resolve


def resolve(name, /, **kwargs):
    """The `Plan` of a model by name ("ResNet56") or by family and depth ("cifar_resnet", depth=272).

    Every argument is checked here, once, before any layer exists: a bad one is a ValueError whose one
    sentence names it and says what is valid; an option the family does not have is a TypeError that
    lists the ones it has.

    Args:
        name: a name from `MODELS` or a family from `FAMILIES`.
        **kwargs: `depth` (families only), the keras.applications arguments `include_top`, `input_shape`,
            `pooling`, `classes`, `classifier_activation`, `name`, and the family's options (`OPTIONS`).

    Returns:
        A `Plan`.
    """
    if name in MODELS:
        family_name, row = MODELS[name]
        if "depth" in kwargs and kwargs["depth"] != row["depth"]:
            raise ValueError(
                f"{name} has depth {row['depth']}; to change the depth use build({family_name!r}, depth={kwargs['depth']})."
            )
        kwargs = {**row, "name": name, **{k: v for k, v in kwargs.items() if not (k == "name" and v is None)}}
    elif name in FAMILIES:
        family_name = name
        if "depth" not in kwargs:
            raise ValueError(f"build({name!r}) needs depth=..., e.g. build({name!r}, depth=56).")
    else:
        raise unknown_name(name, sorted(MODELS) + sorted(FAMILIES))
    family = FAMILIES[family_name]
    depth = kwargs.pop("depth")
    signature = {key: kwargs.pop(key) for key in SIGNATURE if key in kwargs}
    resolver = RESOLVERS[family.builder]
    allowed = family_options(family_name)
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise TypeError(
            f"{signature.get('name') or family_name} got unknown option(s) {', '.join(map(repr, unknown))}: its options "
            f"are {', '.join(allowed)} and the keras.applications arguments {', '.join(SIGNATURE)}."
        )
    common = {key: kwargs.pop(key) for key in COMMON if key in kwargs}
    options = {**family.defaults, **{key: value for key, value in kwargs.items() if value is not None}}
    shape, classes = _check_signature(family_name, family, signature)
    common = _check_common(common, shape)
    stem, blocks, post_norm, resolved = resolver(family_name, family, depth, shape[-1], **options)
    return Plan(
        name=signature.get("name") or f"{family_name}{depth}",
        family=family_name,
        depth=depth,
        paper=family.paper,
        input_shape=shape,
        classes=classes,
        include_top=signature.get("include_top", True),
        pooling=signature.get("pooling"),
        classifier_activation=signature.get("classifier_activation", "softmax"),
        stem=stem,
        blocks=blocks,
        post_norm=post_norm,
        options={**resolved, **common},
        **common,
    )


SIGNATURE = ("include_top", "input_shape", "pooling", "classes", "classifier_activation", "name")


def family_options(family_name):
    """The option names `resolve` accepts for a family, in documentation order.

    Args:
        family_name: a key of `FAMILIES`.

    Returns:
        A tuple of names of `OPTIONS`: the family's builder's own, then `COMMON`.
    """
    resolver = RESOLVERS[FAMILIES[family_name].builder]
    own = [p.name for p in inspect.signature(resolver).parameters.values() if p.kind is p.KEYWORD_ONLY]
    return (*own, *COMMON)


def _check_int(option, value, low=1):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{option}={value!r} must be a positive integer (1, 2, 3, ...).")
    return int(value)


def _check_choice(option, value, choices):
    if value not in choices:
        raise ValueError(f"{option}={value!r} is not one of {tuple(choices)}.")
    return value


def _check_fraction(option, value, low, high, closed_low, closed_high, meaning):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value >= low if closed_low else value > low) and (value <= high if closed_high else value < high)
    if not ok:
        left, right = "[" if closed_low else "(", "]" if closed_high else ")"
        raise ValueError(f"{option}={value!r} must be in {left}{low:g}, {high:g}{right}: {meaning}")
    return float(value)


def _check_signature(family_name, family, signature):
    """Validate the keras.applications arguments; return the input shape and the number of classes."""
    pooling = signature.get("pooling")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r} must be None, 'avg' or 'max'.")
    classes = signature.get("classes")
    classes = family.classes if classes is None else classes
    # Checked with or without the top (keras.applications ignores it without): a wrong value is a mistake.
    if not isinstance(classes, numbers.Integral) or isinstance(classes, bool) or classes < 1:
        raise ValueError(f"classes={classes!r} must be a positive integer.")
    shape = signature.get("input_shape")
    shape = family.input_shape if shape is None else shape
    if not isinstance(shape, (tuple, list)) or len(shape) != 3:
        raise ValueError(f"input_shape={shape!r} must be (height, width, channels), e.g. {family.input_shape}.")
    height, width, channels = shape
    if not isinstance(channels, numbers.Integral) or channels < 1:
        raise ValueError(f"input_shape={tuple(shape)} has no channels: the last entry must be the channel count.")
    if height in (1, 3) and channels not in (1, 3, 4):
        raise ValueError(
            f"input_shape={tuple(shape)} looks channels-first: keras_resnet is channels-last, pass ({width}, {channels}, {height})."
        )
    for size in (height, width):
        if size is not None and (not isinstance(size, numbers.Integral) or size < family.min_size):
            raise ValueError(
                f"input_shape={tuple(shape)} is too small for {family_name}: its stem and downsampling stages need at "
                f"least {family.min_size}x{family.min_size} pixels."
            )
    return tuple(shape), int(classes)


def _check_common(common, shape):
    preprocessing = common.get("preprocessing")
    if preprocessing is not None:
        if not isinstance(preprocessing, dict) or set(preprocessing) != {"mean", "std"}:
            raise ValueError(f"preprocessing={preprocessing!r} must be None or {{'mean': ..., 'std': ...}} (per channel).")
        values = {}
        for key, value in preprocessing.items():
            flat = list(value) if isinstance(value, (list, tuple)) or hasattr(value, "tolist") else [value]
            flat = [float(v) for v in (value.tolist() if hasattr(value, "tolist") else flat)] if flat else flat
            if len(flat) not in (1, shape[-1]) or not all(math.isfinite(v) for v in flat) or (key == "std" and min(flat) <= 0):
                raise ValueError(
                    f"preprocessing {key}={flat} must be one finite number or one per channel ({shape[-1]})"
                    + (", all above 0." if key == "std" else ".")
                )
            values[key] = flat * (shape[-1] if len(flat) == 1 else 1)
        common["preprocessing"] = values
    _check_choice("dtype", common.get("dtype"), DTYPES)
    if "bn_momentum" in common:
        _check_fraction("bn_momentum", common["bn_momentum"], 0, 1, True, False, "the moving statistics' decay")
    if "bn_epsilon" in common:
        checks.check("bn_epsilon", common["bn_epsilon"])
    if "sync_bn" in common and not isinstance(common["sync_bn"], bool):
        raise ValueError(f"sync_bn={common['sync_bn']!r} must be True or False.")
    return common


def _stage_counts(family_name, family, depth, block):
    """(block type, blocks per stage) from the family's table row or its depth rule."""
    if family.depths:
        if depth not in family.depths:
            raise ValueError(
                f"depth={depth!r} is not valid for {family_name}: valid depths are "
                f"{', '.join(map(str, sorted(family.depths)))} (the published stage layouts)."
            )
        block_type, counts = family.depths[depth]
        if block not in (None, block_type):  # a published layout fixes its block: never ignore the request
            raise ValueError(
                f"block={block!r} does not fit {family_name}{depth}, which uses {block_type} blocks (its published "
                f"layout): leave block out, or pick a depth of {family_name} built of {block} blocks."
            )
        return block_type, counts
    if block not in family.blocks:
        raise ValueError(f"block={block!r} is not valid for {family_name}: use one of {sorted(family.blocks)}.")
    stages = 3
    step, offset = family.blocks[block] * stages, family.offset
    if not isinstance(depth, numbers.Integral) or isinstance(depth, bool) or depth < step + offset or (depth - offset) % step:
        n = max(1, (depth - offset) // step) if isinstance(depth, numbers.Integral) else 1
        raise ValueError(
            f"depth={depth!r} is not valid for {family_name} with {block} blocks: depth must be {step}n+{offset} "
            f"with n >= 1 (nearest valid: {step * n + offset}, {step * (n + 1) + offset})."
        )
    return block, ((depth - offset) // step,) * stages


def survival_probs(num_blocks, stochastic_depth):
    """Huang et al.'s linear decay of the survival probability over the blocks.

    Args:
        num_blocks: L, the number of residual blocks.
        stochastic_depth: p_L, the last block's survival probability, or None (disabled).

    Returns:
        A list of p_l = 1 - l/L (1 - p_L) for l = 1..L (all 1.0 when disabled).
    """
    if stochastic_depth is None:
        return [1.0] * num_blocks
    _check_fraction("stochastic_depth", stochastic_depth, 0, 1, False, True,
                    "the last block's survival probability p_L (0.5 in Huang et al. 2016), or None to disable it.")  # fmt: skip
    return [1.0 - (l / num_blocks) * (1.0 - stochastic_depth) for l in range(1, num_blocks + 1)]


def _resnet_blocks(
    family_name, family, depth, in_channels, *, block=None, variant="v1", shortcut="B", cardinality=1,
    bottleneck_width=None, widen=1, stochastic_depth=None, zero_init_residual=None, use_bias=False, dropout=0.0,
    stride_position="first",
):
    block_type, counts = _stage_counts(family_name, family, depth, block)
    cardinality, widen = _check_int("cardinality", cardinality), _check_int("widen", widen)
    if bottleneck_width is not None:
        bottleneck_width = _check_int("bottleneck_width", bottleneck_width)
    if block_type == "basic" and (cardinality != 1 or bottleneck_width is not None):
        raise ValueError(
            f"cardinality and bottleneck_width need bottleneck blocks, but {family_name}{depth} uses basic "
            "blocks: pick a bottleneck depth (e.g. 50) or block='bottleneck'."
        )
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} must be 'v1' (stride in the first 1x1) or 'v1.5' (stride in the 3x3).")
    _check_choice("shortcut", shortcut, SHORTCUTS)
    plain, gated = shortcut == "none", shortcut == "highway"
    if plain and stochastic_depth is not None:
        raise ValueError("stochastic_depth needs shortcuts: a plain net (shortcut='none') has no block to skip.")
    if plain and zero_init_residual:
        raise ValueError("zero_init_residual needs shortcuts: a plain net with zeroed branches outputs zeros.")
    zero_init = not (plain or gated) if zero_init_residual is None else bool(zero_init_residual)
    if stride_position not in ("first", "last"):
        raise ValueError(
            f"stride_position={stride_position!r} must be 'first' (the papers) or 'last' (keras.applications' ResNetV2)."
        )
    dropout = _check_fraction("dropout", dropout, 0, 1, True, False, "the rate of a dropout between a block's convolutions.")
    if not isinstance(use_bias, bool):
        raise ValueError(f"use_bias={use_bias!r} must be True or False.")
    base = family.widths[0]
    group_width = bottleneck_width if bottleneck_width is not None else base
    probs = iter(survival_probs(sum(counts), stochastic_depth))
    blocks, channels = [], base
    for stage, (count, filters) in enumerate(zip(counts, family.widths), start=1):
        for index in range(1, count + 1):
            if stride_position == "first":
                strides = 2 if stage > 1 and index == 1 else 1
            else:
                strides = 2 if stage < len(counts) and index == count else 1
            if block_type == "basic":
                filters_k, width, out = filters * widen, filters * widen, filters * widen
            else:
                # ResNeXt's template: C groups of d channels in stage 1, doubling per stage (torchvision's
                # int(base * d / 64) * C for ImageNet); wide nets widen the same 1x1/3x3 by k.
                filters_k, width, out = filters, cardinality * group_width * (filters // base) * widen, EXPANSION * filters
            blocks.append(Block(
                name=f"stage{stage}_block{index}", kind=block_type, stage=stage, index=index, in_channels=channels,
                out_channels=out, strides=strides, filters=filters_k, width=width, groups=cardinality,
                stride_in="3x3" if family.preact else VARIANTS[variant], shortcut=shortcut, preact=family.preact,
                survival_prob=next(probs), zero_init=zero_init, use_bias=use_bias, dropout=dropout,
            ))  # fmt: skip
            channels = out
    options = dict(block=block_type, variant=variant, shortcut=shortcut, cardinality=cardinality,
                   bottleneck_width=bottleneck_width, widen=widen, stochastic_depth=stochastic_depth,
                   zero_init_residual=zero_init, use_bias=use_bias, dropout=dropout, stride_position=stride_position)  # fmt: skip
    stem = Stem(family.stem, base, normalize=not family.preact, use_bias=use_bias)
    return stem, tuple(blocks), family.preact, options


def _densenet_blocks(family_name, family, depth, in_channels, *, block=None, growth_rate=32, compression=0.5):
    block_type, counts = _stage_counts(family_name, family, depth, block)
    growth_rate = _check_int("growth_rate", growth_rate)
    compression = _check_fraction("compression", compression, 0, 1, False, True,
                                  "the fraction of channels a transition keeps (0.5 in DenseNet-BC, 1.0 for no compression).")  # fmt: skip
    bottleneck = DENSE_BOTTLENECK if block_type == "bottleneck" else 0
    channels = 2 * growth_rate  # both papers' stems
    blocks = []
    for stage, count in enumerate(counts, start=1):
        for index in range(1, count + 1):
            blocks.append(Block(f"stage{stage}_block{index}", "dense", stage, index, channels, channels + growth_rate,
                                filters=growth_rate, bottleneck=bottleneck))  # fmt: skip
            channels += growth_rate
        if stage < len(counts):
            # floor(theta * channels), as keras.applications and torchvision
            kept = max(1, int(channels * compression))
            blocks.append(Block(f"stage{stage}_transition", "transition", stage, count + 1, channels, kept, strides=2,
                                compression=compression))  # fmt: skip
            channels = kept
    # The CIFAR stem is normalised by the first layer's BN-ReLU.
    stem = Stem(family.stem, 2 * growth_rate, normalize=family.stem == "imagenet")
    options = dict(block=block_type, growth_rate=growth_rate, compression=compression)
    return stem, tuple(blocks), True, options


RESOLVERS = {"resnet": _resnet_blocks, "densenet": _densenet_blocks}


def unknown_name(name, known):
    """A ValueError for an unknown model or family name, with close-match suggestions.

    Args:
        name: the name asked for.
        known: the names that exist.

    Returns:
        The ValueError (to raise).
    """
    # Same words in another order ("resnet_cifar") first: with many "res*" families, difflib alone misses it.
    words = lambda text: sorted(str(text).lower().split("_"))  # noqa: E731
    matches = [k for k in known if words(k) == words(name)] or difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(matches)}?" if matches else ""
    return ValueError(f"Unknown model {name!r}.{hint} keras_resnet.available_models() lists every name.")
