"""SavedModels for TF Serving: versioned directories, named signatures, atomic writes, verification.

TensorFlow-only (like data.py and training.py): the export is a plain TensorFlow graph that TF Serving
(>= MIN_TF_SERVING) loads with no Python code of ours, and no Keras, on the server.

Layout (TF Serving's): `<base>/<name>/<integer version>/saved_model.pb + variables/ + assets.extra/`,
tag `serve`. Two signatures, batch dimension first everywhere so that server-side batching works:

    serving_default   images       float32 [None, H, W, C], pixel values 0-255
    serving_bytes     image_bytes  string [None], encoded JPEG/PNG/GIF/BMP (REST: {"b64": ...});
                                   decoded, resized (bilinear) to H x W, then the same graph

Both return `probabilities` [None, classes], `classes` [None] (int64 argmax), `top_k_scores`,
`top_k_classes` and `top_k_labels` [None, k] (label names from a labels file, else the class index).

Preprocessing lives in the model: `keras_resnet.training.train` puts the training data's normalisation
into the model's graph (a layer named "preprocessing"), so a run's model takes raw 0-255 pixels and the
export adds nothing: with default settings the served answer is `model.predict` on the same pixels. For a
model trained elsewhere on scaled inputs, `scale`, `mean` and `std` put `(pixels * scale - mean) / std`
in front of it; the values are stored in `assets.extra/keras_resnet.json`. A model that carries its own
preprocessing refuses them (they would normalise twice).

Encoded images are checked before they are decoded: an image whose header announces more than
`max_pixels` pixels (default 4096 x 4096) fails that request with INVALID_ARGUMENT, without the memory
and time a huge decode takes.

`assets.extra/` (files TF Serving copies but the graph never reads) also holds `labels.txt`,
`keras_reference.npz` (sample images with the answers `verify` compares the served ones with: for an
export of a training run's file, real test images and the trained model's answers written by the run;
otherwise random images and the Keras model's outputs) and `tf_serving_warmup_requests` (one PredictionLog
per signature, replayed by TF Serving when it loads the version; the messages are generated from
`prediction_log.proto`, TF Serving's own fields and numbers).
"""

import dataclasses
import errno
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid

import keras
import numpy as np
import tensorflow as tf

from keras_resnet.models.base import PREPROCESSING, load_model_file
from keras_resnet.serving import prediction_log_pb2
from keras_resnet.utils import checks, files

# Written by TensorFlow 2.21: an older TF Serving may not know an op or attribute of this graph.
MIN_TF_SERVING = "2.21"
SIGNATURES = {"serving_default": "images", "serving_bytes": "image_bytes"}
OUTPUTS = ("probabilities", "classes", "top_k_scores", "top_k_classes", "top_k_labels")
EXTRA = "assets.extra"
METADATA, LABELS, REFERENCE, WARMUP = (
    "keras_resnet.json",
    "labels.txt",
    "keras_reference.npz",
    "tf_serving_warmup_requests",
)
# A TF Serving model name is one path component of the REST URL /v1/models/<name>.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# A version folder's name: ASCII digits only (str.isdigit also accepts '²', which int() refuses).
VERSION = re.compile(r"[0-9]+")
CHECK_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tf_serving_check.py")
# An encoded image announcing more pixels than this is refused before decoding (4096 x 4096).
MAX_PIXELS = 4096 * 4096
# Ops that reach outside the graph: files (variables are restored by the loader's own saver, which `io_ops`
# does not walk), the network, other processes, Python. `verify` refuses an export whose signatures or
# initialisation use one, unless trusted: it runs that graph.
IO_OPS = re.compile(
    r".*(File|Save|Restore|Reader|Summary|Rpc|PyFunc|Dataset|Iterator|Collective|Nccl|Debug|Print|Checkpoint|Event"
    r"|Sql|LMDB|Shell|ImmutableConst).*|_?(Send|Recv)"
)
# What a run (train or tune) leaves beside its model file: real test images and the model's answers.
RUN_SAMPLES, RUN_RESULTS = "samples.npz", "results.json"


def check_name(name):
    """Check that `name` can be a TF Serving model name (one path component of /v1/models/<name>).

    Args:
        name: the model name, e.g. "resnet56".

    Returns:
        `name`.

    Raises:
        ValueError: the name is empty, all digits, holds a "/" or another character TF Serving refuses.
    """
    if not isinstance(name, str) or not NAME.fullmatch(name) or name.isdigit():
        hint = " (a name is one directory, not a path: put the parent in --base)" if "/" in str(name) else ""
        raise ValueError(
            f"name={name!r} is not a valid model name{hint}: use letters, digits, '.', '_' or '-', "
            "starting with a letter or digit and not all digits, e.g. 'resnet56'."
        )
    return name


