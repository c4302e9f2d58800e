"""The published parameter counts and an oracle that recounts each architecture from the papers'
descriptions, layer by layer, without reading the package's code (no Keras here either): tests of the
plans (`test_specs.py`) and of the built models (`test_models.py`) both check against it."""

from keras_resnet import specs

# Published counts (../shared/REFERENCE.md): trainable, non-trainable (None where unpublished).
TORCHVISION = {
    "ResNet18": 11_689_512,
    "ResNet34": 21_797_672,
    "ResNet50": 25_557_032,
    "ResNet101": 44_549_160,
    "ResNet152": 60_192_808,
    "ResNeXt50_32x4d": 25_028_904,
    "ResNeXt101_32x8d": 88_791_336,
    "ResNeXt101_64x4d": 83_455_272,
    "WideResNet50_2": 68_883_240,
    "WideResNet101_2": 126_886_696,
    "DenseNet121": 7_978_856,
    "DenseNet169": 14_149_480,
    "DenseNet201": 20_013_928,
    "DenseNet161": 28_681_000,
}
# torchvision's published GFLOPS (multiply-adds of convolutions and classifier, 224x224), 2 decimals.
TORCHVISION_GFLOPS = {
    "ResNeXt50_32x4d": 4.23,
    "ResNeXt101_32x8d": 16.41,
    "ResNeXt101_64x4d": 15.46,
    "WideResNet50_2": 11.40,
    "WideResNet101_2": 22.75,
    "DenseNet121": 2.83,
    "DenseNet161": 7.73,
    "DenseNet169": 3.36,
    "DenseNet201": 4.29,
}
KERAS_APPLICATIONS_V1 = {
    "ResNet50": (25_583_592, 53_120),
    "ResNet101": (44_601_832, 105_344),
    "ResNet152": (60_268_520, 151_424),
}
KERAS_APPLICATIONS_DENSENET = {"DenseNet121": 8_062_504, "DenseNet169": 14_307_880, "DenseNet201": 20_242_984}
CIFAR = {
    "ResNet20": 269_722,
    "ResNet32": 464_154,
    "ResNet44": 658_586,
    "ResNet56": 853_018,
    "ResNet110": 1_727_962,
    "ResNet1202": 19_421_274,
    "PreActResNet164": 1_703_258,
    "PreActResNet1001": 10_327_706,
    "DenseNetBC100": 769_162,
    "ResNeXt29_8x64d": 34_426_698,
    "ResNeXt29_16x64d": 68_155_210,
    "WideResNet28_10": 36_479_194,
}
# Rounded to 0.1M in the papers only (Huang 2017 Table 2, Zagoruyko 2016 Table 4 / 5).
PAPERS_ROUNDED = {"DenseNetBC250": 15.3, "DenseNetBC190": 25.6, "WideResNet16_8": 11.0, "WideResNet40_4": 8.9}
KERAS_APPLICATIONS_V2 = {
    "ResNet50V2": (25_568_360, 45_440),
    "ResNet101V2": (44_577_896, 97_664),
    "ResNet152V2": (60_236_904, 143_744),
}

# timm 1.0.31 (`timm.create_model(name)`): sum(p.numel() for p in model.parameters()) and the BN buffers
# (running_mean, running_var) of the model of the same name (resnet50d for ResNet50D...).
TIMM = {
    "ResNet26": (15_995_176, 30_848),
    "ResNet18D": (11_708_744, 9_728),
    "ResNet26D": (16_014_408, 30_976),
    "ResNet34D": (21_816_904, 17_152),
    "ResNet50D": (25_576_264, 53_248),
    "ResNet101D": (44_568_392, 105_472),
    "ResNet152D": (60_212_040, 151_552),
    "ResNet200D": (64_693_064, 176_128),
    "ResNet50C": (25_576_264, 53_248),
    "ResNet50S": (25_680_808, 53_504),
    "SEResNet50": (28_088_024, 53_120),
    "SEResNet101": (49_326_872, 105_344),
    "SEResNet152": (66_821_848, 151_424),
    "SEResNeXt50_32x4d": (27_559_896, 68_224),
    "SEResNeXt101_32x8d": (93_569_048, 202_880),
    "ECAResNet50D": (25_576_350, 53_248),
    "ECAResNet101D": (44_568_563, 105_472),
    "ResNetBlur50": (25_557_032, 53_120),
    "ResNetRS50": (35_691_912, 53_376),
    "ResNetRS101": (63_618_696, 105_600),
    "ResNetRS152": (86_621_576, 151_680),
    "ResNetRS200": (93_209_992, 176_256),
    "ResNetRS270": (129_861_448, 243_072),
    "ResNetRS350": (163_956_168, 312_192),
    "ResNetRS420": (191_891_656, 370_560),
}

