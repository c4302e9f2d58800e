"""Published ImageNet weights by name: `weights="imagenet"` or a source tag downloads, checks, converts once and caches.

Two sources, each fetched by its own well-kept client:

- keras.applications' files (ResNet50/101/152, their V2s, DenseNet121/169/201): `keras.utils.get_file` from
  keras.applications' own URL (the base path read from Keras' source), checked against keras.applications'
  own md5 (`KERAS_FILES`, equal to the hashes in Keras' source: a test keeps them so);
- timm's weights on the Hugging Face Hub (`timm/<architecture>.<tag>`, `model.safetensors`):
  `huggingface_hub.hf_hub_download`, which honours `HF_ENDPOINT`, `HF_HOME` and `HF_HUB_OFFLINE`. The Hub
  names a weights file's blob by its sha256 (its LFS etag), checked here, so a file cut short or damaged in
  transit is refused and fetched again, never loaded.

A fetched file is converted once (`weights.load_foreign`) for the model with the source's preprocessing
inside it (mean/std of the pixels 0-255; keras.applications' "caffe" BGR order becomes the first
convolution's channel order) and kept as our own `.weights.h5` with a card beside it, in
`$KERAS_HOME/models/keras_resnet/`; a later call checks that file's sha256 against its card and reads
only it, with no network. Two processes fetching the same weights take turns on a file lock: the second
finds the first one's file.

    model = keras_resnet.ResNet50D(weights="imagenet")                   # timm/resnet50d.ra2_in1k
    model = keras_resnet.ResNet50(weights="torchvision/IMAGENET1K_V2")   # timm's copy of torchvision's
    keras_resnet.available_weights("ResNet50")                           # what weights= accepts
"""

import dataclasses
import hashlib
import os
import re
import urllib.parse

from keras_resnet import models, specs
from keras_resnet.utils import files
from keras_resnet.weights.convert import LAYOUTS, TRAINED, keras_home, load_foreign

# The Hub revision the conversions are written for. The Hub's commit of each file cannot be looked up
# offline, so the branch is named and the commit actually fetched is recorded in each cached card.
REVISION = "main"
HUB_FILE = "model.safetensors"
# Mirrors of keras.applications' files (a local server in the tests, a company mirror): the scheme and
# host of keras.applications' URLs are replaced by this variable's value, the path kept.
ENDPOINT_VARIABLE = "KERAS_RESNET_APPLICATIONS_ENDPOINT"
# A download that fails or arrives damaged is tried once more before the call gives up.
ATTEMPTS = 2

# The pixels (0-255, RGB) each source's weights were trained on: per-channel mean and std.
TIMM_MEAN, TIMM_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # timm's IMAGENET_DEFAULT_MEAN/STD (0-1)
PREPROCESSING = {
    # keras.applications' preprocess_input modes: "caffe" (BGR, mean subtracted), "tf" (to [-1, 1]), "torch".
    "caffe": {"mean": [123.68, 116.779, 103.939], "std": [1.0, 1.0, 1.0]},
    "tf": {"mean": [127.5] * 3, "std": [127.5] * 3},
    "torch": {"mean": [round(255 * m, 4) for m in TIMM_MEAN], "std": [round(255 * s, 4) for s in TIMM_STD]},
}