def versions(export_dir):
    """The integer versions under a model directory, oldest first (what TF Serving would see).

    Args:
        export_dir: a model directory `<base>/<name>`.

    Returns:
        A sorted list of ints (empty when the directory does not exist).
    """
    if not os.path.isdir(export_dir):
        return []
    return sorted(
        int(entry)
        for entry in os.listdir(export_dir)
        if VERSION.fullmatch(entry) and os.path.isdir(os.path.join(export_dir, entry))
    )


def version_dir(path):
    """The version directory TF Serving would serve from `path`.

    Args:
        path: a version directory (holding saved_model.pb) or a model directory.

    Returns:
        `path` itself if it is a version, else the path of its latest integer version.

    Raises:
        ValueError: `path` holds no version.
    """
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    found = versions(path)
    if not found:
        raise ValueError(f"{path!r} holds no SavedModel version: export one with `keras-resnet export` first.")
    return os.path.join(path, str(found[-1]))


def load_model(path):
    """A Keras model from a `.keras` file (compiled), with a clear error for a missing or wrong file.

    Args:
        path: a `.keras` file, e.g. `<output>/final.keras` of `keras_resnet.training.train`.

    Returns:
        A `keras.Model`.
    """
    return load_model_file(path, compile=True)  # keras_resnet's layers are registered: importing this module did it


