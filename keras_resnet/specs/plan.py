"""The resolved plan: `resolve(name_or_family, **options)` merges a row of the table with the paper's
defaults and the caller's options, validates everything once (one sentence per bad argument) and returns a
`Plan`: frozen dataclasses holding the stem, every block (its type, channels, width, groups, stride,
shortcut, survival probability) and the head. The builders in `keras_resnet.models` iterate a plan;
tuning, benchmarks, weight conversion and `keras-resnet models` read plans instead of building models, and a
plan counts its own parameters and multiply-adds. Nothing in this module imports Keras.

    plan = keras_resnet.specs.resolve("ResNet50")
    plan.parameters()     # (25557032, 53120): trainable, non-trainable
    len(plan.blocks)      # 16
"""

import dataclasses
import difflib
import inspect
import math
import numbers
import re

from keras_resnet.specs.table import (
    ATTENTIONS,
    BN_EPSILON,
    BN_MOMENTUM,
    COMMON,
    DENSE_BOTTLENECK,
    DTYPES,
    EXPANSION,
    FAMILIES,
    MODELS,
    POOLINGS,
    SE_RATIO,
    SHORTCUTS,
    STEM_POOLS,
    STEM_TYPES,
    VARIANTS,
)
from keras_resnet.utils import checks


@dataclasses.dataclass(frozen=True)
class Stem:
    """The layers before the first block.

    Attributes:
        kind: "imagenet" (7x7/2 conv), "deep" (3x3/2 conv-BN-ReLU, 3x3 conv-BN-ReLU, 3x3 conv: ResNet-C) or
            "cifar" (one 3x3 conv).
        filters: channels out.
        normalize: its own BN-ReLU after the (last) conv, unless the first block normalises it.
        use_bias: convolutions with biases.
        width: a deep stem's first two convolutions' channels.
        pool: "max" (3x3/2 max-pool), "conv" (3x3/2 conv-BN-ReLU, ResNet-RS) or "none" (CIFAR stems).
        blur: the pool runs at stride 1 and a stride-2 blur follows (anti-aliased downsampling).
    """

    kind: str
    filters: int
    normalize: bool = True
    use_bias: bool = False
    width: int = 0
    pool: str = "max"
    blur: bool = False


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
        survival_scale: "test" or "train", where stochastic depth restores the expectation (the layer's `scale`).
        zero_init: the branch starts at zero.
        use_bias, dropout: as the options.
        bottleneck: a dense layer's 1x1 width as a multiple of its growth rate (0: none).
        compression: the fraction of channels a transition keeps.
        attention: None, "se" or "eca", applied to the branch's output before the addition.
        se_channels: the SE's hidden width; eca_kernel: the ECA's 1-D kernel size.
        avg_down: a downsampling projection average-pools first and convolves at stride 1 (ResNet-D).
        blur: the strided convolution runs at stride 1 and a stride-2 blur follows its activation.
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
    survival_scale: str = "test"
    zero_init: bool = False
    use_bias: bool = False
    dropout: float = 0.0
    bottleneck: int = 0
    compression: float = 0.0
    attention: object = None
    se_channels: int = 0
    eca_kernel: int = 0
    avg_down: bool = False
    blur: bool = False

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
        config = dict(
            filters=self.filters,
            strides=self.strides,
            shortcut=self.shortcut,
            preact=self.preact,
            survival_prob=self.survival_prob,
            survival_scale=self.survival_scale,
            zero_init=self.zero_init,
            use_bias=self.use_bias,
            dropout=self.dropout,
            attention=self.attention,
            se_channels=self.se_channels,
            eca_kernel=self.eca_kernel,
            avg_down=self.avg_down,
            blur=self.blur,
        )
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


def se_channels(channels, ratio=SE_RATIO):
    """An SE module's hidden width, as timm rounds it (`make_divisible(channels * ratio, 8, round_limit=0)`),
    so that its SE weights fit.

    Args:
        channels: the channels the SE module scales.
        ratio: the reduction (1/16 in Hu et al. 2018, 1/4 in ResNet-RS).

    Returns:
        `channels * ratio` to the nearest multiple of 8, at least 8.
    """
    return max(8, int(channels * ratio + 4) // 8 * 8)


def eca_kernel(channels, gamma=2, beta=1):
    """ECA's kernel size from the channel count (Wang et al. 2020, eq. 12).

    Args:
        channels: the channels C the ECA module scales.
        gamma, beta: the paper's constants (2 and 1).

    Returns:
        The odd number nearest `|log2(C) + beta| / gamma` (rounding down to it, then up to odd), at least 3.
    """
    t = int(abs(math.log2(channels) + beta) / gamma)
    return max(t if t % 2 else t + 1, 3)


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
        preprocessing, dtype, bn_momentum, bn_epsilon, sync_bn, head_dropout: as the options of the same names.
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
    head_dropout: float = 0.0
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
            raise ValueError(
                f"flops need a fixed input size, but {self.name} takes {self.input_shape}: give input_shape=(height, "
                "width, channels)."
            )
        return sum(macs for _, macs in self._layers(self.input_shape[:2]))

    def _layers(self, size):
        """((trainable, non-trainable), multiply-adds) of each weighted layer, tracking the spatial size.

        A blur counts its 3x3 depthwise multiply-adds and no parameters (its filter is fixed)."""

        def conv(cin, cout, k, groups=1, bias=False):
            return (k * k * cin // groups * cout + (cout if bias else 0), 0)

        def bn(c):
            return (2 * c, 2 * c)

        def grow(size, k, s, pad):
            return None if size is None else tuple((x + 2 * pad - k) // s + 1 for x in size)

        def area(size):
            return 0 if size is None else math.prod(size)

        def blur(size, c):
            return (grow(size, 3, 2, 1), ((0, 0), area(grow(size, 3, 2, 1)) * 9 * c))

        stem, channels = self.stem, self.input_shape[-1]
        if stem.kind == "imagenet":
            size = grow(size, 7, 2, 3)
            yield conv(channels, stem.filters, 7, bias=stem.use_bias), area(size) * 49 * channels * stem.filters
        elif stem.kind == "deep":
            for number, (cin, cout) in enumerate(
                ((channels, stem.width), (stem.width, stem.width), (stem.width, stem.filters))
            ):
                size = grow(size, 3, 2 if number == 0 else 1, 1)
                yield conv(cin, cout, 3, bias=stem.use_bias), area(size) * 9 * cin * cout
                if number < 2:
                    yield bn(cout), 0
        else:
            yield conv(channels, stem.filters, 3, bias=stem.use_bias), area(size) * 9 * channels * stem.filters
        if stem.normalize:
            yield bn(stem.filters), 0
        if stem.pool == "conv":
            size = grow(size, 3, 1 if stem.blur else 2, 1)
            yield conv(stem.filters, stem.filters, 3), area(size) * 9 * stem.filters**2
        elif stem.pool == "max" and not stem.blur:
            size = grow(size, 3, 2, 1)
        if stem.blur and stem.pool != "none":
            size, counts = blur(size, stem.filters)
            yield counts
        if stem.pool == "conv":
            yield bn(stem.filters), 0
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
                blurred = block.blur and strides > 1
                inside = grow(inside, kernel, 1 if blurred else strides, kernel // 2) if inside is not None else None
                bias = block.use_bias and (not block.preact or number == len(block.convs))  # see the block layers
                yield conv(cin, cout, kernel, groups, bias), area(inside) * kernel * kernel * cin // groups * cout
                if not block.preact or number < len(block.convs):
                    yield bn(cout), 0
                if blurred:
                    inside, counts = blur(inside, cout)
                    yield counts
                cin = cout
            if block.attention == "se":
                yield conv(cin, block.se_channels, 1, bias=True), cin * block.se_channels
                yield conv(block.se_channels, cin, 1, bias=True), cin * block.se_channels
            elif block.attention == "eca":
                yield (block.eca_kernel, 0), cin * block.eca_kernel
            out = grow(size, 1, block.strides, 0)
            kind = block.shortcut_layer
            if kind in ("projection", "highway"):
                yield (
                    conv(block.in_channels, block.out_channels, 1, bias=block.use_bias or kind == "highway"),
                    (area(out) * block.in_channels * block.out_channels),
                )
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
                f"{name} has depth {row['depth']}; to change the depth use build({family_name!r}, "
                f"depth={kwargs['depth']})."
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
            f"{signature.get('name') or family_name} got unknown option(s) {', '.join(map(repr, unknown))}: its "
            f"options are {', '.join(allowed)} and the keras.applications arguments {', '.join(SIGNATURE)}."
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


SIGNATURE = ("include_top", "input_shape", "pooling", "classes", "classifier_activation", "name", "in_channels")


def family_options(family_name):
    """The option names `resolve` accepts for a family, in documentation order.

    Args:
        family_name: a key of `FAMILIES`.

    Returns:
        A tuple of names of `OPTIONS`: the family's builder's own, then `COMMON`.
    """
    resolver = RESOLVERS[FAMILIES[family_name].builder]
    own = [p.name for p in inspect.signature(resolver).parameters.values() if p.kind is p.KEYWORD_ONLY]
    return (*own, *COMMON, "in_channels")


def _option(option, value, cast=float):
    """`value` checked against its rule in `checks.LIMITS` (the one table of option rules), as int or float."""
    if value is None:  # None means "the default" to checks.check; here it is a value given by mistake
        raise ValueError(f"{option}=None must be {checks.LIMITS[option].describe()}.")
    return cast(checks.check(option, value))


def _check_signature(family_name, family, signature):
    """Validate the keras.applications arguments; return the input shape and the number of classes."""
    pooling = signature.get("pooling")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r} must be None, 'avg' or 'max'.")
    classes = signature.get("classes")
    classes = family.classes if classes is None else classes
    # Checked with or without the top (keras.applications ignores it without): a wrong value is a mistake.
    classes = _option("classes", classes, int)
    shape = signature.get("input_shape")
    if shape is None:
        # keras.applications' rule: without the top any image size goes (the classifier fixed it).
        shape = family.input_shape if signature.get("include_top", True) else (None, None, family.input_shape[-1])
    if not isinstance(shape, (tuple, list)) or len(shape) != 3:
        raise ValueError(f"input_shape={shape!r} must be (height, width, channels), e.g. {family.input_shape}.")
    in_channels = signature.get("in_channels")
    if in_channels is not None:
        _option("in_channels", in_channels, int)
        if signature.get("input_shape") is not None and shape[-1] != in_channels:
            raise ValueError(f"in_channels={in_channels} contradicts input_shape={tuple(shape)}: give one of them.")
        shape = (*shape[:2], in_channels)
    height, width, channels = shape
    if not isinstance(channels, numbers.Integral) or channels < 1:
        raise ValueError(f"input_shape={tuple(shape)} has no channels: the last entry must be the channel count.")
    if height in (1, 3) and channels not in (1, 3, 4):
        raise ValueError(
            f"input_shape={tuple(shape)} looks channels-first: keras_resnet is channels-last, pass ({width}, "
            f"{channels}, {height})."
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
            raise ValueError(
                f"preprocessing={preprocessing!r} must be None or {{'mean': ..., 'std': ...}} (per channel)."
            )
        common["preprocessing"] = {
            key: checks.per_channel(f"preprocessing {key}", preprocessing[key], shape[-1], positive=key == "std")
            for key in ("mean", "std")
        }
    checks.check_choice("dtype", common.get("dtype"), DTYPES)
    if "bn_momentum" in common:
        _option("bn_momentum", common["bn_momentum"])
    if "bn_epsilon" in common:
        checks.check("bn_epsilon", common["bn_epsilon"])
    if "sync_bn" in common and not isinstance(common["sync_bn"], bool):
        raise ValueError(f"sync_bn={common['sync_bn']!r} must be True or False.")
    if common.get("head_dropout") is not None:
        common["head_dropout"] = _option("head_dropout", common["head_dropout"])
    else:
        common.pop("head_dropout", None)
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
    if (
        not isinstance(depth, numbers.Integral)
        or isinstance(depth, bool)
        or depth < step + offset
        or (depth - offset) % step
    ):
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
    _option("stochastic_depth", stochastic_depth)
    return [1.0 - (i / num_blocks) * (1.0 - stochastic_depth) for i in range(1, num_blocks + 1)]


def _resnet_blocks(
    family_name,
    family,
    depth,
    in_channels,
    *,
    block=None,
    variant="v1",
    shortcut="B",
    cardinality=1,
    bottleneck_width=None,
    widen=1,
    stochastic_depth=None,
    stochastic_depth_scale="test",
    zero_init_residual=None,
    use_bias=False,
    dropout=0.0,
    stride_position="first",
    stem_type=None,
    stem_width=None,
    stem_pool=None,
    avg_down=False,
    attention=None,
    se_ratio=None,
    blur=False,
):
    block_type, counts = _stage_counts(family_name, family, depth, block)
    cardinality, widen = _option("cardinality", cardinality, int), _option("widen", widen, int)
    if bottleneck_width is not None:
        bottleneck_width = _option("bottleneck_width", bottleneck_width, int)
    if block_type == "basic" and (cardinality != 1 or bottleneck_width is not None):
        raise ValueError(
            f"cardinality and bottleneck_width need bottleneck blocks, but {family_name}{depth} uses basic "
            "blocks: pick a bottleneck depth (e.g. 50) or block='bottleneck'."
        )
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} must be 'v1' (stride in the first 1x1) or 'v1.5' (stride in the 3x3).")
    checks.check_choice("shortcut", shortcut, SHORTCUTS)
    plain, gated = shortcut == "none", shortcut == "highway"
    if plain and stochastic_depth is not None:
        raise ValueError("stochastic_depth needs shortcuts: a plain net (shortcut='none') has no block to skip.")
    if plain and zero_init_residual:
        raise ValueError("zero_init_residual needs shortcuts: a plain net with zeroed branches outputs zeros.")
    zero_init = not (plain or gated) if zero_init_residual is None else bool(zero_init_residual)
    if stride_position not in ("first", "last"):
        raise ValueError(
            f"stride_position={stride_position!r} must be 'first' (the papers) or 'last' (keras.applications' "
            "ResNetV2)."
        )
    dropout = _option("dropout", dropout)
    if not isinstance(use_bias, bool):
        raise ValueError(f"use_bias={use_bias!r} must be True or False.")
    stem = _resnet_stem(family_name, family, use_bias, stem_type, stem_width, stem_pool, blur)
    for option, value in (("avg_down", avg_down), ("blur", blur)):
        if not isinstance(value, bool):
            raise ValueError(f"{option}={value!r} must be True or False.")
    if avg_down and shortcut not in ("B", "C"):
        raise ValueError(
            f"avg_down pools before a projection shortcut, but shortcut={shortcut!r} has none: use shortcut='B' or 'C'."
        )
    if blur and family.preact:
        raise ValueError(
            f"blur follows a strided convolution's activation, which {family_name}'s pre-activation blocks do not "
            "have: use a v1 family."
        )
    checks.check_choice("attention", attention, ATTENTIONS)
    checks.check_choice("stochastic_depth_scale", stochastic_depth_scale, ("test", "train"))
    if se_ratio is not None and attention != "se":
        raise ValueError(f"se_ratio={se_ratio!r} sets the SE module's width: pass attention='se' too.")
    ratio = SE_RATIO if se_ratio is None else _option("se_ratio", se_ratio)
    base = family.widths[0]
    group_width = bottleneck_width if bottleneck_width is not None else base
    probs = iter(survival_probs(sum(counts), stochastic_depth))
    blocks, channels = [], stem.filters
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
                filters_k, width, out = (
                    filters,
                    cardinality * group_width * (filters // base) * widen,
                    EXPANSION * filters,
                )
            blocks.append(
                Block(
                    name=f"stage{stage}_block{index}",
                    kind=block_type,
                    stage=stage,
                    index=index,
                    in_channels=channels,
                    out_channels=out,
                    strides=strides,
                    filters=filters_k,
                    width=width,
                    groups=cardinality,
                    stride_in="3x3" if family.preact else VARIANTS[variant],
                    shortcut=shortcut,
                    preact=family.preact,
                    survival_prob=next(probs),
                    survival_scale=stochastic_depth_scale,
                    zero_init=zero_init,
                    use_bias=use_bias,
                    dropout=dropout,
                    attention=attention,
                    se_channels=se_channels(out, ratio) if attention == "se" else 0,
                    eca_kernel=eca_kernel(out) if attention == "eca" else 0,
                    avg_down=avg_down,
                    blur=blur,
                )
            )
            channels = out
    options = dict(
        block=block_type,
        variant=variant,
        shortcut=shortcut,
        cardinality=cardinality,
        bottleneck_width=bottleneck_width,
        widen=widen,
        stochastic_depth=stochastic_depth,
        stochastic_depth_scale=stochastic_depth_scale,
        zero_init_residual=zero_init,
        use_bias=use_bias,
        dropout=dropout,
        stride_position=stride_position,
        stem_type=stem_type,
        stem_width=stem.width or None,
        stem_pool=None if stem.pool == "none" else stem.pool,
        avg_down=avg_down,
        attention=attention,
        se_ratio=ratio if attention == "se" else None,
        blur=blur,
    )
    return stem, tuple(blocks), family.preact, options


def _resnet_stem(family_name, family, use_bias, stem_type, stem_width, stem_pool, blur):
    """The `Stem` of a ResNet family with the stem options, each checked against the family's stem."""
    checks.check_choice("stem_type", stem_type, STEM_TYPES)
    checks.check_choice("stem_pool", stem_pool, STEM_POOLS)
    base, normalize = family.widths[0], not family.preact
    if family.stem == "cifar":
        if stem_type is not None or stem_pool is not None:
            raise ValueError(
                f"stem_type and stem_pool change an ImageNet stem, but {family_name} has the CIFAR stem (one 3x3 "
                "convolution, no pooling): leave them out, or use an ImageNet family such as 'resnet'."
            )
        return Stem("cifar", base, normalize=normalize, use_bias=use_bias, pool="none")
    pool = stem_pool or "max"
    if stem_type is None:
        if stem_width is not None:
            raise ValueError(f"stem_width={stem_width!r} sets the deep stem's width: pass stem_type='deep' too.")
        return Stem("imagenet", base, normalize=normalize, use_bias=use_bias, pool=pool, blur=blur)
    width = 32 if stem_width is None else _option("stem_width", stem_width, int)
    return Stem("deep", 2 * width, normalize=normalize, use_bias=use_bias, width=width, pool=pool, blur=blur)


def _densenet_blocks(family_name, family, depth, in_channels, *, block=None, growth_rate=32, compression=0.5):
    block_type, counts = _stage_counts(family_name, family, depth, block)
    growth_rate = _option("growth_rate", growth_rate, int)
    compression = _option("compression", compression)
    bottleneck = DENSE_BOTTLENECK if block_type == "bottleneck" else 0
    channels = 2 * growth_rate  # both papers' stems
    blocks = []
    for stage, count in enumerate(counts, start=1):
        for index in range(1, count + 1):
            blocks.append(
                Block(
                    f"stage{stage}_block{index}",
                    "dense",
                    stage,
                    index,
                    channels,
                    channels + growth_rate,
                    filters=growth_rate,
                    bottleneck=bottleneck,
                )
            )
            channels += growth_rate
        if stage < len(counts):
            # floor(theta * channels), as keras.applications and torchvision
            kept = max(1, int(channels * compression))
            blocks.append(
                Block(
                    f"stage{stage}_transition",
                    "transition",
                    stage,
                    count + 1,
                    channels,
                    kept,
                    strides=2,
                    compression=compression,
                )
            )
            channels = kept
    # The CIFAR stem is normalised by the first layer's BN-ReLU.
    stem = Stem(
        family.stem,
        2 * growth_rate,
        normalize=family.stem == "imagenet",
        pool="max" if family.stem == "imagenet" else "none",
    )
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
    def words(text):
        return sorted(str(text).lower().split("_"))

    # Then the same name with the nearest depth ("ResNet150" -> ResNet152): difflib ranks ResNet50 first.
    def split(text):
        return re.fullmatch(r"([A-Za-z]+)(\d+)(.*)", str(text))

    asked = split(name)
    near = sorted(
        (abs(int(found[2]) - int(asked[2])), key)
        for key in known
        if asked and (found := split(key)) and found[1] == asked[1] and found[3] == asked[3]
    )
    matches = (
        [k for k in known if words(k) == words(name)]
        or [key for _, key in near[:2]]
        or difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
    )
    hint = f" Did you mean {', '.join(matches)}?" if matches else ""
    return ValueError(f"Unknown model {name!r}.{hint} keras_resnet.available_models() lists every name.")
