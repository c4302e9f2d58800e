"""The ResNet builder: ImageNet v1 / v1.5 / v2 (pre-activation), CIFAR, and the plain twins."""

from keras import layers

from keras_resnet import specs
from keras_resnet.layers import BasicBlock, BottleneckBlock
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


def stem(x, family, use_bias):
    """ImageNet: 7x7/2 conv + 3x3/2 max-pool; CIFAR: one 3x3 conv. Pre-act nets normalise in the blocks."""
    first = family.widths[0]
    bn = lambda name: layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name)  # noqa: E731
    if family.stem == "imagenet":
        x = layers.ZeroPadding2D(3, name="stem_pad")(x)
        x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, kernel_initializer="he_normal", name="stem_conv")(x)
        if not family.preact:
            x = layers.ReLU(name="stem_relu")(bn("stem_bn")(x))
        x = layers.ZeroPadding2D(1, name="stem_pool_pad")(x)
        return layers.MaxPooling2D(3, strides=2, name="stem_pool")(x)
    x = layers.Conv2D(first, 3, padding="same", use_bias=use_bias, kernel_initializer="he_normal", name="stem_conv")(x)
    return x if family.preact else layers.ReLU(name="stem_relu")(bn("stem_bn")(x))


def build_resnet(
    family_name,
    depth,
    block=None,
    variant=None,
    shortcut=None,
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
        depth: network depth; a row of the family's table or 6n+2 / 9n+2 for CIFAR families.
        block: "basic" or "bottleneck" for rule-based (CIFAR) families.
        variant: "v1" (stride in the first 1x1) or "v1.5" (stride in the 3x3) for ImageNet v1 nets.
        shortcut: "A", "B", "C" or "none" (plain net), see `keras_resnet.layers.ResidualBlock`.
        stochastic_depth: last block's survival probability p_L, linear decay over blocks, or None.
        zero_init_residual: start every residual branch at zero (Goyal et al. 2017), so that each block
            begins as the identity. Default True for residual nets, as in timm: it trains at least as well
            and keeps inference outputs at initialisation finite at any depth (with the papers' gamma=1,
            untrained BN statistics let activations grow ~1.4x per block and overflow float32 past ~250
            blocks). False gives the papers' initialisation; plain nets always use it.
        use_bias: convolutions with biases, reproducing keras.applications' parameter counts.
        dropout: dropout rate between a block's convolutions.
        stride_position: "first" strides in the first block of stages 2.. (the papers, torchvision);
            "last" in the last block of every stage but the last one, with a subsampling identity
            shortcut, as keras.applications' ResNetV2 does (needed to reproduce its weights).
        **signature: the keras.applications arguments (`include_top`, `weights`, ...).
    """
    family = specs.FAMILIES[family_name]
    options = {**family.defaults}
    given = {"block": block, "variant": variant, "shortcut": shortcut}
    options.update({key: value for key, value in given.items() if value is not None})
    if family.depths:
        block_type, counts = table_stages(family_name, family, depth)
    else:
        block_type = options["block"]
        counts = (rule_stages(family_name, family, depth, block_type, stages=len(family.widths)),) * len(family.widths)
    variant = options.get("variant", "v1")
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} must be 'v1' (stride in the first 1x1) or 'v1.5' (stride in the 3x3).")
    plain = options["shortcut"] == "none"
    if plain and stochastic_depth is not None:
        raise ValueError("stochastic_depth needs shortcuts: a plain net (shortcut='none') has no block to skip.")
    if plain and zero_init_residual:
        raise ValueError("zero_init_residual needs shortcuts: a plain net with zeroed branches outputs zeros.")
    zero_init_residual = not plain if zero_init_residual is None else bool(zero_init_residual)
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
        common["stride_in"] = "3x3" if family.preact else VARIANTS[variant]
    make = BottleneckBlock if block_type == "bottleneck" else BasicBlock

    def body(x):
        x = stem(x, family, use_bias)
        for stage, (blocks, base) in enumerate(zip(counts, family.widths), start=1):
            for index in range(1, blocks + 1):
                if stride_position == "first":
                    strides = 2 if stage > 1 and index == 1 else 1
                else:
                    strides = 2 if stage < len(counts) and index == blocks else 1
                x = make(base, strides=strides, survival_prob=next(probs), name=f"stage{stage}_block{index}", **common)(x)
        if family.preact:
            x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name="post_bn")(x)
            x = layers.ReLU(name="post_relu")(x)
        return x

    signature["name"] = signature.get("name") or f"{family_name}{depth}"
    return assemble(family_name, body, depth=depth, **signature)
