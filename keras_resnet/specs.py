"""The spec table: every family and every named model of keras_resnet as plain data.

Builders in `keras_resnet.models` read these rows; adding a depth or a variant is a new row here,
never new builder code. Nothing in this module imports Keras.
"""

import dataclasses
import difflib


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


def unknown_name(name, known):
    """A ValueError for an unknown model or family name, with close-match suggestions."""
    # Same words in another order ("resnet_cifar") first: with many "res*" families, difflib alone misses it.
    words = lambda text: sorted(str(text).lower().split("_"))  # noqa: E731
    matches = [k for k in known if words(k) == words(name)] or difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(matches)}?" if matches else ""
    return ValueError(f"Unknown model {name!r}.{hint} keras_resnet.available_models() lists every name.")