def export_saved_model(
    model,
    export_dir,
    *,
    labels=None,
    top_k=5,
    scale=1.0,
    mean=0.0,
    std=1.0,
    version=None,
    samples=2,
    max_pixels=MAX_PIXELS,
):
    """Export a Keras classifier as a new version of a TF Serving model directory.

    The version is written to a hidden temporary directory beside the versions and renamed into place,
    so a server never sees half a version, and an existing version is never overwritten: concurrent
    exports of the same model each get their own number.

    Args:
        model: a built `keras.Model` with a classifier top, or the path of a `.keras` file. A file that a
            training run or a search wrote comes with real test images and the run's answers on them
            (`samples.npz` beside it), which the export keeps for `verify`.
        export_dir: the model directory `<base>/<name>`; versions go in `<base>/<name>/<n>`.
        labels: optional class names, a list or the path of a text file with one name per line.
        top_k: how many best classes the `top_k_*` outputs return.
        scale, mean, std: for a model trained elsewhere on scaled inputs, `(pixels * scale - mean) / std`
            on 0-255 pixels inside the graph (mean and std may be per channel). The default adds nothing:
            the model gets the pixels, as `keras_resnet` models (which carry their preprocessing) expect.
        version: an explicit integer version (must not exist yet); default: the latest one plus 1.
        samples: random sample images whose Keras outputs are stored for `verify`, when there are no
            run samples.
        max_pixels: the largest image (height x width, read from its header) `serving_bytes` decodes.

    Returns:
        The path of the new version directory.

    Example: `keras_resnet.serving.export.export_saved_model("runs/digits/final.keras", "saved_models/resnet20")`.
    """
    checks.check_all(top_k=top_k, version=version, scale=scale, max_pixels=max_pixels)
    export_dir = os.path.normpath(os.fspath(export_dir))
    check_name(os.path.basename(export_dir))
    if os.path.islink(export_dir):  # the export would land wherever the link points, outside the base
        raise ValueError(
            f"{export_dir} is a symbolic link (to {os.readlink(export_dir)}): an export writes only into a real "
            "folder of its base; remove the link or choose another --name or --base."
        )
    run = _run_files(model) if isinstance(model, (str, os.PathLike)) else {}
    if isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    size, channels, classes = _check_model(model)
    names = _labels(labels, classes)
    if version is not None and os.path.lexists(os.path.join(export_dir, str(version))):
        raise ValueError(
            f"{os.path.join(export_dir, str(version))} exists: an export never overwrites; choose another version."
        )
    preprocessing = {
        "scale": float(scale),
        "mean": checks.per_channel("mean", mean, channels),
        "std": checks.per_channel("std", std, channels, positive=True),
    }
    identity = preprocessing == {"scale": 1.0, "mean": [0.0] * channels, "std": [1.0] * channels}
    if not identity and any(layer.name == PREPROCESSING for layer in model.layers):
        raise ValueError(
            f"model {model.name!r} carries its own preprocessing (its layer {PREPROCESSING!r} normalises the raw "
            "pixels it was trained on): export it without scale/mean/std (--scale, --mean, --std)."
        )
    if "images" in run and tuple(run["images"].shape[1:]) != (*size, channels):
        run = {}  # samples of another input size (the file was moved next to another run's): not this model's

    os.makedirs(export_dir, exist_ok=True)
    _clear_dead_staging(export_dir)
    staging = os.path.join(export_dir, _staging_name())
    needs = 2 * files.model_bytes(model, optimizer=False) + 4 * files.SLACK  # variables, a graph as large, assets
    if files.free_bytes(export_dir) < needs:
        upcoming = version if version is not None else max(versions(export_dir), default=0) + 1
        raise files.WriteError(os.path.join(export_dir, str(upcoming)), f"it needs about {files.megabytes(needs)}")
    try:
        archive = _archive(model, size, channels, preprocessing, names, min(top_k, classes), max_pixels)
        archive.write_out(staging, verbose=False)
        extra = os.path.join(staging, EXTRA)
        os.makedirs(extra)
        if "images" in run:  # the trained model's own answers on real images, computed by the run
            reference = {key: run[key] for key in ("images", "labels", "probabilities")}
        else:
            images = np.random.default_rng(0).integers(0, 256, (samples, *size, channels), dtype=np.uint8)
            reference = {
                "images": images,
                "probabilities": model.predict(_preprocess(images, preprocessing), verbose=0),
            }
        np.savez(os.path.join(extra, REFERENCE), **reference)
        if labels is not None:
            with open(os.path.join(extra, LABELS), "w", encoding="utf-8") as file:
                file.write("\n".join(names) + "\n")
        _write_warmup(os.path.join(extra, WARMUP), np.asarray(reference["images"][:1], np.uint8))
        metadata = {
            "model": model.name,
            "input_size": list(size),
            "channels": channels,
            "classes": classes,
            "top_k": min(top_k, classes),
            "preprocessing": preprocessing,
            "preprocessing_in_model": any(layer.name == PREPROCESSING for layer in model.layers),
            "max_pixels": max_pixels,
            "reference": "the training run's answers on real test images"
            if "images" in run
            else "the Keras model's outputs",
            "signatures": SIGNATURES,
            "outputs": list(OUTPUTS),
            "min_tf_serving": MIN_TF_SERVING,
            "tensorflow": tf.__version__,
            **{key: run[key] for key in ("dataset", "test_accuracy") if key in run},
        }
        with open(os.path.join(extra, METADATA), "w", encoding="utf-8") as file:
            json.dump(metadata, file, indent=2)
        return _publish(staging, export_dir, version)
    except files.WriteError:
        raise
    except OSError as error:
        raise files.WriteError(staging, error.strerror or str(error), error.errno) from error
    except tf.errors.ResourceExhaustedError as error:  # TensorFlow's "No space left on device"
        raise files.WriteError(staging, error.message.split("; ")[-1].split(" [Op")[0]) from error
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging, ignore_errors=True)


def _run_files(path):
    """What a training run or a search left beside a model file: samples, its data set and test accuracy."""
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    found = {}
    samples = os.path.join(folder, RUN_SAMPLES)
    if os.path.isfile(samples):
        with np.load(samples) as arrays:
            found.update({key: arrays[key] for key in ("images", "labels", "probabilities") if key in arrays.files})
    for name, read in (
        (files.CONFIG, lambda v: {"dataset": v.get("dataset")}),
        (RUN_RESULTS, lambda v: {"test_accuracy": v.get("test", {}).get("accuracy")}),
    ):
        if os.path.isfile(os.path.join(folder, name)):
            value = files.read_json(os.path.join(folder, name), "export a copy of the model file from another folder")
            found.update({k: v for k, v in read(value).items() if v is not None} if isinstance(value, dict) else {})
    return found


# Hidden and not an integer, so TF Serving and versions() ignore it until the rename; the host and pid
# tell a later export whether the process writing it is still alive.
STAGING = re.compile(r"\.tmp-(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]{8}")


