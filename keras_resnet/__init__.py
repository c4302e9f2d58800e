"""keras_resnet: every member of the residual-network family, one call away (Keras 3).

    import keras_resnet
    model = keras_resnet.ResNet50(weights=None)
    model = keras_resnet.build("cifar_resnet", depth=272, shortcut="B")
"""

from keras_resnet import layers, specs
from keras_resnet.flops import flops
from keras_resnet.models import MODEL_FUNCTIONS, available_families, available_models, build

globals().update(MODEL_FUNCTIONS)

__version__ = "0.1.0"
__all__ = ["available_families", "available_models", "build", "flops", "layers", "specs", *MODEL_FUNCTIONS]
