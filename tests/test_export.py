"""TF Serving exports: layout, signatures against model.predict, verification as the server loads them,
versions, concurrency, warm-up protos and errors."""

import ast
import base64
import http.server
import json
import os
import pathlib
import re
import runpy
import signal
import subprocess
import sys
import threading
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import descriptor_pb2

import keras_resnet
from keras_resnet import cli, specs
from keras_resnet.serving import export, prediction_log_pb2

ROOT = pathlib.Path(__file__).resolve().parents[1]
SIZE = (32, 32, 3)


def valid_depth(family_name, depth):
    """Whether a family accepts `depth` with its default block (its plan resolves)."""
    try:
        specs.resolve(family_name, depth=depth)
    except ValueError:
        return False
    return True


def shallowest(family_name):
    """A family's shallowest valid network, its representative in the default run (the slow run exports
    every named model)."""
    family = specs.FAMILIES[family_name]
    depth = min(family.depths) if family.depths else next(d for d in range(1, 100) if valid_depth(family_name, d))
    return keras_resnet.build(family_name, depth=depth, input_shape=SIZE, classes=4, name=f"{family_name}{depth}")


@pytest.fixture(scope="module")
def resnet20(tmp_path_factory):
    """ResNet-20 (5 classes, labelled) exported twice, with the model and its .keras file."""
    base = tmp_path_factory.mktemp("saved_models")
    model = keras_resnet.ResNet20(input_shape=SIZE, classes=5)
    path = base / "resnet20.keras"
    model.save(path)
    labels = base / "labels.txt"
    labels.write_text("apple\nbanana\ncherry\ndate\nelder\n")
    versions = [export.export_saved_model(model, base / "resnet20", labels=labels, top_k=3) for _ in range(2)]
    return {"model": model, "keras": path, "base": base, "versions": versions, "labels": labels}


# The ImageNet families whose shallowest nets are the largest exports (DenseNet-121's 58 dense layers, ResNeXt-50's
# 16 grouped bottlenecks, WRN-50-2's 67M parameters: 30-60 s each) export in the slow
# run; in the default run their blocks export in their CIFAR twins (the same dense layer and transition in
# cifar_densenet, the grouped bottleneck in cifar_resnext) and the ImageNet stem in resnet and resnet_v2.
LARGEST = {"densenet", "resnext", "wide_resnet"}


@pytest.mark.parametrize(
    "family",
    [
        pytest.param(family, marks=[pytest.mark.slow] if family in LARGEST else [])
        for family in sorted({family for family, _ in specs.MODELS.values()})
    ],
)
def test_family_exports_and_verifies(family, tmp_path):
    check_export_verifies(shallowest(family), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", sorted(keras_resnet.available_models(), key=lambda name: specs.MODELS[name][1]["depth"])
)
def test_every_model_exports_and_verifies(name, tmp_path):
    check_export_verifies(keras_resnet.build(name, input_shape=SIZE, classes=4), tmp_path)


def check_export_verifies(model, tmp_path):
    path = export.export_saved_model(model, tmp_path / model.name.lower())
    assert sorted(os.listdir(path)) == ["assets", "assets.extra", "fingerprint.pb", "saved_model.pb", "variables"]
    result = export.verify(tmp_path / model.name.lower())
    print(f"{model.name}: {result.max_abs_diff}")
    assert result.ok, str(result)
    assert set(result.max_abs_diff) == {"serving_default", "serving_bytes"}
    assert all(result.checks.values()) and len(result.checks) == 6
    assert "signature_def['serving_bytes']" in result.saved_model_cli and "DT_STRING" in result.saved_model_cli
    assert f"/v1/models/{model.name.lower()}:predict" in result.curl and '"b64"' in result.curl


def test_float_and_bytes_signatures_agree_with_predict(resnet20):
    model, loaded = resnet20["model"], tf.saved_model.load(resnet20["versions"][-1])
    pixels = np.random.default_rng(1).integers(0, 256, (3, *SIZE), dtype=np.uint8)
    expected = model.predict(pixels.astype(np.float32), verbose=0)  # the export adds no preprocessing
    served = loaded.signatures["serving_default"](images=tf.constant(pixels, tf.float32))
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-4)
    np.testing.assert_array_equal(served["classes"], expected.argmax(-1))
    labels = np.array(["apple", "banana", "cherry", "date", "elder"])
    np.testing.assert_array_equal(served["top_k_labels"].numpy().astype(str), labels[np.argsort(-expected, -1)[:, :3]])

    # Other sizes and formats: the graph decodes and resizes; compare with predict on the same pixels.
    big = tf.image.resize(pixels[0], (48, 40)).numpy().round().astype(np.uint8)
    jpeg, grey = tf.io.encode_jpeg(big).numpy(), tf.io.encode_png(pixels[1][..., :1]).numpy()
    encoded = [tf.io.encode_png(pixels[0]).numpy(), jpeg, grey]
    decoded = [
        pixels[0],
        tf.image.resize(tf.io.decode_jpeg(jpeg), SIZE[:2]).numpy(),
        np.repeat(pixels[1][..., :1], 3, -1),
    ]
    expected = model.predict(np.stack(decoded).astype(np.float32), verbose=0)
    served = loaded.signatures["serving_bytes"](image_bytes=tf.constant(encoded))
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-4)
    assert served["top_k_scores"].shape == (3, 3) and served["top_k_classes"].dtype == tf.int64


