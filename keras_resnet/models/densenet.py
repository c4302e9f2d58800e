"""The DenseNet builder (Huang et al. 2017): ImageNet DenseNet-121/161/169/201/264 and CIFAR DenseNet(-BC).

Each dense layer and each transition is one registered layer (`DenseLayer`, `Transition`), so
DenseNet-BC-250 is a graph of ~130 nodes.
"""

from keras import layers

from keras_resnet import specs
from keras_resnet.layers import DenseLayer, Transition
from keras_resnet.layers.blocks import check_compression, check_positive_int
from keras_resnet.layers.common import BN_EPSILON, BN_MOMENTUM
from keras_resnet.models.base import assemble, rule_stages, table_stages
from keras_resnet.models.resnet import stem

# Width of the 1x1 bottleneck in a DenseNet-B layer, as a multiple of the growth rate (Huang 2017, sec. 3).
BOTTLENECK = 4


def build_densenet(family_name, depth, block=None, growth_rate=None, compression=None, **signature):
    """Build any member of a DenseNet family of `specs.FAMILIES` (see `keras_resnet.build`).

    Stem (2k channels: 7x7/2 conv-BN-ReLU and 3x3/2 max-pool on ImageNet, one 3x3 conv on CIFAR), dense
    blocks separated by transitions, then BN-ReLU, global average pooling and the classifier.

    Args:
        family_name: a key of `specs.FAMILIES` whose builder is "densenet".
        depth: a row of the family's table (121, 161, 169, 201, 264) or, for CIFAR, 6n+4 with bottleneck
            layers (DenseNet-BC) or 3n+4 without (the original DenseNet).
        block: "bottleneck" (1x1 conv to 4k channels before each 3x3) or "basic" for rule-based families.
        growth_rate: channels k each dense layer adds.
        compression: fraction theta of the channels a transition keeps, in (0, 1] (0.5 for -BC).
        **signature: the keras.applications arguments (`include_top`, `weights`, ...).
    """
    family = specs.FAMILIES[family_name]
    given = {"block": block, "growth_rate": growth_rate, "compression": compression}
    options = {**family.defaults, **{key: value for key, value in given.items() if value is not None}}
    if family.depths:
        block_type, counts = table_stages(family_name, family, depth)
    else:
        block_type = options["block"]
        counts = (rule_stages(family_name, family, depth, block_type, stages=3),) * 3
    growth_rate, compression = options["growth_rate"], options["compression"]
    check_positive_int("growth_rate", growth_rate)
    check_compression(compression)
    bottleneck = BOTTLENECK if block_type == "bottleneck" else 0

    def body(x):
        # Both papers' stems have 2k channels; the CIFAR stem is normalised by the first layer's BN-ReLU.
        x = stem(x, family.stem, 2 * growth_rate, normalize=family.stem == "imagenet")
        for stage, layers_in_block in enumerate(counts, start=1):
            for index in range(1, layers_in_block + 1):
                x = DenseLayer(growth_rate, bottleneck=bottleneck, name=f"stage{stage}_block{index}")(x)
            if stage < len(counts):
                x = Transition(compression, name=f"stage{stage}_transition")(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name="post_bn")(x)
        return layers.ReLU(name="post_relu")(x)

    signature["name"] = signature.get("name") or f"{family_name}{depth}"
    return assemble(family_name, body, depth=depth, **signature)
