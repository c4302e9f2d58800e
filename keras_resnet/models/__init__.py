"""Model builders, `build()` and one public function per row of `specs.MODELS`."""

from keras_resnet import specs
from keras_resnet.models.base import PREPROCESSING, preprocessing_layer, unknown_name
from keras_resnet.models.densenet import build_densenet
from keras_resnet.models.resnet import build_resnet

BUILDERS = {"resnet": build_resnet, "densenet": build_densenet}
# What `**kwargs` of a generated model function accepts, by builder (documented in each builder).
BUILDER_OPTIONS = {
    "resnet": 'shortcut ("A", "B", "C", "highway", "none"), stochastic_depth (p_L),\n'
    "            zero_init_residual, use_bias, dropout, variant (\"v1\", \"v1.5\"), block, cardinality,\n"
    "            bottleneck_width, widen, stride_position (\"first\", \"last\")",
    "densenet": 'growth_rate, compression, block ("bottleneck", "basic")',
}


def available_models():
    """The model names `build()` and `keras_resnet.<name>()` accept.

    Returns:
        A sorted list of names, e.g. "ResNet50", "PreActResNet164".

    Example: `keras_resnet.build(keras_resnet.available_models()[0])`.
    """
    return sorted(specs.MODELS)


def available_families():
    """The family names `build(family, depth=...)` accepts.

    Returns:
        A sorted list of names, e.g. "cifar_resnet", "resnext".

    Example: `keras_resnet.build("cifar_resnet", depth=272)`.
    """
    return sorted(specs.FAMILIES)


def build(name, /, **kwargs):
    """Build a model by name ("ResNet56") or by family and depth ("cifar_resnet", depth=272).

    Args:
        name: a name from `available_models()` or a family from `available_families()`.
        **kwargs: `depth` (families only; a named model's depth is fixed), the keras.applications
            arguments and the family's options (shortcut, stochastic_depth, variant, ...), which override
            the named model's own.

    Returns:
        A `keras.Model`.

    Example: `keras_resnet.build("cifar_resnet", depth=272, shortcut="B")`.
    """
    if name in specs.MODELS:
        family_name, options = specs.MODELS[name]
        if "depth" in kwargs and kwargs["depth"] != options["depth"]:
            raise ValueError(
                f"{name} has depth {options['depth']}; to change the depth use "
                f"build({family_name!r}, depth={kwargs['depth']})."
            )
        kwargs = {**options, "name": name, **{k: v for k, v in kwargs.items() if not (k == "name" and v is None)}}
    elif name in specs.FAMILIES:
        family_name = name
        if "depth" not in kwargs:
            raise ValueError(f"build({name!r}) needs depth=..., e.g. build({name!r}, depth=56).")
    else:
        raise unknown_name(name, available_models() + available_families())
    return BUILDERS[specs.FAMILIES[family_name].builder](family_name, **kwargs)


def _model_function(model_name):
    family_name, options = specs.MODELS[model_name]
    family = specs.FAMILIES[family_name]

    def model_function(
        include_top=True,
        weights=None,
        input_tensor=None,
        input_shape=None,
        pooling=None,
        classes=family.classes,
        classifier_activation="softmax",
        name=None,
        **kwargs,
    ):
        return build(
            model_name,
            include_top=include_top,
            weights=weights,
            input_tensor=input_tensor,
            input_shape=input_shape,
            pooling=pooling,
            classes=classes,
            classifier_activation=classifier_activation,
            name=name,
            **kwargs,
        )

    described = ", ".join(f"{key}={value!r}" for key, value in options.items())
    model_function.__name__ = model_function.__qualname__ = model_name
    model_function.__module__ = "keras_resnet"
    model_function.__doc__ = f"""Instantiate {model_name}: {family_name} ({described}).

    From {family.paper}. Inputs are channels-last images (default shape {family.input_shape}).

    Args:
        include_top: add global average pooling and the `classes`-way classifier.
        weights: None (random initialisation), "imagenet" (keras.applications' cached file, converted), or
            a path: a `.weights.h5` / `.keras` file, a keras.applications file or a torchvision/timm state
            dict (converted, see `keras_resnet.weights`).
        input_tensor: optional tensor to use as the model's input.
        input_shape: (height, width, channels), default {family.input_shape}.
        pooling: without the top, None (4D feature map), "avg" or "max".
        classes: number of classes (default {family.classes}).
        classifier_activation: activation of the classifier ("softmax", None for logits).
        name: model name (default "{model_name}").
        **kwargs: family options: {BUILDER_OPTIONS[family.builder]}.

    Returns:
        A `keras.Model`.

    Example: `model = keras_resnet.{model_name}(weights=None)`.
    """
    return model_function


MODEL_FUNCTIONS = {model_name: _model_function(model_name) for model_name in specs.MODELS}
