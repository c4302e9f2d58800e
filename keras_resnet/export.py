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

Preprocessing: keras_resnet models, like keras.applications, take raw float images and contain no
preprocessing. The export puts `(pixels * scale - mean) / std` in front of the model (default
scale=1/255, mean=0, std=1: pixels / 255), so clients always send 0-255 pixels; the values are stored
in `assets.extra/keras_resnet.json`. Pass the scaling the model was trained with.

`assets.extra/` (files TF Serving copies but the graph never reads) also holds `labels.txt`,
`keras_reference.npz` (sample images and the Keras model's outputs on them, which `verify` compares
against) and `tf_serving_warmup_requests` (one PredictionLog per signature, replayed by TF Serving
when it loads the version).
"""

import dataclasses
import errno
import functools
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

from keras_resnet.models.base import load_model_file

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
CHECK_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tf_serving_check.py")


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
        if entry.isdigit() and os.path.isdir(os.path.join(export_dir, entry))
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
    model, export_dir, *, labels=None, top_k=5, scale=1 / 255, mean=0.0, std=1.0, version=None, samples=2
):
    """Export a Keras classifier as a new version of a TF Serving model directory.

    The version is written to a hidden temporary directory beside the versions and renamed into place,
    so a server never sees half a version, and an existing version is never overwritten: concurrent
    exports of the same model each get their own number.

    Args:
        model: a built `keras.Model` with a classifier top (or the path of a `.keras` file).
        export_dir: the model directory `<base>/<name>`; versions go in `<base>/<name>/<n>`.
        labels: optional class names, a list or the path of a text file with one name per line.
        top_k: how many best classes the `top_k_*` outputs return.
        scale, mean, std: preprocessing inside the graph, `(pixels * scale - mean) / std` on 0-255
            pixels; mean and std may be per-channel sequences.
        version: an explicit integer version (must not exist yet); default: the latest one plus 1.
        samples: random sample images whose Keras outputs are stored for `verify`.

    Returns:
        The path of the new version directory.

    Example: `keras_resnet.export.export_saved_model(model, "saved_models/resnet56")`.
    """
    export_dir = os.path.normpath(os.fspath(export_dir))
    check_name(os.path.basename(export_dir))
    if isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    size, channels, classes = _check_model(model)
    names = _labels(labels, classes)
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise ValueError(f"top_k={top_k!r} must be a positive integer.")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        raise ValueError(f"version={version!r} must be a positive integer (TF Serving versions are integers).")
    if version is not None and os.path.lexists(os.path.join(export_dir, str(version))):
        raise ValueError(
            f"{os.path.join(export_dir, str(version))} exists: an export never overwrites; choose another version."
        )
    preprocessing = {
        "scale": float(scale),
        "mean": _per_channel(mean, channels, "mean"),
        "std": _per_channel(std, channels, "std"),
    }

    os.makedirs(export_dir, exist_ok=True)
    _clear_dead_staging(export_dir)
    staging = os.path.join(export_dir, _staging_name())
    try:
        _archive(model, size, channels, preprocessing, names, min(top_k, classes)).write_out(staging, verbose=False)
        extra = os.path.join(staging, EXTRA)
        os.makedirs(extra)
        images = np.random.default_rng(0).integers(0, 256, (samples, *size, channels), dtype=np.uint8)
        probabilities = model.predict(_preprocess(images, preprocessing), verbose=0)
        np.savez(os.path.join(extra, REFERENCE), images=images, probabilities=probabilities)
        if labels is not None:
            with open(os.path.join(extra, LABELS), "w", encoding="utf-8") as file:
                file.write("\n".join(names) + "\n")
        _write_warmup(os.path.join(extra, WARMUP), images[:1])
        metadata = {
            "model": model.name,
            "input_size": list(size),
            "channels": channels,
            "classes": classes,
            "top_k": min(top_k, classes),
            "preprocessing": preprocessing,
            "signatures": SIGNATURES,
            "outputs": list(OUTPUTS),
            "min_tf_serving": MIN_TF_SERVING,
            "tensorflow": tf.__version__,
        }
        with open(os.path.join(extra, METADATA), "w", encoding="utf-8") as file:
            json.dump(metadata, file, indent=2)
        return _publish(staging, export_dir, version)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging, ignore_errors=True)


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


def _per_channel(value, channels, what):
    values = np.asarray(value, dtype=np.float64).reshape(-1)
    if values.size not in (1, channels) or (what == "std" and values.min() <= 0):
        raise ValueError(
            f"{what}={value!r} must be one number or {channels} per-channel numbers"
            + (", all above 0." if what == "std" else ".")
        )
    return [float(v) for v in np.broadcast_to(values, (channels,))]


def _preprocess(pixels, preprocessing):
    """The export's preprocessing on 0-255 pixels, in NumPy or TensorFlow alike."""
    return (pixels * np.float32(preprocessing["scale"]) - np.float32(preprocessing["mean"])) / np.float32(
        preprocessing["std"]
    )


