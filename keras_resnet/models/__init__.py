"""The builder: `build_model(plan)` turns a `keras_resnet.specs.Plan` into a `keras.Model`; model files
load back through `load_model_file`; `backbone` turns a model into a feature extractor and `flops` counts its
multiply-adds. `keras_resnet.build` (in `keras_resnet.factory`, above the weights room) resolves, builds with
this room and loads weights."""

from keras_resnet.models.backbone import (
    FeatureInfo,
    Network,
    check_freeze,
    feature_info,
    features,
    freeze,
    pyramid_outputs,
)
from keras_resnet.models.base import (
    PREPROCESSING,
    build_model,
    build_options,
    load_model_file,
    preprocessing_layer,
    stem,
)

__all__ = [
    "PREPROCESSING",
    "FeatureInfo",
    "Network",
    "build_model",
    "build_options",
    "check_freeze",
    "feature_info",
    "features",
    "freeze",
    "load_model_file",
    "preprocessing_layer",
    "pyramid_outputs",
    "stem",
]