# The licences of keras.applications' ImageNet files: Kaiming He's release for the v1 ResNets; none stated
# per file for the others.
KERAS_MIT = "MIT (Kaiming He's release, ported by Keras)"
KERAS_UNSTATED = "as keras.applications (not stated per file)"
# keras.applications' ImageNet files: model -> (keras.applications module, md5 of the file with the top as
# keras.applications checks it, preprocessing mode, top-1 % as keras.io's applications table publishes it,
# licence of the weights, builder options the file's layout needs besides `LAYOUTS`).
KERAS_FILES = {
    "ResNet50": ("resnet", "2cb95161c43110f7111970584f804107", "caffe", 74.9, KERAS_MIT, {}),
    "ResNet101": ("resnet", "f1aeb4b969a6efcfb50fad2f0c20cfc5", "caffe", 76.4, KERAS_MIT, {}),
    "ResNet152": ("resnet", "100835be76be38e30d865e96f2aaae62", "caffe", 76.6, KERAS_MIT, {}),
    "ResNet50V2": ("resnet", "3ef43a0b657b3be2300d5770ece849e0", "tf", 76.0, KERAS_UNSTATED, {"use_bias": True}),
    "ResNet101V2": ("resnet", "6343647c601c52e1368623803854d971", "tf", 77.2, KERAS_UNSTATED, {"use_bias": True}),
    "ResNet152V2": ("resnet", "a49b44d1979771252814e80f8ec446f9", "tf", 78.0, KERAS_UNSTATED, {"use_bias": True}),
    "DenseNet121": ("densenet", "9d60b8095a5708f2dcce2bca79d332c7", "torch", 75.0, KERAS_UNSTATED, {}),
    "DenseNet169": ("densenet", "d699b8f76981ab1b30698df4c175e90b", "torch", 76.2, KERAS_UNSTATED, {}),
    "DenseNet201": ("densenet", "1ceb130c1ea1b78c3bf6114dbdfd8807", "torch", 77.3, KERAS_UNSTATED, {}),
}

