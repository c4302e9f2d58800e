"""The spec table: every family and named model as data (`FAMILIES`, `MODELS`) and the options they take.

Adding a depth or a variant is a row here, never builder code. `keras_resnet.specs.plan.resolve` reads the
table; nothing in this package imports Keras.
"""

import dataclasses


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
    26: ("bottleneck", (2, 2, 2, 2)),  # timm's resnet26
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
    200: ("bottleneck", (3, 24, 36, 3)),
    # ResNet-RS's deeper rows (Bello et al. 2021, Table 7).
    270: ("bottleneck", (4, 29, 53, 4)),
    350: ("bottleneck", (4, 36, 72, 4)),
    420: ("bottleneck", (4, 44, 87, 4)),
}
# The depths of He et al. 2015, Table 1, named ResNet{d} and ResNet{d}V2.
PAPER_DEPTHS = (18, 34, 50, 101, 152, 200)
# The data set the CIFAR families are designed for; their downsampling needs at least 4x4 pixels.
CIFAR_DATA = {"input_shape": (32, 32, 3), "classes": 10, "min_size": 4}

BOTTLENECK_DEPTHS = {
    depth: row for depth, row in IMAGENET_DEPTHS.items() if row[0] == "bottleneck" and depth in PAPER_DEPTHS
}

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
# The same paper's network for small images (32x32), where an ImageNet stem and five downsamplings would
# leave a 1x1 map: He et al. 2015 sec. 4.2, He et al. 2016 (pre-activation), Xie et al. 2017, Zagoruyko &
# Komodakis 2016, Huang et al. 2017 each give one.
CIFAR_FORMS = {
    "resnet": "cifar_resnet",
    "resnet_v2": "preact_resnet",
    "resnext": "cifar_resnext",
    "wide_resnet": "cifar_wide_resnet",
    "densenet": "cifar_densenet",
}

# timm's ResNets (its resnet.py, v1.0) stride in the 3x3 and keep torch's BN epsilon, so its weights convert
# to these rows exactly. He et al. 2019 ("Bag of Tricks"): ResNet-C is the deep stem (three 3x3 convs, the
# first two `stem_width` wide, the third twice that), ResNet-D adds an average pool before each downsampling
# projection.
TIMM = {"variant": "v1.5", "bn_epsilon": 1e-5}
RESNET_C = {"stem_type": "deep", "stem_width": 32}
RESNET_D = {**RESNET_C, "avg_down": True}
# Bello et al. 2021 (ResNet-RS): ResNet-D with a 3x3/2 convolution for the stem's max-pool and SE of ratio
# 1/4 in every block; stochastic depth 0.1 (p_L = 0.9) from depth 200 and head dropout 0.25, 0.4 at 350 and
# 420 (the paper's Table 8), the kept branches scaled in training as timm's and Model Garden's drop path do.
RESNET_RS = {
    **TIMM,
    **RESNET_D,
    "stem_pool": "conv",
    "attention": "se",
    "se_ratio": 0.25,
    "stochastic_depth_scale": "train",
}