def _staging_name():
    return f".tmp-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _clear_dead_staging(export_dir):
    """Remove what exports killed on this host left behind. A live export's folder, or one written from
    another host sharing the directory, is left alone: its process cannot be seen from here."""
    for entry in os.listdir(export_dir):
        match = STAGING.fullmatch(entry)
        if match and match["host"] == socket.gethostname() and not _alive(int(match["pid"])):
            shutil.rmtree(os.path.join(export_dir, entry), ignore_errors=True)


def _alive(pid):
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _check_model(model):
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model or the path of a .keras file, not {type(model).__name__}.")
    if not model.built or not getattr(model, "inputs", None):
        raise ValueError(
            f"model {model.name!r} is not built: give it an input shape (keras.Input or input_shape=...) "
            "or call it on a batch before exporting."
        )
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(f"model {model.name!r} must have one image input and one output to be exported.")
    _, height, width, channels = model.inputs[0].shape
    if height is None or width is None or channels not in (1, 3):
        raise ValueError(
            f"model {model.name!r} takes inputs {tuple(model.inputs[0].shape)}: the export needs a fixed "
            "(height, width) and 1 or 3 channels; rebuild it with input_shape=(height, width, 3)."
        )
    if len(model.outputs[0].shape) != 2:
        raise ValueError(
            f"model {model.name!r} outputs {tuple(model.outputs[0].shape)}, not class scores: export a "
            "classifier (include_top=True)."
        )
    return (height, width), channels, model.outputs[0].shape[-1]


def _labels(labels, classes):
    if labels is None:
        return [str(index) for index in range(classes)]
    if isinstance(labels, (str, os.PathLike)):
        if not os.path.isfile(labels):
            raise ValueError(
                f"labels file {str(labels)!r} does not exist: pass a text file with one class name per line."
            )
        with open(labels, encoding="utf-8") as file:
            labels = [line.strip() for line in file if line.strip()]
    labels = [str(label) for label in labels]
    if len(labels) != classes:
        raise ValueError(f"{len(labels)} labels given for a model with {classes} classes: give one name per class.")
    return labels


def _preprocess(pixels, preprocessing):
    """The export's preprocessing on 0-255 pixels, in NumPy or TensorFlow alike."""
    return (pixels * np.float32(preprocessing["scale"]) - np.float32(preprocessing["mean"])) / np.float32(
        preprocessing["std"]
    )


def header_pixels(encoded):
    """Height x width an encoded JPEG, PNG, GIF or BMP announces in its header, read without decoding it.

    0 for anything else (and for a header cut short): `tf.io.decode_image` then refuses it by itself.

    Args:
        encoded: a scalar `tf.string`.

    Returns:
        A scalar int64 tensor.
    """
    padded = tf.strings.join([encoded, tf.constant(b"\0" * 32)])  # every field below can be read

    def number(offset, size, little_endian):
        digits = tf.cast(tf.io.decode_raw(tf.strings.substr(padded, offset, size), tf.uint8), tf.int64)
        powers = tf.range(size, dtype=tf.int64) if little_endian else tf.range(size - 1, -1, -1, dtype=tf.int64)
        return tf.reduce_sum(digits * tf.bitwise.left_shift(tf.constant(1, tf.int64), 8 * powers))

    def bmp():
        height = number(22, 4, True)  # int32, negative for top-down rows
        return number(18, 4, True) * tf.where(height >= 2**31, 2**32 - height, height)

    short = tf.strings.length(encoded) < 26
    return tf.case(
        [
            (short, lambda: tf.constant(0, tf.int64)),
            (tf.io.is_jpeg(encoded), lambda: tf.reduce_prod(tf.image.extract_jpeg_shape(encoded, tf.int64)[:2])),
            (
                tf.equal(tf.strings.substr(padded, 0, 8), b"\x89PNG\r\n\x1a\n"),
                lambda: number(16, 4, False) * number(20, 4, False),
            ),
            (tf.equal(tf.strings.substr(padded, 0, 4), b"GIF8"), lambda: number(6, 2, True) * number(8, 2, True)),
            (tf.equal(tf.strings.substr(padded, 0, 2), b"BM"), bmp),
        ],
        default=lambda: tf.constant(0, tf.int64),
        exclusive=False,
    )


