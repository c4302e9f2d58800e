"""The ResNet builder: ImageNet v1 / v1.5 / v2 (pre-activation), CIFAR, the plain and highway twins,
ResNeXt (cardinality, bottleneck width) and wide ResNets (widen factor).

ResNeXt and wide ResNets are ResNets whose bottleneck is grouped or wider, so they are families of
`specs.py` read by this one builder rather than builders of their own.
"""

from keras import layers

from keras_resnet import specs
from keras_resnet.layers import BasicBlock, BottleneckBlock
from keras_resnet.layers.blocks import check_positive_int
from keras_resnet.layers.common import BN_EPSILON, BN_MOMENTUM
from keras_resnet.models.base import assemble, rule_stages, table_stages

VARIANTS = {"v1": "1x1", "v1.5": "3x3"}


def survival_probs(num_blocks, stochastic_depth):
    """Huang et al.'s linear decay p_l = 1 - l/L (1 - p_L) for blocks l = 1..L (all 1.0 when disabled)."""
    if stochastic_depth is None:
        return [1.0] * num_blocks
    if isinstance(stochastic_depth, bool) or not 0.0 < stochastic_depth <= 1.0:
        raise ValueError(
            f"stochastic_depth={stochastic_depth!r} must be the last block's survival probability p_L in (0, 1] "
            "(0.5 in Huang et al. 2016), or None to disable it."
        )
    return [1.0 - (l / num_blocks) * (1.0 - stochastic_depth) for l in range(1, num_blocks + 1)]


def stem(x, kind, filters, normalize=True, use_bias=False):
    """ImageNet: 7x7/2 conv + 3x3/2 max-pool; CIFAR: one 3x3 conv. BN-ReLU after the conv if `normalize`.

    Pre-activation nets and CIFAR DenseNets normalise in their first block instead (normalize=False).
    """
    bn = lambda name: layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name)  # noqa: E731
    if kind == "imagenet":
        x = layers.ZeroPadding2D(3, name="stem_pad")(x)
        x = layers.Conv2D(filters, 7, strides=2, use_bias=use_bias, kernel_initializer="he_normal", name="stem_conv")(x)
        if normalize:
            x = layers.ReLU(name="stem_relu")(bn("stem_bn")(x))
        x = layers.ZeroPadding2D(1, name="stem_pool_pad")(x)
        return layers.MaxPooling2D(3, strides=2, name="stem_pool")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=use_bias, kernel_initializer="he_normal", name="stem_conv")(x)
    return layers.ReLU(name="stem_relu")(bn("stem_bn")(x)) if normalize else x


