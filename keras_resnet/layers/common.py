"""Constants and helpers shared by the keras_resnet layers."""

import keras

# keras.applications' epsilon, so converted weights reproduce its outputs; momentum 0.9 as in the
# papers' Torch code (Keras' default 0.99 lags badly in short runs).
BN_EPSILON = 1.001e-5
BN_MOMENTUM = 0.9


def register(cls):
    """Register a layer for `.keras` / get_config deserialization under the package name."""
    return keras.saving.register_keras_serializable(package="keras_resnet")(cls)
