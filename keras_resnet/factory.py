"""`keras_resnet.build` and the named model functions: resolve a plan, build it, load its weights.

timm's order: `specs.resolve` validates and plans, `models.build_model` builds, then `weights.load` fills
the model; none of those modules imports this one. `applications.py` holds one `def` per row of
`specs.MODELS` (`def ResNet50(...)`), generated from the table by `applications_source()`:

    python -m keras_resnet.factory > keras_resnet/applications.py
"""

import os

from keras_resnet import models, specs
from keras_resnet.models import feature_info, features, freeze, pyramid_outputs  # noqa: F401  (public API)
from keras_resnet.utils import files
from keras_resnet.weights import pretrained
from keras_resnet.weights.convert import INPUT_CONVS, TRAINED, adapt_input_conv, trained_card, trained_options
from keras_resnet.weights.convert import load as load_weights
from keras_resnet.weights.pretrained import available_weights, weights_card  # noqa: F401  (public API)

SIGNATURE_DOC = """include_top: add global average pooling and the `classes`-way classifier.
        weights: None (random initialisation), "imagenet" (published ImageNet weights, downloaded with a
            checked hash, converted once and cached, see docs/weights.md), a source tag of
            `keras_resnet.available_weights(name)` ("timm/resnet50d.ra2_in1k", "torchvision/IMAGENET1K_V2"),
            "cifar10" (ResNet20: weights trained by this package, shipped with it, its model card is in
            docs/training.md), or
            a path: a `.weights.h5` / `.keras` file, a keras.applications file or a torchvision/timm state
            dict (converted, see `keras_resnet.weights`; `weights_source=` names what the file is where its
            name does not tell, e.g. "keras.applications" for its `.weights.h5`).
        input_tensor: optional tensor to use as the model's input.
        input_shape: (height, width, channels), default {input_shape}.
        pooling: without the top, None (4D feature map), "avg" or "max".
        classes: number of classes (default {classes}).
        classifier_activation: activation of the classifier ("softmax", None for logits).
        name: model name (default "{name}")."""


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


def build(name, /, *, weights=None, input_tensor=None, weights_source=None, **kwargs):
    """Build a model by name ("ResNet56") or by family and depth ("cifar_resnet", depth=272).

    Args:
        name: a name from `available_models()` or a family from `available_families()`.
        weights: None, "imagenet" or a source tag (`available_weights(name)`: downloaded, checked, cached),
            "cifar10" (shipped weights) or the path of a weights file (see the model functions).
        input_tensor: optional tensor to use as the model's input.
        weights_source: what a weights file is, where its name does not tell: None, "keras_resnet",
            "keras.applications" or "torch" (`keras_resnet.weights.SOURCES`).
        **kwargs: `depth` (families only; a named model's depth is fixed), the keras.applications
            arguments and the family's options (`keras_resnet.specs.OPTIONS`), which override the named
            model's own.

    Returns:
        A `keras.Model`.

    Raises:
        ValueError: a bad argument, in one sentence naming it (see `keras_resnet.specs.resolve`).
        TypeError: an option the family does not have; the message lists those it has.

    Example: `keras_resnet.build("cifar_resnet", depth=272, shortcut="B")`.
    """
    if weights is not None and not isinstance(weights, (str, os.PathLike)):
        raise TypeError(
            f"weights must be None, 'imagenet', 'cifar10' or a path to a weights file, not {type(weights).__name__}."
        )
    if input_tensor is not None and kwargs.get("input_shape") is None:
        kwargs["input_shape"] = tuple(input_tensor.shape[1:])
    if isinstance(weights, str) and weights in TRAINED:
        return _trained(name, weights, input_tensor, kwargs)
    if isinstance(weights, str) and pretrained.is_name(weights) and not os.path.exists(weights):
        return _published(name, weights, input_tensor, kwargs)
    plan = specs.resolve(name, **kwargs)
    if weights is not None and not os.path.exists(weights):
        raise ValueError(
            f"weights={str(weights)!r} does not exist: pass None, 'imagenet', 'cifar10' (ResNet20) or the path of a "
            ".weights.h5 / .keras "
            "file, a keras.applications .h5 file or a torchvision/timm .pth / .safetensors state dict."
        )
    model = models.build_model(plan, input_tensor)
    if weights is not None:
        load_weights(model, weights, plan, weights_source)
    return model