# timm's ImageNet-1k weights on the Hub: model -> (timm architecture, {tag: (input size trained at, top-1 % at
# that size as timm's results/results-imagenet.csv publishes it, licence)}), from timm's `default_cfgs`
# (pytorch-image-models aa4b5850), timm's default first. All use timm's default mean/std; SEResNet101/152
# have none published.
HUB = {
    "ResNet26": ("resnet26", {"bt_in1k": (224, 75.298, "apache-2.0")}),
    "ResNet18D": ("resnet18d", {"ra2_in1k": (224, 72.296, "apache-2.0")}),
    "ResNet26D": ("resnet26d", {"bt_in1k": (224, 76.698, "apache-2.0")}),
    "ResNet34D": ("resnet34d", {"ra2_in1k": (224, 77.108, "apache-2.0")}),
    "ResNet50D": (
        "resnet50d",
        {
            "ra2_in1k": (224, 80.546, "apache-2.0"),
            "a1_in1k": (224, 80.73, "apache-2.0"),
            "a2_in1k": (224, 80.268, "apache-2.0"),
            "a3_in1k": (160, 77.222, "apache-2.0"),
            "gluon_in1k": (224, 79.08, "apache-2.0"),
        },
    ),
    "ResNet101D": ("resnet101d", {"ra2_in1k": (256, 82.254, "apache-2.0"), "gluon_in1k": (224, 80.466, "apache-2.0")}),
    "ResNet152D": ("resnet152d", {"ra2_in1k": (256, 83.16, "apache-2.0"), "gluon_in1k": (224, 80.476, "apache-2.0")}),
    "ResNet200D": ("resnet200d", {"ra2_in1k": (256, 83.25, "apache-2.0")}),
    "ResNet50C": ("resnet50c", {"gluon_in1k": (224, 78.016, "apache-2.0")}),
    "ResNet50S": ("resnet50s", {"gluon_in1k": (224, 78.71, "apache-2.0")}),
    "SEResNet50": (
        "seresnet50",
        {
            "a1_in1k": (224, 80.012, "apache-2.0"),
            "a2_in1k": (224, 80.102, "apache-2.0"),
            "a3_in1k": (160, 75.104, "apache-2.0"),
            "ra2_in1k": (224, 80.26, "apache-2.0"),
        },
    ),
    "SEResNeXt50_32x4d": (
        "seresnext50_32x4d",
        {"racm_in1k": (224, 81.268, "apache-2.0"), "gluon_in1k": (224, 79.916, "apache-2.0")},
    ),
    "SEResNeXt101_32x8d": ("seresnext101_32x8d", {"ah_in1k": (224, 83.618, "apache-2.0")}),
    "ECAResNet50D": ("ecaresnet50d", {"miil_in1k": (224, 80.634, "apache-2.0")}),
    "ECAResNet101D": ("ecaresnet101d", {"miil_in1k": (224, 82.18, "apache-2.0")}),
    "ResNetBlur50": ("resnetblur50", {"bt_in1k": (224, 79.306, "apache-2.0")}),
    "ResNetRS50": ("resnetrs50", {"tf_in1k": (160, 77.858, "apache-2.0")}),
    "ResNetRS101": ("resnetrs101", {"tf_in1k": (192, 80.706, "apache-2.0")}),
    "ResNetRS152": ("resnetrs152", {"tf_in1k": (256, 82.9, "apache-2.0")}),
    "ResNetRS200": ("resnetrs200", {"tf_in1k": (256, 83.884, "apache-2.0")}),
    "ResNetRS270": ("resnetrs270", {"tf_in1k": (256, 83.596, "apache-2.0")}),
    "ResNetRS350": ("resnetrs350", {"tf_in1k": (288, 84.304, "apache-2.0")}),
    "ResNetRS420": ("resnetrs420", {"tf_in1k": (320, 84.24, "apache-2.0")}),
    "ResNet18": (
        "resnet18",
        {
            "a1_in1k": (224, 71.504, "apache-2.0"),
            "a2_in1k": (224, 70.634, "apache-2.0"),
            "a3_in1k": (160, 65.67, "apache-2.0"),
            "tv_in1k": (224, 69.752, "bsd-3-clause"),
            "fb_ssl_yfcc100m_ft_in1k": (224, 72.636, "cc-by-nc-4.0"),
            "fb_swsl_ig1b_ft_in1k": (224, 73.286, "cc-by-nc-4.0"),
            "gluon_in1k": (224, 70.844, "apache-2.0"),
        },
    ),
    "ResNet34": (
        "resnet34",
        {
            "a1_in1k": (224, 76.42, "apache-2.0"),
            "a2_in1k": (224, 75.52, "apache-2.0"),
            "a3_in1k": (160, 70.58, "apache-2.0"),
            "bt_in1k": (224, 75.176, "apache-2.0"),
            "tv_in1k": (224, 73.298, "bsd-3-clause"),
            "gluon_in1k": (224, 74.574, "apache-2.0"),
        },
    ),
    "ResNet50": (
        "resnet50",
        {
            "a1_in1k": (224, 80.382, "apache-2.0"),
            "a1h_in1k": (176, 79.264, "apache-2.0"),
            "a2_in1k": (224, 79.828, "apache-2.0"),
            "a3_in1k": (160, 75.994, "apache-2.0"),
            "b1k_in1k": (224, 79.564, "apache-2.0"),
            "b2k_in1k": (224, 79.388, "apache-2.0"),
            "c1_in1k": (224, 79.766, "apache-2.0"),
            "c2_in1k": (224, 79.868, "apache-2.0"),
            "d_in1k": (224, 79.904, "apache-2.0"),
            "ram_in1k": (224, 79.034, "apache-2.0"),
            "am_in1k": (224, 79.004, "apache-2.0"),
            "ra_in1k": (224, 78.82, "apache-2.0"),
            "bt_in1k": (224, 78.444, "apache-2.0"),
            "tv_in1k": (224, 76.156, "bsd-3-clause"),
            "tv2_in1k": (176, 79.434, "bsd-3-clause"),
            "fb_ssl_yfcc100m_ft_in1k": (224, 79.252, "cc-by-nc-4.0"),
            "fb_swsl_ig1b_ft_in1k": (224, 81.146, "cc-by-nc-4.0"),
            "gluon_in1k": (224, 77.58, "apache-2.0"),
        },
    ),
    "ResNet101": (
        "resnet101",
        {
            "a1h_in1k": (224, 81.95, "apache-2.0"),
            "a1_in1k": (224, 81.494, "apache-2.0"),
            "a2_in1k": (224, 81.344, "apache-2.0"),
            "a3_in1k": (160, 77.928, "apache-2.0"),
            "tv_in1k": (224, 77.404, "bsd-3-clause"),
            "tv2_in1k": (176, 79.908, "bsd-3-clause"),
            "gluon_in1k": (224, 79.306, "apache-2.0"),
        },
    ),
    "ResNet152": (
        "resnet152",
        {
            "a1h_in1k": (224, 82.818, "apache-2.0"),
            "a1_in1k": (224, 81.998, "apache-2.0"),
            "a2_in1k": (224, 81.764, "apache-2.0"),
            "a3_in1k": (160, 78.896, "apache-2.0"),
            "tv_in1k": (224, 78.33, "bsd-3-clause"),
            "tv2_in1k": (176, 80.222, "bsd-3-clause"),
            "gluon_in1k": (224, 79.712, "apache-2.0"),
        },
    ),
    "ResNeXt50_32x4d": (
        "resnext50_32x4d",
        {
            "a1h_in1k": (224, 81.14, "apache-2.0"),
            "a1_in1k": (224, 80.526, "apache-2.0"),
            "a2_in1k": (224, 80.444, "apache-2.0"),
            "a3_in1k": (160, 77.732, "apache-2.0"),
            "ra_in1k": (224, 79.8, "apache-2.0"),
            "tv_in1k": (224, 77.632, "bsd-3-clause"),
            "tv2_in1k": (176, 79.384, "bsd-3-clause"),
            "fb_ssl_yfcc100m_ft_in1k": (224, 80.316, "cc-by-nc-4.0"),
            "fb_swsl_ig1b_ft_in1k": (224, 82.162, "cc-by-nc-4.0"),
            "gluon_in1k": (224, 79.354, "apache-2.0"),
        },
    ),
    "ResNeXt101_32x8d": (
        "resnext101_32x8d",
        {
            "tv_in1k": (224, 79.308, "bsd-3-clause"),
            "tv2_in1k": (176, 81.99, "bsd-3-clause"),
            "fb_wsl_ig1b_ft_in1k": (224, 82.72, "cc-by-nc-4.0"),
            "fb_ssl_yfcc100m_ft_in1k": (224, 81.62, "cc-by-nc-4.0"),
            "fb_swsl_ig1b_ft_in1k": (224, 84.276, "cc-by-nc-4.0"),
        },
    ),
    "ResNeXt101_64x4d": (
        "resnext101_64x4d",
        {
            "c1_in1k": (224, 82.446, "apache-2.0"),
            "tv_in1k": (224, 82.978, "bsd-3-clause"),
            "gluon_in1k": (224, 80.64, "apache-2.0"),
        },
    ),
    "WideResNet50_2": (
        "wide_resnet50_2",
        {
            "racm_in1k": (224, 81.466, "apache-2.0"),
            "tv_in1k": (224, 78.486, "bsd-3-clause"),
            "tv2_in1k": (176, 80.442, "bsd-3-clause"),
        },
    ),
    "WideResNet101_2": (
        "wide_resnet101_2",
        {"tv_in1k": (224, 78.862, "bsd-3-clause"), "tv2_in1k": (176, 80.494, "bsd-3-clause")},
    ),
}
# torchvision's own tags for the copies of its weights timm keeps on the Hub (same arrays, as safetensors).
TORCHVISION = {"torchvision/IMAGENET1K_V1": "tv_in1k", "torchvision/IMAGENET1K_V2": "tv2_in1k"}