# timm's published GMACs (results/benchmark-infer-amp-nchw-pt240-cu124-rtx4090.csv, infer_gmacs) at the
# size it lists (224 where it has it): its profiler also counts BatchNormalization, ours only convolutions
# and the classifier (the papers' convention), so ours are 0.2-0.8% lower.
TIMM_GMACS = {
    "ResNet26": (224, 2.36),
    "ResNet18D": (224, 2.06),
    "ResNet26D": (224, 2.6),
    "ResNet34D": (224, 3.91),
    "ResNet50D": (224, 4.35),
    "ResNet101D": (224, 8.08),
    "ResNet152D": (224, 11.8),
    "ResNet200D": (256, 20.0),
    "ResNet50C": (224, 4.35),
    "ResNet50S": (224, 5.47),
    "SEResNet50": (224, 4.11),
    "SEResNet101": (224, 7.84),
    "SEResNet152": (224, 11.57),
    "SEResNeXt50_32x4d": (224, 4.26),
    "SEResNeXt101_32x8d": (224, 16.48),
    "ECAResNet50D": (224, 4.35),
    "ECAResNet101D": (224, 8.08),
    "ResNetBlur50": (224, 5.16),
    "ResNetRS50": (224, 4.48),
    "ResNetRS101": (192, 6.04),
    "ResNetRS152": (256, 15.59),
    "ResNetRS200": (256, 20.18),
    "ResNetRS270": (256, 27.06),
    "ResNetRS350": (288, 43.67),
    "ResNetRS420": (320, 64.2),
}

# The papers' layouts, restated here so the oracle below does not read the code it checks.
PAPER_STAGES = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
    200: ("bottleneck", (3, 24, 36, 3)),
}
# family: (ImageNet stem, stage widths, pre-activation, shortcut, CIFAR block, CIFAR depth = layers*3n + offset)
# He 2015/2016; Xie 2017 (ResNeXt-29: 64-channel stem, stages of 256/512/1024 outputs, C*d-wide bottleneck
# doubling per stage); Zagoruyko 2016 (WRN-d-k: 16-channel stem, pre-act basic blocks of 16k/32k/64k,
# 1x1 projections where the width changes, d = 6n + 4).
PAPER_FAMILIES = {
    "resnet": (True, (64, 128, 256, 512), False, "B", None, None),
    "resnet_v2": (True, (64, 128, 256, 512), True, "B", None, None),
    "resnext": (True, (64, 128, 256, 512), False, "B", None, None),
    "wide_resnet": (True, (64, 128, 256, 512), False, "B", None, None),
    "cifar_resnet": (False, (16, 32, 64), False, "A", "basic", 2),
    "preact_resnet": (False, (16, 32, 64), True, "B", "bottleneck", 2),
    "cifar_resnext": (False, (64, 128, 256), False, "B", "bottleneck", 2),
    "cifar_wide_resnet": (False, (16, 32, 64), True, "B", "basic", 4),
}
# Huang 2017 Table 1 (k = 32, 161: k = 48); DenseNet-BC on CIFAR: 3 blocks of n = (L - 4) / 6 layers.
PAPER_DENSE_BLOCKS = {
    121: (6, 12, 24, 16),
    161: (6, 12, 36, 24),
    169: (6, 12, 32, 32),
    201: (6, 12, 48, 32),
    264: (6, 12, 64, 48),
}


