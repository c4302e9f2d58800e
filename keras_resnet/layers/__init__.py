"""Custom, serializable Keras layers of keras_resnet (registered under package "keras_resnet")."""

from keras_resnet.layers.blocks import (
    BasicBlock,
    BottleneckBlock,
    DenseLayer,
    HighwayShortcut,
    ResidualBlock,
    Transition,
)
from keras_resnet.layers.shortcuts import IdentityShortcut, ProjectionShortcut, ZeroPadShortcut
from keras_resnet.layers.stochastic_depth import StochasticDepth

__all__ = [
    "BasicBlock",
    "BottleneckBlock",
    "DenseLayer",
    "HighwayShortcut",
    "IdentityShortcut",
    "ProjectionShortcut",
    "ResidualBlock",
    "StochasticDepth",
    "Transition",
    "ZeroPadShortcut",
]