@dataclasses.dataclass(frozen=True)
class Source:
    """One set of published weights for one model: where it comes from and how it was trained.

    `kind` is "keras.applications" or "hub"; `location` the keras.applications file's URL or the Hub repo
    id; `checksum` the file's md5 (keras.applications) or None (the Hub's etag is checked instead)."""

    model: str
    tag: str
    kind: str
    location: str
    checksum: str
    preprocessing: dict
    input_size: int
    top1: float
    licence: str
    options: dict
    bgr: bool = False

    def card(self):
        """The model card as published by the source: where, top-1, licence, input size, preprocessing."""
        return {
            "model": self.model,
            "weights": self.tag,
            "source": self.kind,
            "location": self.location,
            "revision": REVISION if self.kind == "hub" else None,
            "md5": self.checksum,
            "top1": self.top1,
            "input_size": self.input_size,
            "licence": self.licence,
            "preprocessing": self.preprocessing,
            "channel_order": "BGR (the first convolution's input channels are reversed)" if self.bgr else "RGB",
            "options": self.options,
        }


def available_weights(name):
    """The names `weights=` accepts for a model besides None and a file path.

    Args:
        name: a model name, e.g. "ResNet50".

    Returns:
        A list: "imagenet" (the default published weights) first where any exist, then each source tag
        ("keras.applications", "timm/resnet50.a1_in1k", "torchvision/IMAGENET1K_V2", ...), and
        shipped weights ("cifar10" for ResNet20).

    Example: `keras_resnet.available_weights("ResNet50D")`.
    """
    if name not in specs.MODELS:
        raise ValueError(str(specs.unknown_name(name, list(specs.MODELS))))
    tags = []
    if name in KERAS_FILES:
        tags.append("keras.applications")
    if name in HUB:
        architecture, published = HUB[name]
        tags += [f"timm/{architecture}.{tag}" for tag in published]
        tags += [alias for alias, tag in TORCHVISION.items() if tag in published]
    shipped = [dataset for dataset, names in TRAINED.items() if name in names]
    return (["imagenet"] if tags else []) + tags + shipped