class Tally:
    """Trainable and non-trainable parameters, added layer by layer."""

    def __init__(self, use_bias=False):
        self.use_bias, self.trainable, self.non_trainable = use_bias, 0, 0

    def conv(self, cin, cout, kernel, groups=1):
        self.trainable += kernel * kernel * cin // groups * cout + (cout if self.use_bias else 0)

    def bn(self, channels):
        # BN: 2 trainable (gamma, beta) and 2 non-trainable (moving mean, variance) per channel.
        self.trainable += 2 * channels
        self.non_trainable += 2 * channels

    def dense(self, cin, classes):
        self.trainable += cin * classes + classes
        return self.trainable, self.non_trainable


def expected_counts(model_name, use_bias=False, classes=None):
    """(trainable, non-trainable) of a named model, counted layer by layer from the papers' descriptions
    (timm's own counts for the models named after timm's)."""
    if model_name in TIMM and not use_bias and classes is None:
        return TIMM[model_name]
    family_name, options = specs.MODELS[model_name]
    return paper_counts(family_name, options, use_bias, classes)


def paper_counts(family_name, options, use_bias=False, classes=None):
    """(trainable, non-trainable) of `build(family_name, **options)` from the papers' descriptions."""
    if "densenet" in family_name:
        return densenet_counts(family_name, options, classes)
    imagenet, widths, preact, shortcut, cifar_block, offset = PAPER_FAMILIES[family_name]
    shortcut = options.get("shortcut", shortcut)
    classes = classes or (1000 if imagenet else 10)
    if imagenet:
        block, counts = PAPER_STAGES[options["depth"]]
    else:
        block = options.get("block", cifar_block)
        n = (options["depth"] - offset) // (9 if block == "bottleneck" else 6)
        counts = (n, n, n)
    cardinality, group_width = options.get("cardinality", 1), options.get("bottleneck_width", widths[0])
    widen = options.get("widen", 1)
    tally = Tally(use_bias)
    cin = widths[0]
    tally.conv(3, cin, 7 if imagenet else 3)
    if not preact:
        tally.bn(cin)
    for stage, (blocks, width) in enumerate(zip(counts, widths)):
        for index in range(blocks):
            strides = 2 if stage and not index else 1
            if preact:
                tally.bn(cin)
            if block == "basic":
                cout = width * widen
                tally.conv(cin, cout, 3), tally.bn(cout), tally.conv(cout, cout, 3)
            else:
                inner, cout = cardinality * group_width * 2**stage * widen, width * 4
                tally.conv(cin, inner, 1), tally.bn(inner), tally.conv(inner, inner, 3, cardinality), tally.bn(inner)
                tally.conv(inner, cout, 1)
            if not preact:
                tally.bn(cout)
            if shortcut == "highway":
                tally.conv(cin, cout, 1)
                tally.trainable += cout  # the gate's bias
            if shortcut == "C" or (shortcut == "B" and (cin != cout or strides != 1)):
                tally.conv(cin, cout, 1)
                if not preact:
                    tally.bn(cout)
            cin = cout
    if preact:
        tally.bn(cin)
    return tally.dense(cin, classes)


def densenet_counts(family_name, options, classes=None):
    """DenseNet(-BC): a 2k-channel stem, dense layers of BN-1x1(4k)-BN-3x3(k) (or BN-3x3(k) without the
    bottleneck), and BN-1x1 transitions keeping floor(theta * channels)."""
    imagenet, k = family_name == "densenet", options["growth_rate"]
    bottleneck, theta = options.get("block", "bottleneck") == "bottleneck", options.get("compression", 0.5)
    blocks = (
        PAPER_DENSE_BLOCKS[options["depth"]] if imagenet else ((options["depth"] - 4) // (6 if bottleneck else 3),) * 3
    )
    tally, channels = Tally(), 2 * k
    tally.conv(3, channels, 7 if imagenet else 3)
    if imagenet:
        tally.bn(channels)
    for index, layers_in_block in enumerate(blocks):
        for _ in range(layers_in_block):
            tally.bn(channels)
            if bottleneck:
                tally.conv(channels, 4 * k, 1), tally.bn(4 * k), tally.conv(4 * k, k, 3)
            else:
                tally.conv(channels, k, 3)
            channels += k
        if index < len(blocks) - 1:
            tally.bn(channels), tally.conv(channels, int(channels * theta), 1)
            channels = int(channels * theta)
    tally.bn(channels)
    return tally.dense(channels, classes or (1000 if imagenet else 10))