def _published(name, weights, input_tensor, kwargs):
    # Published weights: the source's preprocessing and layout, checked before anything is downloaded.
    if name not in specs.MODELS:
        raise ValueError(
            f"weights={weights!r} are published per model: build it by name (e.g. 'ResNet50'), not as {name!r}."
        )
    found = pretrained.source(name, weights)
    kwargs = pretrained.build_options(found, kwargs)
    plan = specs.resolve(name, **kwargs)
    path = pretrained.fetch(found)
    model = models.build_model(plan, input_tensor)
    if plan.include_top and plan.input_shape[-1] == 3:
        load_weights(model, path, plan)
        return model
    whole_plan = pretrained.canonical_plan(found)
    whole = models.build_model(whole_plan)
    load_weights(whole, path, whole_plan)
    _copy_layers(whole, model)
    return model


def _trained(name, weights, input_tensor, kwargs):
    # Weights this package trained: the card's normalisation and classes, the file's hash checked (once).
    card = trained_card(name, weights)
    kwargs = trained_options(card, kwargs)
    plan = specs.resolve(name, **kwargs)
    model = models.build_model(plan, input_tensor)
    if plan.include_top:
        load_weights(model, card["path"], plan)
        return model
    whole_plan = specs.resolve(
        name, **{**kwargs, "include_top": True, "classes": card["options"]["classes"], "pooling": None}
    )
    whole = models.build_model(whole_plan)
    load_weights(whole, card["path"], whole_plan)
    _copy_layers(whole, model)
    return model


def _copy_layers(whole, model):
    # Without the top or with other input channels: the file holds the whole model; every layer of
    # `model` takes its weights by name, an image-reading convolution adapted to the channels.
    for layer in model.layers:
        if layer.weights:
            values = whole.get_layer(layer.name).get_weights()
            if layer.name in INPUT_CONVS:
                values[0] = adapt_input_conv(values[0], layer.weights[0].shape[2])
            layer.set_weights(values)


def convert(name, source, output, **options):
    """Build `name` with the weights of `source` (any file `weights=` takes) and save it as a `.keras` file.

    Args:
        name: a model name ("ResNet50") or family (with `depth=` in `options`), as `build`.
        source: "imagenet" or a source tag (`available_weights(name)`), a keras.applications file or a
            torchvision/timm state dict.
        output: the `.keras` file to write; an existing file is never overwritten.
        **options: builder options the source needs (`variant="v1.5"` for torchvision ResNets;
            `use_bias=True, stride_position="last"` for keras.applications' ResNetV2) and the signature's.

    Returns:
        The converted `keras.Model`.

    Example: `convert("ResNet50", "resnet50-0676ba61.pth", "resnet50.keras", variant="v1.5")`.
    """
    output = os.fspath(output)
    if not output.endswith(".keras"):
        raise ValueError(f"output {output!r} must end in .keras.")
    if os.path.exists(output):
        raise ValueError(f"output {output!r} exists: keras_resnet never overwrites; remove it or pick another name.")
    model = build(name, weights=source, **options)
    with files.atomic_write(output, needs=files.model_bytes(model, optimizer=False)) as partial:
        model.save(partial)  # to a hidden name, renamed when whole: a reader never sees a half-written file
    return model


def model_function(function):
    """Complete the docstring of a generated model function from the table: its paper, signature, options."""
    family_name, _ = specs.MODELS[function.__name__]
    family = specs.FAMILIES[family_name]
    options = "\n".join(f"            {key}: {specs.OPTIONS[key]}." for key in specs.family_options(family_name))
    signature = SIGNATURE_DOC.format(input_shape=family.input_shape, classes=family.classes, name=function.__name__)
    function.__doc__ = (
        f"{function.__doc__.strip()}\n\n    From {family.paper}. Inputs are channels-last images (default shape "
        f"{family.input_shape}).\n\n    Args:\n        {signature}\n        **options: the family's options "
        f"(`keras_resnet.specs.OPTIONS`), here:\n{options}\n\n    Returns:\n        A `keras.Model`.\n\n"
        f"    Example: `model = keras_resnet.{function.__name__}(weights=None)`.\n    "
    )
    return function


HEADER = '''"""One function per named model, each a row of `keras_resnet.specs.MODELS` (generated: do not edit).

Regenerate with `python -m keras_resnet.factory > keras_resnet/applications.py` after changing the table.
"""

from keras_resnet.factory import build, model_function
'''
FUNCTION = '''

@model_function
def {name}(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes={classes},
        classifier_activation="softmax", name=None, **options):
    """{name}: {family} with {row}."""
    return build("{name}", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)
'''


def applications_source():
    """The text of `keras_resnet/applications.py`: one `def` per row of `specs.MODELS`, in table order."""
    return HEADER + "".join(
        FUNCTION.format(
            name=name,
            family=family,
            classes=specs.FAMILIES[family].classes,
            row=", ".join(f"{key}={value!r}" for key, value in row.items()),
        )
        for name, (family, row) in specs.MODELS.items()
    )


if __name__ == "__main__":
    print(applications_source(), end="")