def first_gif_frame(encoded):
    """A GIF cut after its first image (and given its trailer), so that decoding it decodes one frame.

    `tf.io.decode_gif` decodes every frame before `decode_image(expand_animations=False)` keeps the first:
    600 frames of 2000 x 2000 took 13 s and 2.3 GB for one request. The GIF's blocks are walked (an extension
    or an image is a chain of sub-blocks, each led by its size) up to the end of the first image; a GIF
    needing more than `checks.GIF_BLOCKS` steps fails its request.

    Args:
        encoded: a scalar `tf.string` holding a GIF.

    Returns:
        A scalar `tf.string`: the header, what precedes the first image, the image and a trailer.
    """
    length = tf.strings.length(encoded)  # int32: substr's positions

    def byte(at):  # 0 past the end (a GIF cut short then fails in decode_gif)
        read = tf.strings.substr(encoded, tf.minimum(at, length), 1)
        return tf.reduce_sum(tf.cast(tf.io.decode_raw(read, tf.uint8), tf.int32))

    def table(packed):  # a colour table's bytes, from a descriptor's packed field
        return tf.where(packed >= 128, 3 * tf.bitwise.left_shift(tf.constant(2, tf.int32), packed % 8), 0)

    # mode 0: at a block; 1: in an extension's sub-blocks; 2: in the first image's; 3: past that image.
    def step(at, mode, steps):
        lead = byte(at)
        block = tf.case(
            [
                (tf.equal(lead, 0x21), lambda: (at + 2, tf.constant(1, tf.int32))),
                (tf.equal(lead, 0x2C), lambda: (at + 11 + table(byte(at + 9)), tf.constant(2, tf.int32))),
            ],
            default=lambda: (at, tf.constant(3, tf.int32)),  # the trailer, or not a block: decode_gif judges it
        )
        ended = tf.equal(lead, 0)
        after = tf.where(tf.equal(mode, 2), tf.constant(3, tf.int32), tf.constant(0, tf.int32))
        chain = (at + 1 + lead, tf.where(ended, after, mode))
        at, mode = tf.cond(tf.equal(mode, 0), lambda: block, lambda: chain)
        return at, mode, steps + 1

    start = 13 + table(byte(10))  # header and logical screen descriptor, then the global colour table
    at, mode, steps = tf.while_loop(
        lambda at, mode, steps: tf.logical_and(
            tf.less(mode, 3), tf.logical_and(at < length, steps < checks.GIF_BLOCKS)
        ),
        step,
        (start, tf.constant(0, tf.int32), tf.constant(0, tf.int32)),
    )
    allowed = tf.debugging.assert_less(
        steps,
        tf.constant(checks.GIF_BLOCKS, tf.int32),
        message=f"image too complex: this model reads GIFs whose first frame ends within {checks.GIF_BLOCKS} blocks",
    )
    with tf.control_dependencies([allowed]):
        return tf.strings.join([tf.strings.substr(encoded, 0, at), b";"])


def _archive(model, size, channels, preprocessing, labels, top_k, max_pixels):
    """Keras' ExportArchive: it tracks the Keras 3 variables for tf.saved_model and writes only the
    endpoints we declare, as signatures whose input names come from the TensorSpec names."""
    softmax = getattr(model.layers[-1], "activation", None) is keras.activations.linear
    label_names = tf.constant(labels)

    def classify(images):
        scores = model(_preprocess(images, preprocessing), training=False)
        probabilities = tf.nn.softmax(scores) if softmax else scores  # a logits model still serves probabilities
        top_scores, top_classes = tf.math.top_k(probabilities, k=top_k)
        return {
            "probabilities": probabilities,
            "classes": tf.argmax(probabilities, axis=-1),
            "top_k_scores": top_scores,
            "top_k_classes": tf.cast(top_classes, tf.int64),
            "top_k_labels": tf.gather(label_names, top_classes),
        }

    def decode(encoded):
        # A huge image fails its request before its pixels are decoded (a 20000 x 20000 PNG of 1.2 MB
        # would take ~2 GB and minutes); decode_image fails with InvalidArgumentError ("Unknown image file
        # format...") on a corrupt one. Either way the loaded model keeps serving.
        pixels = header_pixels(encoded)
        allowed = tf.debugging.assert_less_equal(
            pixels,
            tf.constant(max_pixels, tf.int64),
            message=f"image too large: this model decodes images of at most max_pixels={max_pixels} pixels",
        )
        with tf.control_dependencies([allowed]):
            # GIF and BMP decode only to 3 (or 4) channels: a grey model reads them as RGB made grey.
            # expand_animations=False gives a GIF's first frame as one 3-D image; only that frame is decoded.
            gif = tf.equal(tf.strings.substr(encoded, 0, 3), b"GIF")
            encoded = tf.cond(gif, lambda: first_gif_frame(encoded), lambda: encoded)
            palette = tf.logical_or(gif, tf.equal(tf.strings.substr(encoded, 0, 2), b"BM"))
            if channels == 1:
                image = tf.cond(
                    palette,
                    lambda: tf.image.rgb_to_grayscale(
                        tf.cast(tf.io.decode_image(encoded, channels=3, expand_animations=False), tf.float32)
                    ),
                    lambda: tf.cast(tf.io.decode_image(encoded, channels=1, expand_animations=False), tf.float32),
                )
            else:
                image = tf.cast(tf.io.decode_image(encoded, channels=channels, expand_animations=False), tf.float32)
        return tf.image.resize(tf.ensure_shape(image, (None, None, channels)), size)

    def classify_bytes(image_bytes):
        images = tf.map_fn(decode, image_bytes, fn_output_signature=tf.TensorSpec((*size, channels), tf.float32))
        return classify(images)

    archive = keras.export.ExportArchive()
    archive.track(model)
    float_spec = tf.TensorSpec((None, *size, channels), tf.float32, name=SIGNATURES["serving_default"])
    archive.add_endpoint("serving_default", classify, input_signature=[float_spec])
    bytes_spec = tf.TensorSpec((None,), tf.string, name=SIGNATURES["serving_bytes"])
    archive.add_endpoint("serving_bytes", classify_bytes, input_signature=[bytes_spec])
    return archive


