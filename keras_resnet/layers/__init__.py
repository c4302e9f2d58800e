"""Custom, serializable Keras layers of keras_resnet (registered under package "keras_resnet")."""

from keras_resnet.layers.attention import EfficientChannelAttention, SqueezeExcite
from keras_resnet.layers.blocks import (
    BasicBlock,
    BottleneckBlock,
    DenseLayer,
    HighwayShortcut,
    ResidualBlock,
    Transition,
)
from keras_resnet.layers.blur import BlurPool
from keras_resnet.layers.common import BatchNormalization
from keras_resnet.layers.conv import Conv2D, grouped_conv_path
from keras_resnet.layers.shortcuts import IdentityShortcut, ProjectionShortcut, ZeroPadShortcut
from keras_resnet.layers.stochastic_depth import StochasticDepth, stochastic_depth_path

__all__ = [
    "BasicBlock",
    "BatchNormalization",
    "BlurPool",
    "BottleneckBlock",
    "Conv2D",
    "DenseLayer",
    "EfficientChannelAttention",
    "HighwayShortcut",
    "IdentityShortcut",
    "ProjectionShortcut",
    "ResidualBlock",
    "SqueezeExcite",
    "StochasticDepth",
    "Transition",
    "ZeroPadShortcut",
    "grouped_conv_path",
    "stochastic_depth_path",
]
