"""The naive baseline the benchmarks compare against: a CIFAR ResNet as a flat functional graph.

Every convolution, batch norm, ReLU and addition is its own node, as a hand-written Keras model would be.
Same layers and parameters as `keras_resnet.build("cifar_resnet", depth=...)` with option-A shortcuts.
"""

import keras
from keras import layers

from keras_resnet.layers import ZeroPadShortcut


def flat_cifar_resnet(depth, classes=10, input_shape=(32, 32, 3)):
    n = (depth - 2) // 6
    inputs = keras.Input(input_shape)
    bn = lambda: layers.BatchNormalization(epsilon=1.001e-5, momentum=0.9)  # noqa: E731
    x = layers.ReLU()(bn()(layers.Conv2D(16, 3, padding="same", use_bias=False)(inputs)))
    for stage, filters in enumerate((16, 32, 64)):
        for index in range(n):
            strides = 2 if stage and not index else 1
            shortcut = ZeroPadShortcut(filters, strides)(x) if strides > 1 else x
            y = x
            if strides > 1:
                y = layers.ZeroPadding2D(1)(y)
            y = layers.Conv2D(filters, 3, strides=strides, padding="valid" if strides > 1 else "same", use_bias=False)(y)
            y = layers.ReLU()(bn()(y))
            y = bn()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
            x = layers.ReLU()(layers.Add()([shortcut, y]))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(classes, activation="softmax")(x))