def _archive(model, size, channels, preprocessing, labels, top_k):
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
        # decode_image fails with InvalidArgumentError ("Unknown image file format...") on a corrupt image:
        # that request gets the error, the loaded model keeps serving. expand_animations=False gives a GIF's
        # first frame as one 3-D image.
        image = tf.io.decode_image(encoded, channels=channels, dtype=tf.uint8, expand_animations=False)
        return tf.image.resize(tf.cast(image, tf.float32), size)

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


@functools.cache
def _serving_protos():
    """PredictionLog and the messages it holds, wire-identical to tensorflow_serving/apis (same field
    numbers and types as prediction_log.proto, predict.proto and model.proto).

    Built here from a descriptor because the tensorflow-serving-api wheel requires the full `tensorflow`
    wheel, which would be installed on top of `tensorflow-cpu`. Only the fields a warm-up request uses
    are declared; the package name differs so that the real protos can be imported beside these.
    """
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from tensorflow.core.framework import tensor_pb2

    field = descriptor_pb2.FieldDescriptorProto
    string, message, optional, repeated = (
        field.TYPE_STRING,
        field.TYPE_MESSAGE,
        field.LABEL_OPTIONAL,
        field.LABEL_REPEATED,
    )
    package = "keras_resnet.tf_serving"

    def fields(*rows):
        return [
            field(name=name, number=number, type=kind, label=label, type_name=type_name)
            for name, number, kind, label, type_name in rows
        ]

    proto = descriptor_pb2.FileDescriptorProto(
        name="keras_resnet/tf_serving_warmup.proto",
        package=package,
        syntax="proto3",
        dependency=[tensor_pb2.DESCRIPTOR.name],
    )
    proto.message_type.add(
        name="ModelSpec",
        field=fields(("name", 1, string, optional, None), ("signature_name", 3, string, optional, None)),
    )
    request = proto.message_type.add(
        name="PredictRequest",
        field=fields(
            ("model_spec", 1, message, optional, f".{package}.ModelSpec"),
            ("inputs", 2, message, repeated, f".{package}.PredictRequest.InputsEntry"),
        ),
    )
    request.nested_type.add(
        name="InputsEntry",
        field=fields(("key", 1, string, optional, None), ("value", 2, message, optional, ".tensorflow.TensorProto")),
        options=descriptor_pb2.MessageOptions(map_entry=True),
    )
    proto.message_type.add(
        name="PredictLog", field=fields(("request", 1, message, optional, f".{package}.PredictRequest"))
    )
    proto.message_type.add(
        name="PredictionLog", field=fields(("predict_log", 6, message, optional, f".{package}.PredictLog"))
    )
    pool = descriptor_pool.Default()
    pool.Add(proto)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.{name}"))
        for name in ("PredictionLog", "PredictRequest")
    }


def warmup_records(images):
    """TF Serving warm-up requests: serialized PredictionLog records, one per signature.

    Args:
        images: uint8 images `[n, H, W, C]`; each record is a batch-1 request of `images[:1]`.

    Returns:
        A list of bytes, the records of `assets.extra/tf_serving_warmup_requests`.
    """
    protos = _serving_protos()
    encoded = tf.io.encode_png(images[0]).numpy()
    records = []
    for signature, value in (
        ("serving_default", images[:1].astype(np.float32)),
        ("serving_bytes", np.array([encoded], dtype=object)),
    ):
        request = protos["PredictRequest"]()
        request.model_spec.signature_name = signature
        request.inputs[SIGNATURES[signature]].CopyFrom(tf.make_tensor_proto(value))
        log = protos["PredictionLog"]()
        log.predict_log.request.CopyFrom(request)
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
    with tempfile.NamedTemporaryFile("w", dir=base_dir, prefix=".models.config.", delete=False) as file:
        file.write(models_config(base_dir, serving_base))
    os.replace(file.name, path)
    return path