def test_corrupt_image_fails_only_that_request(resnet20):
    signature = tf.saved_model.load(resnet20["versions"][-1]).signatures["serving_bytes"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="Unknown image file format"):
        signature(image_bytes=tf.constant([b"\x89PNG but truncated"]))
    good = tf.io.encode_png(np.zeros(SIZE, np.uint8)).numpy()
    assert signature(image_bytes=tf.constant([good]))["probabilities"].shape == (1, 5)


def test_versions_increment_and_never_overwrite(resnet20):
    first, second = resnet20["versions"]
    model_dir = resnet20["base"] / "resnet20"
    assert (first, second) == (str(model_dir / "1"), str(model_dir / "2"))
    assert export.versions(model_dir) == [1, 2] and export.version_dir(model_dir) == second
    with pytest.raises(ValueError, match="exists: an export never overwrites"):
        export.export_saved_model(resnet20["model"], model_dir, version=2)
    assert not [entry for entry in os.listdir(model_dir) if entry.startswith(".")]  # no staging left
    assert (model_dir / "1" / "assets.extra" / "labels.txt").read_text().split() == [
        "apple",
        "banana",
        "cherry",
        "date",
        "elder",
    ]
    metadata = json.loads((model_dir / "1" / "assets.extra" / "keras_resnet.json").read_text())
    assert metadata["preprocessing"] == {"scale": 1.0, "mean": [0.0] * 3, "std": [1.0] * 3}


def test_concurrent_exports_do_not_collide(resnet20, tmp_path):
    """Two processes export the same model name at once; each gets its own complete version."""
    code = (
        "import sys; from keras_resnet import export; "
        "print(export.export_saved_model(sys.argv[1], sys.argv[2], samples=1))"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(resnet20["keras"]), str(tmp_path / "r20")],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    paths = sorted(run.communicate()[0].strip() for run in runs)
    assert [run.returncode for run in runs] == [0, 0]
    assert paths == [str(tmp_path / "r20" / str(v)) for v in (1, 2)]
    assert sorted(os.listdir(tmp_path / "r20")) == ["1", "2"]
    for path in paths:
        assert tf.saved_model.load(path).signatures["serving_default"](images=tf.zeros((1, *SIZE)))[
            "probabilities"
        ].shape == (1, 5)


@pytest.mark.slow
def test_killed_export_leaves_no_visible_version(tmp_path):
    model = keras_resnet.ResNet110(input_shape=SIZE, classes=10)
    model.save(tmp_path / "r110.keras")
    code = "import sys; from keras_resnet import export; export.export_saved_model(sys.argv[1], sys.argv[2])"
    run = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "r110.keras"), str(tmp_path / "r110")], cwd=ROOT)
    while not (tmp_path / "r110").is_dir() or not os.listdir(tmp_path / "r110"):  # the staging directory appears
        assert run.poll() is None, "the export finished before it could be killed"
        time.sleep(0.01)
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert export.versions(tmp_path / "r110") == []
    assert all(entry.startswith(".tmp-") for entry in os.listdir(tmp_path / "r110"))  # hidden, ignored by TF Serving
    assert export.export_saved_model(model, tmp_path / "r110").endswith(os.sep + "1")


def test_warmup_requests_are_tf_serving_prediction_logs(resnet20):
    # The serialized float request of a fixed 1x2x2x3 image, as tensorflow_serving.apis' own
    # PredictionLog/PredictLog/PredictRequest classes (tensorflow-serving-api 2.21.0) write it.
    official = bytes.fromhex(
        "32670a650a111a0f73657276696e675f64656661756c7412500a06696d61676573124608011210120208011202080212020802"
        "120208032230000000000000803f0000004000004040000080400000a0400000c0400000e04000000041000010410000204100003041"
    )
    assert export.warmup_records(np.arange(12, dtype=np.uint8).reshape(1, 2, 2, 3))[0] == official

    version = resnet20["versions"][0]
    signatures = tf.saved_model.load(version).signatures
    records = list(tf.data.TFRecordDataset(os.path.join(version, "assets.extra", "tf_serving_warmup_requests")))
    assert len(records) == 2
    outputs = []
    for record in records:
        request = prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request
        ((name, tensor),) = request.inputs.items()
        outputs.append(
            signatures[request.model_spec.signature_name](**{name: tf.make_ndarray(tensor)})["probabilities"]
        )
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-4)  # the same image, as floats and as PNG