def is_name(weights):
    """Whether a `weights=` string names published weights ("imagenet" or a source tag) rather than a file.

    Args:
        weights: what a model function's `weights=` was given.

    Returns:
        A bool.
    """
    return weights in ("imagenet", "keras.applications") or weights.startswith(("timm/", "torchvision/"))


def source(name, weights):
    """The `Source` of `weights` ("imagenet" or a tag of `available_weights(name)`) for a model.

    Args:
        name: a model function's name, e.g. "ResNet50D".
        weights: "imagenet" or a source tag.

    Returns:
        A `Source`.

    Raises:
        ValueError: the model has no such weights; the message lists those it has.
    """
    asked = weights
    if weights == "imagenet" and name in KERAS_FILES:
        weights = "keras.applications"
    elif weights == "imagenet" and name in HUB:
        weights = f"timm/{HUB[name][0]}.{next(iter(HUB[name][1]))}"
    weights = f"timm/{HUB[name][0]}.{TORCHVISION[weights]}" if weights in TORCHVISION and name in HUB else weights
    family = specs.MODELS[name][0] if name in specs.MODELS else name
    if weights == "keras.applications" and name in KERAS_FILES:
        module, md5, mode, top1, licence, options = KERAS_FILES[name]
        return Source(
            name,
            weights,
            "keras.applications",
            keras_url(module, name),
            md5,
            PREPROCESSING[mode],
            224,
            top1,
            licence,
            {**LAYOUTS.get(("keras", family), {}), **options},
            bgr=mode == "caffe",
        )
    if name in HUB and weights.startswith(f"timm/{HUB[name][0]}.") and weights.split(".", 1)[1] in HUB[name][1]:
        size, top1, licence = HUB[name][1][weights.split(".", 1)[1]]
        return Source(
            name,
            weights,
            "hub",
            weights,
            None,
            PREPROCESSING["torch"],
            size,
            top1,
            licence,
            dict(LAYOUTS.get(("torch", family), {})),
        )
    known = [tag for tag in available_weights(name) if tag not in TRAINED] if name in specs.MODELS else []
    raise ValueError(
        f"weights={asked!r} are not published for {name}: "
        + (f"use one of {known}" if known else "no ImageNet weights exist for it; pass None to train it")
        + ", or the path of a weights file."
    )


def keras_url(module, name):
    """keras.applications' URL of a model's ImageNet file (with the top), on the mirror `ENDPOINT_VARIABLE` names.

    Args:
        module: keras.applications' module of the model ("resnet", "resnet_v2", "densenet").
        name: the file's name.

    Returns:
        The URL as a string.
    """
    import importlib

    base = importlib.import_module(f"keras.src.applications.{module}").BASE_WEIGHTS_PATH
    url = f"{base}{name.lower()}_weights_tf_dim_ordering_tf_kernels.h5"
    mirror = os.environ.get(ENDPOINT_VARIABLE)
    if mirror:
        url = mirror.rstrip("/") + urllib.parse.urlsplit(url).path
    return url


def weights_card(name, weights="imagenet"):
    """The model card of published weights, readable without downloading them.

    Args:
        name: the model name ("ResNet50D").
        weights: "imagenet" or a tag of `available_weights(name)`.

    Returns:
        A dict: model, weights (the source tag), source, location, revision, md5, top1 (as published),
        input_size, licence, preprocessing (mean/std of 0-255 pixels), channel_order, options. Once the
        weights are cached, also `cached` with the commit or file fetched and the converted file's sha256.

    Example: `keras_resnet.weights_card("ResNet50D")["top1"]`.
    """
    found = source(name, weights)
    card = found.card()
    path = cache_path(found)
    if os.path.exists(card_path(path)):
        card["cached"] = files.read_json(card_path(path), "remove it; the weights are fetched again")["cached"]
    return card