def build_resnet(
    family_name,
    depth,
    block=None,
    variant=None,
    shortcut=None,
    cardinality=None,
    bottleneck_width=None,
    widen=None,
    stochastic_depth=None,
    zero_init_residual=None,
    use_bias=False,
    dropout=0.0,
    stride_position="first",
    **signature,
):
    """Build any member of a ResNet family of `specs.FAMILIES` (see `keras_resnet.build`).

    Args:
        family_name: a key of `specs.FAMILIES` whose builder is "resnet".
        depth: network depth; a row of the family's table or 6n+2 / 9n+2 (6n+4 for wide) for CIFAR families.
        block: "basic" or "bottleneck" for rule-based (CIFAR) families.
        variant: "v1" (stride in the first 1x1) or "v1.5" (stride in the 3x3) for ImageNet v1 nets.
        shortcut: "A", "B", "C", "highway" (gated) or "none" (plain net), see
            `keras_resnet.layers.ResidualBlock`.
        cardinality: groups C of the bottleneck's 3x3 convolution (ResNeXt; 1 for ResNet).
        bottleneck_width: channels per group d in the first stage (ResNeXt's "32x4d" is C=32, d=4); it
            doubles with each stage, so the bottleneck is C * d wide in stage 1. Default: the first
            stage's base width, which gives the plain ResNet bottleneck.
        widen: widening factor k of wide ResNets: basic blocks get k times the filters, bottleneck
            blocks a k times wider 1x1/3x3 (their output width stays 4 * base).
        stochastic_depth: last block's survival probability p_L, linear decay over blocks, or None.
        zero_init_residual: start every residual branch at zero (Goyal et al. 2017), so that each block
            begins as the identity. Default True for residual nets, as in timm: it trains at least as well
            and keeps inference outputs at initialisation finite at any depth (with the papers' gamma=1,
            untrained BN statistics let activations grow ~1.4x per block and overflow float32 past ~250
            blocks). False gives the papers' initialisation; plain nets always use it, highway nets by
            default (a zeroed branch would make every gated block shrink its input by 1 - T).
        use_bias: convolutions with biases, reproducing keras.applications' parameter counts.
        dropout: dropout rate between a block's convolutions.
        stride_position: "first" strides in the first block of stages 2.. (the papers, torchvision);
            "last" in the last block of every stage but the last one, with a subsampling identity
            shortcut, as keras.applications' ResNetV2 does (needed to reproduce its weights).
        **signature: the keras.applications arguments (`include_top`, `weights`, ...).
    """
    family = specs.FAMILIES[family_name]
    options = {**family.defaults}
    given = {
        "block": block,
        "variant": variant,
        "shortcut": shortcut,
        "cardinality": cardinality,
        "bottleneck_width": bottleneck_width,
        "widen": widen,
    }
    options.update({key: value for key, value in given.items() if value is not None})
    if family.depths:
        block_type, counts = table_stages(family_name, family, depth)
        if block not in (None, block_type):  # a published layout fixes its block: never ignore the request
            raise ValueError(
                f"block={block!r} does not fit {family_name}{depth}, which uses {block_type} blocks (its published "
                f"layout): leave block out, or pick a depth of {family_name} built of {block} blocks."
            )
    else:
        block_type = options["block"]
        counts = (rule_stages(family_name, family, depth, block_type, stages=len(family.widths)),) * len(family.widths)
    cardinality = options.get("cardinality", 1)
    group_width = options.get("bottleneck_width", family.widths[0])
    widen = options.get("widen", 1)
    for option, value in (("cardinality", cardinality), ("bottleneck_width", group_width), ("widen", widen)):
        check_positive_int(option, value)
    if block_type == "basic" and (cardinality != 1 or "bottleneck_width" in options):
        raise ValueError(
            f"cardinality and bottleneck_width need bottleneck blocks, but {family_name}{depth} uses basic "
            "blocks: pick a bottleneck depth (e.g. 50) or block='bottleneck'."
        )
    variant = options.get("variant", "v1")
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} must be 'v1' (stride in the first 1x1) or 'v1.5' (stride in the 3x3).")
    plain = options["shortcut"] == "none"
    if plain and stochastic_depth is not None:
        raise ValueError("stochastic_depth needs shortcuts: a plain net (shortcut='none') has no block to skip.")
    if plain and zero_init_residual:
        raise ValueError("zero_init_residual needs shortcuts: a plain net with zeroed branches outputs zeros.")
    gated = options["shortcut"] == "highway"
    zero_init_residual = not (plain or gated) if zero_init_residual is None else bool(zero_init_residual)
    if stride_position not in ("first", "last"):
        raise ValueError(
            f"stride_position={stride_position!r} must be 'first' (the papers) or 'last' (keras.applications' ResNetV2)."
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout={dropout!r} must be in [0, 1).")
    probs = iter(survival_probs(sum(counts), stochastic_depth))
    common = dict(
        shortcut=options["shortcut"], preact=family.preact, zero_init=zero_init_residual, use_bias=use_bias, dropout=dropout
    )
    if block_type == "bottleneck":
        common.update(stride_in="3x3" if family.preact else VARIANTS[variant], groups=cardinality)

    def make(base, **kwargs):
        if block_type == "basic":
            return BasicBlock(base * widen, **kwargs, **common)
        # ResNeXt's template: C groups of d channels in stage 1, doubling per stage (torchvision's
        # int(base * d / 64) * C for ImageNet); wide nets widen the same 1x1/3x3 by k.
        width = cardinality * group_width * (base // family.widths[0]) * widen
        return BottleneckBlock(base, width=width, **kwargs, **common)

    def body(x):
        x = stem(x, family.stem, family.widths[0], normalize=not family.preact, use_bias=use_bias)
        for stage, (blocks, base) in enumerate(zip(counts, family.widths), start=1):
            for index in range(1, blocks + 1):
                if stride_position == "first":
                    strides = 2 if stage > 1 and index == 1 else 1
                else:
                    strides = 2 if stage < len(counts) and index == blocks else 1
                x = make(base, strides=strides, survival_prob=next(probs), name=f"stage{stage}_block{index}")(x)
        if family.preact:
            x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name="post_bn")(x)
            x = layers.ReLU(name="post_relu")(x)
        return x

    signature["name"] = signature.get("name") or f"{family_name}{depth}"
    return assemble(family_name, body, depth=depth, **signature)