def _publish(staging, export_dir, version):
    """Rename the finished staging directory to the next free version; a rename onto a non-empty
    directory fails atomically, so two exporters that pick the same number never collide: the loser
    takes the next one."""
    while True:
        number = version if version is not None else max(versions(export_dir), default=0) + 1
        target = os.path.join(export_dir, str(number))
        try:
            if os.path.lexists(target):  # taken (possibly an empty directory, which rename would replace)
                raise FileExistsError(errno.EEXIST, "exists", target)
            os.rename(staging, target)
            return target
        except OSError as error:
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            if version is not None:
                raise ValueError(f"{target} exists: an export never overwrites; choose another version.") from None


def warmup_records(images):
    """TF Serving warm-up requests: serialized PredictionLog records, one per signature.

    Args:
        images: uint8 images `[n, H, W, C]`; each record is a batch-1 request of `images[:1]`.

    Returns:
        A list of bytes, the records of `assets.extra/tf_serving_warmup_requests`.
    """
    encoded = tf.io.encode_png(images[0]).numpy()
    records = []
    for signature, value in (
        ("serving_default", images[:1].astype(np.float32)),
        ("serving_bytes", np.array([encoded], dtype=object)),
    ):
        log = prediction_log_pb2.PredictionLog()
        request = log.predict_log.request
        request.model_spec.signature_name = signature
        request.inputs[SIGNATURES[signature]].CopyFrom(tf.make_tensor_proto(value))
        records.append(log.SerializeToString())
    return records


def _write_warmup(path, images):
    with tf.io.TFRecordWriter(path) as writer:
        for record in warmup_records(images):
            writer.write(record)


def models_config(base_dir, serving_base="/models"):
    """A TF Serving `--model_config_file` text for every model directory under `base_dir`.

    Args:
        base_dir: the export root holding `<name>/<version>` directories.
        serving_base: where `base_dir` is mounted in the server (the docker command mounts it at /models).

    Returns:
        The text of a `model_config_list`, one `config` per model directory.
    """
    names = sorted(entry for entry in os.listdir(base_dir) if versions(os.path.join(base_dir, entry)))
    configs = "".join(
        f'  config {{\n    name: "{name}"\n    base_path: "{serving_base}/{name}"\n'
        '    model_platform: "tensorflow"\n  }\n'
        for name in names
    )
    return (
        "# TF Serving --model_config_file; each model serves its latest integer version by default\n"
        "# (add `model_version_policy { all {} }` to a config to serve every version).\n"
        f"model_config_list {{\n{configs}}}\n"
    )


def write_models_config(base_dir, serving_base="/models"):
    """Write `models_config(base_dir, serving_base)` to `<base_dir>/models.config` atomically.

    Args:
        base_dir: the export root holding `<name>/<version>` directories.
        serving_base: where `base_dir` is mounted in the server.

    Returns:
        The path of `models.config`.
    """
    path = os.path.join(base_dir, "models.config")
    files.write_text(path, models_config(base_dir, serving_base))
    return path