# Public model name -> (family, options). Each row becomes a function `keras_resnet.<name>`.
MODELS = {
    **{f"ResNet{d}": ("resnet", {"depth": d}) for d in PAPER_DEPTHS},
    **{f"ResNet{d}V2": ("resnet_v2", {"depth": d}) for d in PAPER_DEPTHS},
    **{f"ResNet{d}": ("cifar_resnet", {"depth": d}) for d in (20, 32, 44, 56, 110, 1202)},
    "PreActResNet110": ("preact_resnet", {"depth": 110, "block": "basic"}),
    "PreActResNet164": ("preact_resnet", {"depth": 164}),
    "PreActResNet1001": ("preact_resnet", {"depth": 1001}),
    # Plain twins for the degradation experiment: the same layers with no shortcut addition.
    **{f"PlainNet{d}": ("resnet", {"depth": d, "shortcut": "none"}) for d in (18, 34)},
    **{f"PlainNet{d}": ("cifar_resnet", {"depth": d, "shortcut": "none"}) for d in (20, 32, 44, 56, 110)},
    # ResNeXt{depth}_{cardinality}x{bottleneck_width}d and WideResNet{depth}_{widen}, as the papers name them.
    **{
        f"ResNeXt{d}_{c}x{w}d": ("resnext", {"depth": d, "cardinality": c, "bottleneck_width": w})
        for d, c, w in ((50, 32, 4), (101, 32, 8), (101, 64, 4))
    },
    **{
        f"ResNeXt29_{c}x64d": ("cifar_resnext", {"depth": 29, "cardinality": c, "bottleneck_width": 64})
        for c in (8, 16)
    },
    **{f"WideResNet{d}_2": ("wide_resnet", {"depth": d, "widen": 2}) for d in (50, 101)},
    **{f"WideResNet{d}_{k}": ("cifar_wide_resnet", {"depth": d, "widen": k}) for d, k in ((16, 8), (28, 10), (40, 4))},
    **{f"DenseNet{d}": ("densenet", {"depth": d, "growth_rate": 48 if d == 161 else 32}) for d in DENSENET_DEPTHS},
    **{
        f"DenseNetBC{d}": ("cifar_densenet", {"depth": d, "growth_rate": k})
        for d, k in ((100, 12), (250, 24), (190, 40))
    },
    # The refinements after 2017, named as timm names them (resnet50d -> ResNet50D).
    "ResNet26": ("resnet", {"depth": 26, **TIMM}),
    **{f"ResNet{d}D": ("resnet", {"depth": d, **TIMM, **RESNET_D}) for d in (18, 26, 34, 50, 101, 152, 200)},
    "ResNet50C": ("resnet", {"depth": 50, **TIMM, **RESNET_C}),
    "ResNet50S": ("resnet", {"depth": 50, **TIMM, "stem_type": "deep", "stem_width": 64}),
    **{f"SEResNet{d}": ("resnet", {"depth": d, **TIMM, "attention": "se"}) for d in (50, 101, 152)},
    **{
        f"SEResNeXt{d}_{c}x{w}d": (
            "resnext",
            {"depth": d, "cardinality": c, "bottleneck_width": w, **TIMM, "attention": "se"},
        )
        for d, c, w in ((50, 32, 4), (101, 32, 8))
    },
    **{f"ECAResNet{d}D": ("resnet", {"depth": d, **TIMM, **RESNET_D, "attention": "eca"}) for d in (50, 101)},
    "ResNetBlur50": ("resnet", {"depth": 50, **TIMM, "blur": True}),
    **{
        f"ResNetRS{d}": (
            "resnet",
            {
                "depth": d,
                **RESNET_RS,
                "stochastic_depth": 0.9 if d >= 200 else None,
                "head_dropout": 0.4 if d >= 350 else 0.25,
            },
        )
        for d in (50, 101, 152, 200, 270, 350, 420)
    },
}


# ------------------------------------------------------------------------------------------- options