def build_options(found, options):
    """The caller's build options with what the weights need: their preprocessing, layout options, 1000
    classes with the top and, with the top and no input shape given, the input size they were trained at.

    Args:
        found: the `Source` of the weights.
        options: the caller's build options.

    Returns:
        The options to build with, as a new dict.

    Raises:
        ValueError: an option the caller gave differs from what the weights need.
    """
    wanted = dict(options)
    include_top = wanted.get("include_top", True)
    if include_top and wanted.get("classes", 1000) != 1000:
        raise ValueError(
            f"weights={found.tag!r} with include_top=True need classes=1000, not {wanted['classes']}: "
            "pass include_top=False to put your own classifier on the features."
        )
    needed = {**found.options, "preprocessing": found.preprocessing}
    for key, value in needed.items():
        given = wanted.get(key)
        if given is None:
            wanted[key] = value
        elif _plain(given) != _plain(value):
            raise ValueError(
                f"weights={found.tag!r} for {found.model} need {key}={value!r}, not {given!r}: leave "
                f"{key} out (the model then gets it)."
            )
    if include_top and wanted.get("input_shape") is None:
        wanted["input_shape"] = (found.input_size, found.input_size, wanted.get("in_channels") or 3)
    return wanted


def _plain(value):
    if isinstance(value, dict):
        return {
            key: [float(v) for v in (item if hasattr(item, "__len__") else [item] * 3)] for key, item in value.items()
        }
    return value


def cache_path(found):
    """Where the converted weights of a `Source` are kept.

    Args:
        found: the `Source`.

    Returns:
        The path `$KERAS_HOME/models/keras_resnet/<model>.<tag>.weights.h5`, as a string.
    """
    slug = re.sub(r"[^A-Za-z0-9_.-]", "_", found.tag)
    return os.path.join(keras_home(), "models", "keras_resnet", f"{found.model}.{slug}.weights.h5")


def card_path(path):
    """The model card kept beside a cached weights file.

    Args:
        path: the cached `.weights.h5` file.

    Returns:
        The path of its `.json` card.
    """
    return path[: -len(".weights.h5")] + ".json"


def canonical_plan(found):
    """The plan the weights are converted and cached for: the whole model (top, 1000 classes, RGB) at the
    source's input size, with its preprocessing and layout options.

    Args:
        found: the `Source`.

    Returns:
        A `keras_resnet.specs.Plan`.
    """
    return specs.resolve(found.model, **build_options(found, {"include_top": True, "classes": 1000}))


def fetch(found):
    """The path of the converted, cached `.weights.h5` of a `Source`: downloaded, checked and converted
    on the first call (under a file lock), read from the cache afterwards with no network call.

    Args:
        found: the `Source`.

    Returns:
        The path of the cached file, as a string.

    Raises:
        ValueError: the weights could not be fetched; one sentence naming the file, its URL and where to
            place it by hand.
    """
    path = cache_path(found)
    if _cached(path):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with files.held(path + ".lock"):
        if _cached(path):  # another process converted them while this one waited
            return path
        downloaded, fetched = (_keras_file if found.kind == "keras.applications" else _hub_file)(found)
        plan = canonical_plan(found)
        model = models.build_model(plan)
        load_foreign(model, downloaded, plan, source="torch" if found.kind == "hub" else "keras.applications")
        if found.bgr:  # the file's first convolution reads BGR; ours is given RGB
            stem = model.get_layer("stem_conv")
            stem.kernel.assign(stem.kernel.numpy()[:, :, ::-1, :])
        with files.atomic_write(path, needs=files.model_bytes(model, optimizer=False)) as partial:
            model.save_weights(partial)
        files.write_json(card_path(path), {**found.card(), "cached": {**fetched, "sha256": _sha256(path)}})
    return path