@dataclasses.dataclass
class Verification:
    """What `verify` found; `str()` gives the report the CLI prints."""

    version_dir: str
    max_abs_diff: dict
    tolerance: float
    checks: dict
    saved_model_cli: str
    curl: str

    @property
    def ok(self):
        return max(self.max_abs_diff.values()) <= self.tolerance and all(self.checks.values())

    def __str__(self):
        lines = [f"verified {self.version_dir} with tf.compat.v1 Session loader (keras and keras_resnet blocked)"]
        lines += [
            f"  {name}: max abs diff vs Keras {diff:.3g} (tolerance {self.tolerance:g})"
            for name, diff in self.max_abs_diff.items()
        ]
        lines += [f"  {'ok  ' if passed else 'FAIL'} {check}" for check, passed in self.checks.items()]
        lines += ["", "saved_model_cli show --all:", self.saved_model_cli, "TF Serving REST request:", self.curl]
        return "\n".join(lines)


def verify(path, model=None, tolerance=1e-4, port=8501):
    """Load an export the way TF Serving does and compare its outputs with the Keras model's.

    A subprocess in which importing keras or keras_resnet raises loads the version with the
    `tf.compat.v1` Session loader, feeds the signatures by their tensor names (float images and the
    same images PNG-encoded), and checks a corrupt image fails that request only.

    Args:
        path: a version directory, or a model directory (its latest version is checked).
        model: optional Keras model (or .keras path) to compare with; default: the outputs the
            exporting Keras model stored in `assets.extra/keras_reference.npz`.
        tolerance: largest allowed absolute difference of the probabilities.
        port: TF Serving's REST port, for the printed curl request.

    Returns:
        A `Verification`; `.ok` says whether every check passed, `str()` is the report.

    Example: `print(keras_resnet.export.verify("saved_models/resnet56"))`.
    """
    if not os.path.exists(path):
        raise ValueError(f"{str(path)!r} does not exist: pass a model directory such as saved_models/resnet56.")
    path = version_dir(os.path.normpath(os.fspath(path)))
    extra = os.path.join(path, EXTRA)
    if not os.path.isfile(os.path.join(extra, METADATA)):
        raise ValueError(
            f"{path} was not written by keras_resnet.export (no {EXTRA}/{METADATA}): "
            "export it with `keras-resnet export`."
        )
    with open(os.path.join(extra, METADATA), encoding="utf-8") as file:
        metadata = json.load(file)
    reference = dict(np.load(os.path.join(extra, REFERENCE)))
    if model is not None:
        model = load_model(model) if isinstance(model, (str, os.PathLike)) else model
        reference["probabilities"] = model.predict(
            _preprocess(reference["images"], metadata["preprocessing"]), verbose=0
        )
    with tempfile.TemporaryDirectory() as scratch:
        result = os.path.join(scratch, "result.npz")
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        run = subprocess.run(
            [sys.executable, CHECK_SCRIPT, path, os.path.join(extra, REFERENCE), result],
            capture_output=True,
            text=True,
            env=env,
        )
        if run.returncode:
            raise RuntimeError(f"loading {path} the way TF Serving does failed:\n{run.stderr[-3000:]}")
        outputs = dict(np.load(result))
    checks = json.loads(str(outputs.pop("checks")))
    diffs = {
        name: float(np.max(np.abs(outputs[f"{name}/probabilities"] - reference["probabilities"])))
        for name in SIGNATURES
    }
    cli = subprocess.run(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show", "--dir", path, "--all"],
        capture_output=True,
        text=True,
        env=env,
    )
    return Verification(
        path,
        diffs,
        tolerance,
        checks,
        (cli.stdout or cli.stderr).strip(),
        curl_request(path, reference["images"][0], port),
    )


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