@dataclasses.dataclass
class Verification:
    """What `verify` found; `str()` gives the report the CLI prints."""

    version_dir: str
    reference: str
    max_abs_diff: dict
    tolerance: float
    checks: dict
    accuracy: dict
    saved_model_cli: str
    curl: str

    @property
    def ok(self):
        return max(self.max_abs_diff.values()) <= self.tolerance and all(self.checks.values())

    def __str__(self):
        lines = [f"verified {self.version_dir} with tf.compat.v1 Session loader (keras and keras_resnet blocked)"]
        lines += [
            f"  {name}: max abs diff vs {self.reference} {diff:.3g} (tolerance {self.tolerance:g})"
            for name, diff in self.max_abs_diff.items()
        ]
        lines += [f"  {what}: {value}" for what, value in self.accuracy.items()]
        lines += [f"  {'ok  ' if passed else 'FAIL'} {check}" for check, passed in self.checks.items()]
        lines += ["", "saved_model_cli show --all:", self.saved_model_cli, "TF Serving REST request:", self.curl]
        return "\n".join(lines)


def verify(path, model=None, tolerance=1e-4, port=8501, dataset=None, data_dir=None, trusted=False):
    """Load an export the way TF Serving does and compare its answers with the ones it must give.

    A subprocess in which importing keras or keras_resnet raises loads the version with the
    `tf.compat.v1` Session loader, feeds the signatures by their tensor names (float images and the
    same images PNG-encoded), checks a corrupt image fails that request only, and lists the export as
    `saved_model_cli show --all` does. The served answers are compared with the reference stored at export: a
    training run's answers on real test images when the export came from a run's file (a wrong preprocessing then
    fails here), else the Keras model's outputs.

    `verify` runs the graph of the SavedModel it checks, as TF Serving would: an export whose signatures or
    initialisation hold an op that reaches files, the network or other processes (`io_ops`) is refused
    before anything runs, unless `trusted`.

    Args:
        path: a version directory, or a model directory (its latest version is checked).
        model: optional Keras model (or .keras path) whose outputs on the stored images replace the reference.
        tolerance: largest allowed absolute difference of the probabilities.
        port: TF Serving's REST port, for the printed curl request.
        dataset: optional data set (anything `keras_resnet.training.data.load` takes) whose test split is classified
            through both signatures; the served accuracy is reported beside the one the run recorded,
            and must be within 0.5 points of it.
        data_dir: tfds data directory for `dataset`.
        trusted: run an export's graph even when it holds such ops.

    Returns:
        A `Verification`; `.ok` says whether every check passed, `str()` is the report.

    Example: `print(keras_resnet.serving.export.verify("saved_models/resnet56"))`.
    """
    checks.check_all(tolerance=tolerance, port=port)
    if not os.path.exists(path):
        raise ValueError(f"{str(path)!r} does not exist: pass a model directory such as saved_models/resnet56.")
    path = version_dir(os.path.normpath(os.fspath(path)))
    extra = os.path.join(path, EXTRA)
    if not os.path.isfile(os.path.join(extra, METADATA)):
        raise ValueError(
            f"{path} was not written by keras_resnet.serving.export (no {EXTRA}/{METADATA}): "
            "export it with `keras-resnet export`."
        )
    reaching = io_ops(path)
    if reaching and not trusted:
        raise ValueError(
            f"{path} holds ops that reach files, the network or other processes ({', '.join(reaching)}), which "
            "verify would run: nothing was run; pass trusted=True (--trusted) only for an export you trust."
        )
    with open(os.path.join(extra, METADATA), encoding="utf-8") as file:
        metadata = json.load(file)
    reference = dict(np.load(os.path.join(extra, REFERENCE)))
    described = metadata.get("reference", "the Keras model's outputs")
    if model is not None:
        model = load_model(model) if isinstance(model, (str, os.PathLike)) else model
        reference["probabilities"] = model.predict(
            _preprocess(reference["images"], metadata["preprocessing"]), verbose=0
        )
        described = f"{model.name}'s outputs"
    with tempfile.TemporaryDirectory() as scratch:
        inputs, result = os.path.join(scratch, "inputs.npz"), os.path.join(scratch, "result.npz")
        test = _test_split(dataset, data_dir, metadata) if dataset is not None else None
        np.savez(inputs, images=reference["images"], **({"test_images": test[0]} if test else {}))
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        run = subprocess.run(
            [sys.executable, CHECK_SCRIPT, path, inputs, result], capture_output=True, text=True, env=env
        )
        if run.returncode:
            raise RuntimeError(f"loading {path} the way TF Serving does failed:\n{run.stderr[-3000:]}")
        outputs = dict(np.load(result))
    found = json.loads(str(outputs.pop("checks")))
    listing = str(outputs.pop("saved_model_cli"))
    diffs = {
        name: float(np.max(np.abs(outputs[f"{name}/probabilities"] - reference["probabilities"])))
        for name in SIGNATURES
    }
    accuracy = {}
    if "labels" in reference:
        served = outputs["serving_default/classes"]
        accuracy[f"served accuracy on the {len(served)} stored test images"] = (
            f"{np.mean(served == reference['labels']):.4f}"
        )
    if test:
        recorded = metadata.get("test_accuracy")
        for name in SIGNATURES:
            value = float(np.mean(outputs[f"{name}/test_classes"] == test[1]))
            accuracy[f"{name} accuracy on {len(test[1])} test images of {dataset}"] = (
                f"{value:.4f} (the run recorded {recorded:.4f})" if recorded is not None else f"{value:.4f}"
            )
            if recorded is not None:
                found[f"{name} accuracy within 0.5 points of the run's"] = abs(value - recorded) <= 0.005
    return Verification(
        path,
        described,
        diffs,
        tolerance,
        found,
        accuracy,
        listing,
        curl_request(path, np.asarray(reference["images"][0], np.uint8), port),
    )