# Promise: prediction_log_pb2.py is protoc's output for prediction_log.proto (regenerated here by any protoc; the
# committed one by protoc 31.1, as .ci/protos.py says), so an edit of either one alone is caught.
def test_the_warmup_messages_are_generated_from_their_proto(tmp_path):
    pytest.importorskip("grpc_tools", reason="grpcio-tools (the test extra) runs protoc")
    generated = runpy.run_path(str(ROOT / ".ci" / "protos.py"))["generate"](tmp_path)
    serialized = re.search(r"AddSerializedFile\((b'.*')\)$", generated.read_text(), re.M).group(1)
    assert descriptor_pb2.FileDescriptorProto.FromString(ast.literal_eval(serialized)) == (
        descriptor_pb2.FileDescriptorProto.FromString(prediction_log_pb2.DESCRIPTOR.serialized_pb)
    )


def test_cli_export_and_verify(resnet20, capsys):
    base = resnet20["base"]  # holds resnet20 already: models.config must list both models
    (base / "not_a_model").mkdir()
    argv = ["export", str(resnet20["keras"]), "--name", "r20", "--base", str(base), "--labels", str(resnet20["labels"])]
    assert cli.main(argv) == 0 and export.versions(base / "r20") == [1]
    config = (base / "models.config").read_text()
    assert 'name: "r20"\n    base_path: "/models/r20"' in config and 'name: "resnet20"' in config
    assert "not_a_model" not in config and config.count("config {") == 2
    capsys.readouterr()
    assert cli.main(["verify", str(base / "r20"), "--model", str(resnet20["keras"])]) == 0
    out = capsys.readouterr().out
    assert (
        "r20/1 with tf.compat.v1 Session loader" in out and "serving_bytes: max abs diff vs ResNet20's outputs" in out
    )
    assert (
        "MetaGraph with tag set ['serve']" in out and "curl -X POST http://localhost:8501/v1/models/r20:predict" in out
    )


def test_verify_lists_the_export_as_the_saved_model_cli_command_does(resnet20):
    """verify runs saved_model_cli's entry point inside its TF Serving check process: what it lists is what the
    command prints (the op set's order aside: a Python set, printed in hash order)."""
    version = resnet20["versions"][-1]
    command = subprocess.run(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show", "--dir", version, "--all"],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert command.returncode == 0, command.stderr

    def lines(text):
        return [
            sorted(line.split(": ", 1)[1][2:-2].split("', '")) if "following ops:" in line else line
            for line in text.strip().splitlines()
        ]

    listing = export.verify(version).saved_model_cli
    assert "Concrete Functions:" in listing and "N/A" not in listing
    assert lines(listing) == lines(command.stdout)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["export", "missing.keras", "--name", "r20"], r"missing.keras' does not exist"),
        (["export", "x.keras", "--name", "team/r20"], r"not a valid model name \(a name is one directory"),
        (["verify", "no/such/dir"], r"does not exist"),
    ],
)
def test_cli_errors(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(message, err), err


def test_errors(resnet20, tmp_path):
    unbuilt = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="is not built: give it an input shape"):
        export.export_saved_model(unbuilt, tmp_path / "dense")
    with pytest.raises(ValueError, match="not class scores: export a classifier"):
        export.export_saved_model(keras_resnet.ResNet20(input_shape=SIZE, include_top=False), tmp_path / "features")
    with pytest.raises(ValueError, match="3 labels given for a model with 5 classes"):
        export.export_saved_model(resnet20["model"], tmp_path / "r20", labels=["a", "b", "c"])
    with pytest.raises(
        ValueError, match=r"std=\[1, 0, 1\] must be one finite number or 3 per-channel numbers, all above 0"
    ):
        export.export_saved_model(resnet20["model"], tmp_path / "r20", std=[1, 0, 1])
    with pytest.raises(ValueError, match=r"name='team/r20' is not a valid model name \(a name is one directory"):
        export.check_name("team/r20")
    with pytest.raises(ValueError, match="holds no SavedModel version"):
        export.verify(tmp_path)
    assert not os.listdir(tmp_path)  # nothing was written by the failed exports