def _cached(path):
    """Whether the converted file and its card are there and agree (a damaged file is removed, to be fetched again)."""
    if not (os.path.exists(path) and os.path.exists(card_path(path))):
        return False
    try:
        expected = files.read_json(card_path(path), "")["cached"]["sha256"]
    except (ValueError, KeyError, TypeError):
        expected = None
    if expected == _sha256(path):
        return True
    os.remove(path)
    return False


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _keras_file(found):
    """keras.applications' file through `keras.utils.get_file` (md5 checked), in Keras' own cache folder."""
    import keras

    name = os.path.basename(urllib.parse.urlsplit(found.location).path)
    folder = os.path.join(keras_home(), "models")
    reason = None
    for attempt in range(ATTEMPTS):
        try:
            path = keras.utils.get_file(
                name,
                found.location,
                file_hash=found.checksum,
                cache_dir=keras_home(),
                cache_subdir="models",
                force_download=attempt > 0,
            )
            return path, {"url": found.location, "md5": found.checksum}
        except Exception as error:  # noqa: BLE001  get_file raises a bare Exception for a failed fetch
            reason = str(error).splitlines()[0]
    if os.path.exists(os.path.join(folder, name)):
        os.remove(os.path.join(folder, name))  # a damaged file is never left to be taken for the real one
    raise ValueError(
        f"weights={found.tag!r} for {found.model} need {name} from {found.location}, which could not be fetched "
        f"({reason}): download it by hand on a machine with internet and place it in {folder} (md5 "
        f"{found.checksum}), then call again."
    )


def _hub_file(found):
    """timm's `model.safetensors` through `hf_hub_download`, its sha256 checked against the Hub's etag."""
    try:
        from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:
        raise ValueError(
            f"weights={found.tag!r} come from the Hugging Face Hub, which needs huggingface_hub: "
            "pip install 'keras-resnet-family[weights]'."
        ) from None
    # huggingface_hub reads its variables once, at import: read them per call, so that they can change.
    endpoint = os.environ.get("HF_ENDPOINT")
    cache = os.environ.get("HF_HUB_CACHE") or (
        os.path.join(os.environ["HF_HOME"], "hub") if "HF_HOME" in os.environ else None
    )
    offline = os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")
    url = hf_hub_url(found.location, HUB_FILE, revision=REVISION, endpoint=endpoint)
    reason = None
    if not offline:
        try:  # one HEAD without retries: huggingface_hub itself backs off for ~25 s when the Hub is unreachable
            get_hf_file_metadata(url)
        except Exception as error:  # noqa: BLE001  httpx's connection errors and the Hub's HTTP errors
            reason = str(error).splitlines()[0]
    for attempt in range(0 if reason else ATTEMPTS):
        try:
            path = hf_hub_download(
                found.location,
                HUB_FILE,
                revision=REVISION,
                cache_dir=cache,
                endpoint=endpoint,
                force_download=attempt > 0,
                local_files_only=offline,
            )
        except Exception as error:  # noqa: BLE001  network, HTTP and cache errors of huggingface_hub and httpx
            reason = str(error).splitlines()[0]
            if offline or isinstance(error, LocalEntryNotFoundError):
                break  # the Hub cannot be reached (it already retried): a second try would only wait longer
            continue
        blob = os.path.realpath(path)
        etag = os.path.basename(blob)  # the cache names a blob by its etag: an LFS file's sha256
        if re.fullmatch(r"[0-9a-f]{64}", etag) and _sha256(blob) != etag:
            reason = f"its sha256 is not the Hub's {etag[:12]}..."
            os.remove(blob)
            continue
        if not _safetensors_whole(blob):
            reason = "it is not a whole safetensors file"
            os.remove(blob)
            continue
        return path, {
            "repo_id": found.location,
            "file": HUB_FILE,
            "commit": os.path.basename(os.path.dirname(path)),
            "sha256": etag,
        }
    raise ValueError(
        f"weights={found.tag!r} for {found.model} need {HUB_FILE} of {found.location} from {url}, which could not be "
        f"fetched ({reason}): download it by hand on a machine with internet and pass its path as weights= (or "
        "set HF_HOME to a Hub cache that holds it), then call again."
    )


def _safetensors_whole(path):
    """Whether a safetensors file's header parses and its arrays are all there."""
    try:
        from safetensors import safe_open

        with safe_open(path, "np") as file:
            for key in file.keys():  # noqa: SIM118  a safetensors handle, not a dict: it is not iterable
                file.get_slice(key)
        return True
    except Exception:  # noqa: BLE001  safetensors raises its own error type for a damaged header
        return False