def io_ops(version_dir):
    """The ops matching `IO_OPS` that the signatures or the initialisation of a SavedModel can run.

    Read from `saved_model.pb` without loading it: from every signature's outputs (and the loader's init op)
    through their inputs and the functions they call. The saver's restore of the variables is not walked.

    Args:
        version_dir: a SavedModel directory.

    Returns:
        A sorted list of op types (empty when the graph only computes).
    """
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(version_dir, "saved_model.pb"), "rb") as file:
        saved.ParseFromString(file.read())
    meta = next(meta for meta in saved.meta_graphs if "serve" in meta.meta_info_def.tags)
    graph = meta.graph_def
    nodes = {node.name: node for node in graph.node}
    functions = {function.signature.name: function for function in graph.library.function}
    found, seen, todo = set(), set(), [t.name for sig in meta.signature_def.values() for t in sig.outputs.values()]
    todo += [name for name in ("saved_model_main_op", "legacy_init_op") if name in nodes]

    def called(node):
        for value in node.attr.values():
            yield from ([value.func.name] if value.func.name else []) + [f.name for f in value.list.func]

    while todo:
        name = todo.pop().lstrip("^").split(":")[0]
        if name in seen or name not in nodes and name not in functions:
            continue
        seen.add(name)
        body = [nodes[name]] if name in nodes else list(functions[name].node_def)
        for node in body:
            found.add(node.op)
            todo += list(called(node)) + ([] if name in functions else list(node.input))
            if node.op in functions:  # a function called as an op
                todo.append(node.op)
    return sorted(op for op in found if IO_OPS.fullmatch(op))


def _test_split(dataset, data_dir, metadata):
    """The test images (raw pixels) and labels of `dataset`, checked against the export's input."""
    from keras_resnet.training import data

    source = data.load(dataset, data_dir=data_dir)
    expected = (*metadata["input_size"], metadata["channels"])
    if tuple(source.image_shape) != expected:
        raise ValueError(f"dataset {dataset!r} has {tuple(source.image_shape)} images, the export takes {expected}.")
    images, labels = zip(*source.test.as_numpy_iterator())
    return np.stack(images), np.asarray(labels)


def curl_request(path, image, port=8501):
    """A ready `curl` command for TF Serving's REST API: one small PNG of `image` to `serving_bytes`.

    Args:
        path: a version directory `<base>/<name>/<version>` (the name goes in the URL).
        image: one uint8 image `[H, W, C]`.
        port: TF Serving's REST port.

    Returns:
        The command as a string.
    """
    import base64

    name = os.path.basename(os.path.dirname(path))
    small = tf.image.resize(image, (8, 8)).numpy().round().astype(np.uint8)  # the signature resizes it back
    body = {
        "signature_name": "serving_bytes",
        "instances": [{"image_bytes": {"b64": base64.b64encode(tf.io.encode_png(small).numpy()).decode()}}],
    }
    return f"curl -X POST http://localhost:{port}/v1/models/{name}:predict -d {shlex.quote(json.dumps(body))}"