# Every option a model function takes besides the keras.applications signature, documented once (model
# functions and docs/api.md read these). Which family takes which follows from the keyword-only
# parameters of `_resnet_blocks` and `_densenet_blocks`, plus `COMMON` for every family.
OPTIONS = {
    "block": '"basic" or "bottleneck" (rule-based CIFAR families; a table row fixes its own)',
    "variant": '"v1" (stride in the first 1x1, the paper, keras.applications) or "v1.5" (stride in the 3x3, '
    "torchvision; ResNet-B)",
    "shortcut": '"A" zero-padding identity, "B" projection where the shape changes, "C" projection everywhere, '
    '"highway" gated (Srivastava et al. 2015), "none" the plain twin',
    "cardinality": "groups C of the bottleneck's 3x3 convolution (ResNeXt)",
    "bottleneck_width": "channels d per group in the first stage (ResNeXt's 32x4d: C=32, d=4), doubling per stage",
    "widen": "widening factor k of wide ResNets",
    "stochastic_depth": "survival probability p_L of the last block (Huang et al. 2016), decaying linearly from 1; "
    "None: off",
    "stochastic_depth_scale": '"test" (Huang et al.: a branch times p_l at inference) or "train" (timm, Model Garden: '
    "a kept branch over p_l in training; ResNet-RS)",
    "zero_init_residual": "start each residual branch at zero (Goyal et al. 2017; default True for residual nets)",
    "use_bias": "convolutions with biases where keras.applications has them (every one in v1; in pre-activation nets "
    "where no BN follows: stem, projections, each block's last conv)",
    "dropout": "dropout rate between a block's convolutions (wide ResNets)",
    "stride_position": '"first" block of a stage strides (the papers) or the "last" (keras.applications ResNetV2)',
    "stem_type": 'None (the family\'s stem) or "deep": three 3x3 convolutions for the 7x7 (ResNet-C, He et al. 2019; '
    "timm's stem_type)",
    "stem_width": "channels of the deep stem's first two convolutions, the third has twice as many (32 in ResNet-C/D, "
    "64 in timm's 50S)",
    "stem_pool": 'None (the family\'s: a 3x3/2 max-pool after an ImageNet stem), "max" or "conv" (3x3/2 conv-BN-ReLU, '
    "ResNet-RS)",
    "avg_down": "downsampling shortcuts average-pool 2x2 before a stride-1 projection (ResNet-D, He et al. 2019)",
    "attention": 'None, "se" (squeeze-and-excitation, Hu et al. 2018) or "eca" (efficient channel attention, Wang et '
    "al. 2020) at the end of every residual branch",
    "se_ratio": "SE's reduction: its hidden width is channels * se_ratio rounded to a multiple of 8 as timm does "
    "(1/16; ResNet-RS 1/4)",
    "blur": "anti-aliased downsampling (Zhang 2019): strided convolutions run at stride 1 followed by a 3x3 binomial "
    "blur of stride 2",
    "growth_rate": "channels k each dense layer adds (DenseNet)",
    "compression": "fraction theta of the channels a transition keeps, in (0, 1] (DenseNet-BC: 0.5)",
    "preprocessing": '{"mean": ..., "std": ...}: normalise raw pixels inside the model (its first layer); None: none',
    "dtype": 'Keras dtype policy of every layer, e.g. "mixed_bfloat16" (the classifier then computes in float32)',
    "bn_momentum": "BatchNormalization momentum (0.9, the papers' Torch code)",
    "bn_epsilon": "BatchNormalization epsilon (1.001e-5, keras.applications')",
    "sync_bn": "BatchNormalization statistics over all replicas (synchronised)",
    "head_dropout": "dropout rate before the classifier (ResNet-RS: 0.25); 0: none",
    "in_channels": "image channels (timm's in_chans), e.g. 1 for grey-scale: converted RGB weights adapt the first "
    "convolution as timm does",
}
COMMON = ("preprocessing", "dtype", "bn_momentum", "bn_epsilon", "sync_bn", "head_dropout")
# keras.applications' BatchNormalization epsilon, so converted weights reproduce its outputs; momentum 0.9 as
# in the papers' Torch code (Keras' default 0.99 lags badly in short runs).
BN_EPSILON, BN_MOMENTUM = 1.001e-5, 0.9
SHORTCUTS = ("A", "B", "C", "highway", "none")
VARIANTS = {"v1": "1x1", "v1.5": "3x3"}  # where a v1 bottleneck strides
POOLINGS = (None, "avg", "max")
STEM_TYPES = (None, "deep")
STEM_POOLS = (None, "max", "conv")
ATTENTIONS = (None, "se", "eca")
SE_RATIO = 1 / 16  # Hu et al. 2018's reduction r = 16
DTYPES = (None, "float16", "bfloat16", "float32", "float64", "mixed_float16", "mixed_bfloat16")
# Width of the 1x1 bottleneck in a DenseNet-B layer, as a multiple of the growth rate (Huang 2017, sec. 3).
DENSE_BOTTLENECK = 4
EXPANSION = 4  # a bottleneck block outputs 4x its base width