def test_rest_example_against_a_rest_stand_in(resnet20, tmp_path):
    """examples/serve_rest.py against a minimal stand-in for TF Serving's REST predict (the real export)."""
    signature = tf.saved_model.load(resnet20["versions"][-1]).signatures["serving_bytes"]

    class Predict(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            assert self.path == "/v1/models/resnet20:predict"
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            images = [base64.b64decode(instance["image_bytes"]["b64"]) for instance in body["instances"]]
            outputs = {k: v.numpy() for k, v in signature(image_bytes=tf.constant(images)).items()}
            rows = [
                {k: (v[i].astype(str) if v.dtype == object else v[i]).tolist() for k, v in outputs.items()}
                for i in range(len(images))
            ]
            self.send_response(200)
            self.end_headers()
            self.wfile.write(json.dumps({"predictions": rows}).encode())

    server = http.server.HTTPServer(("127.0.0.1", 0), Predict)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    image = tmp_path / "image.png"
    image.write_bytes(tf.io.encode_png(np.full((20, 30, 3), 200, np.uint8)).numpy())
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import serve_rest

        predictions = serve_rest.main(
            [str(image), str(image), "--model", "resnet20", "--url", f"http://127.0.0.1:{server.server_port}"]
        )
    finally:
        sys.path.pop(0)
        server.shutdown()
    assert len(predictions) == 2 and set(predictions[0]["top_k_labels"]) <= {
        "apple",
        "banana",
        "cherry",
        "date",
        "elder",
    }


@pytest.mark.parametrize("command", ["export", "verify"])
def test_help_explains_every_flag(command, capsys):
    with pytest.raises(SystemExit):
        cli.parser().parse_args([command, "--help"])
    out = capsys.readouterr().out
    flags = {
        "export": ["--name", "--base", "--labels", "--top-k", "--scale", "--mean", "--std", "--version", "--max-pixels"]
    }
    for flag in flags.get(command, ["--model", "--dataset", "--data-dir", "--tolerance", "--port"]):
        assert re.search(rf"{flag} \S+\s+\S", out), f"{flag} has no help"


def png_header_only(width, height):
    """A PNG whose header announces width x height pixels and whose data is a few bytes of zeros."""
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def encoded(image, kind):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image).save(buffer, format=kind)
    return buffer.getvalue()


# Promise: serving_bytes reads an image's size from its header and refuses one over max_pixels before decoding
# it (INVALID_ARGUMENT for that request only), for JPEG, PNG, GIF and BMP; the limit is part of the export.
def test_images_over_max_pixels_are_refused_from_their_header(tmp_path):
    model = keras_resnet.build("cifar_resnet", depth=8, input_shape=(8, 8, 1), classes=3)
    path = export.export_saved_model(model, tmp_path / "grey", max_pixels=100)
    signature = tf.saved_model.load(path).signatures["serving_bytes"]
    rng = np.random.default_rng(0)
    small, large = rng.integers(0, 256, (8, 8, 1), dtype=np.uint8), rng.integers(0, 256, (16, 16, 1), dtype=np.uint8)
    for kind in ("PNG", "JPEG", "GIF", "BMP"):
        assert signature(image_bytes=tf.constant([encoded(small, kind)]))["probabilities"].shape == (1, 3), kind
        with pytest.raises(tf.errors.InvalidArgumentError, match="image too large: .*max_pixels=100"):
            signature(image_bytes=tf.constant([encoded(large, kind)]))
    assert json.loads((pathlib.Path(path) / "assets.extra" / "keras_resnet.json").read_text())["max_pixels"] == 100
    # The case: 20000 x 20000 pixels announced; refused at once under the default limit.
    default = tf.saved_model.load(export.export_saved_model(model, tmp_path / "default")).signatures["serving_bytes"]
    started = time.perf_counter()
    with pytest.raises(tf.errors.InvalidArgumentError, match="image too large"):
        default(image_bytes=tf.constant([png_header_only(20000, 20000)]))
    assert time.perf_counter() - started < 10


# Promise: a GIF (which TensorFlow decodes only to RGB) classifies in a one-channel export, as its grey pixels.
def test_a_gif_is_served_by_a_one_channel_model(tmp_path):
    model = keras_resnet.build("cifar_resnet", depth=8, input_shape=(8, 8, 1), classes=3)
    signature = tf.saved_model.load(export.export_saved_model(model, tmp_path / "grey")).signatures["serving_bytes"]
    image = np.random.default_rng(0).integers(0, 256, (8, 8, 1), dtype=np.uint8)
    served = signature(image_bytes=tf.constant([encoded(image, "GIF")]))["probabilities"]
    np.testing.assert_allclose(served, model.predict(image[None].astype("float32"), verbose=0), atol=1e-3)
