"""What the keras_resnet layers share: registration and the BatchNormalization they all build."""

import keras
from keras import layers

from keras_resnet.specs import BN_EPSILON, BN_MOMENTUM  # noqa: F401  (the defaults of every layer's options)


def register(cls):
    """Register a class for `.keras` / get_config deserialization under the package name."""
    return keras.saving.register_keras_serializable(package="keras_resnet")(cls)


class NormOptions:
    """The BatchNormalization options a layer takes (Model Garden's norm_momentum/epsilon, use_sync_bn) and
    hands, with its dtype policy, to every sublayer it builds."""

    def _norm_options(self, bn_momentum, bn_epsilon, sync_bn):
        self.bn_momentum, self.bn_epsilon, self.sync_bn = float(bn_momentum), float(bn_epsilon), bool(sync_bn)

    def make_norm(self, name, zero=False):
        return layers.BatchNormalization(
            momentum=self.bn_momentum,
            epsilon=self.bn_epsilon,
            synchronized=self.sync_bn,
            gamma_initializer="zeros" if zero else "ones",
            dtype=self.dtype_policy,
            name=name,
        )

    def norm_config(self):
        return {"bn_momentum": self.bn_momentum, "bn_epsilon": self.bn_epsilon, "sync_bn": self.sync_bn}
