"""weights="imagenet" and the source tags: downloaded, checked, converted once and cached, against a real
HTTP server on 127.0.0.1 that serves files made from models in the real URL layouts (tests/weights_server.py).

keras.applications' files are checked by md5: the served file is not keras.applications' own, so each test
puts the served file's md5 into the table (`KERAS_FILES`), as the real one is there; the download, the
check and the conversion are the package's. The Hub's files are checked by the sha256 the server sends as
the etag, as the Hub does.
"""

import hashlib
import io
import os
import subprocess
import sys
import time
import urllib.parse

import h5py
import keras
import numpy as np
import pytest
from keras.src.legacy.saving import legacy_h5_format
from safetensors.numpy import save_file

import keras_resnet
import timm_reference
from keras_resnet.weights import pretrained
from test_weights import randomise
from weights_server import COMMIT, WeightsServer

HUB_MODEL = "ResNet18D"  # the smallest timm row with published weights and the deep stem and ResNet-D shortcut
KERAS_SIZE = (64, 64, 3)


@pytest.fixture(scope="module")
def keras_file():
    """keras.applications' ResNet50 with random weights, as the bytes of the .h5 it caches, and the model."""
    source = keras.applications.ResNet50(weights=None, input_shape=KERAS_SIZE, classifier_activation=None)
    randomise(source)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        legacy_h5_format.save_weights_to_hdf5_group(file, source)
    return buffer.getvalue(), source


@pytest.fixture(scope="module")
def hub_file():
    """timm's ResNet18D state dict (its recorded keys and shapes, deterministic weights) as safetensors bytes."""
    reference = timm_reference.load()[HUB_MODEL]
    folder = os.environ.get("TMPDIR", "/tmp")
    path = os.path.join(folder, f"keras_resnet_hub_{os.getpid()}.safetensors")
    save_file(timm_reference.synthetic_state_dict(reference["keys"], reference["shapes"]), path)
    with open(path, "rb") as file:
        data = file.read()
    os.remove(path)
    return data, reference["logits"]


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A fresh server and fresh caches (KERAS_HOME, HF_HOME) in tmp_path; both endpoints point at the server."""
    running = WeightsServer()
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_ENDPOINT", running.url)
    monkeypatch.setenv(pretrained.ENDPOINT_VARIABLE, running.url)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield running
    running.stop()


def serve_keras(server, monkeypatch, data):
    """Serve `data` as keras.applications' ResNet50 file and make the table expect its md5; returns its URL path."""
    path = urllib.parse.urlsplit(pretrained.keras_url("resnet", "ResNet50")).path
    server.add_file(path, data)
    row = pretrained.KERAS_FILES["ResNet50"]
    monkeypatch.setitem(pretrained.KERAS_FILES, "ResNet50", (row[0], hashlib.md5(data).hexdigest(), *row[2:]))
    return path


def serve_hub(server, data):
    return server.add_hub(pretrained.source(HUB_MODEL, "imagenet").location, pretrained.HUB_FILE, data)


def timm_pixels():
    """timm_reference's normalised inputs as the 0-255 pixels they came from (the model normalises them again)."""
    mean, std = np.array(pretrained.TIMM_MEAN) * 255, np.array(pretrained.TIMM_STD) * 255
    return (timm_reference.inputs() * std + mean).astype("float32")


def hub_model(**options):
    size = timm_reference.SIZE
    return keras_resnet.build(
        HUB_MODEL, weights="imagenet", input_shape=(size, size, 3), classifier_activation=None, **options
    )


def check_hub_logits(model, logits):
    ours = np.asarray(model(timm_pixels(), training=False))
    assert np.abs(ours - logits).max() < 1e-4 * max(1.0, np.abs(logits).max())


def test_first_download_of_keras_applications_file_cut_once_converts_with_its_preprocessing(
    server, monkeypatch, keras_file, images
):
    """ResNet50(weights="imagenet"): keras.applications' path and md5; the first transfer is cut off and
    retried; the model takes raw RGB pixels and gives what keras.applications gives on preprocess_input."""
    data, source = keras_file
    path = serve_keras(server, monkeypatch, data)
    server.faults[path].append("cut")
    model = keras_resnet.ResNet50(weights="imagenet", input_shape=KERAS_SIZE, classifier_activation=None)
    assert server.gets[path] == 2
    pixels = images(KERAS_SIZE, 2) * 255.0
    expected = np.asarray(source(keras.applications.resnet.preprocess_input(pixels.copy()), training=False))
    assert np.abs(np.asarray(model(pixels, training=False)) - expected).max() < 1e-4
    card = keras_resnet.weights_card("ResNet50")
    assert card["cached"]["url"].startswith(server.url) and card["top1"] == 74.9 and card["input_size"] == 224


def test_first_download_from_the_hub_gives_timms_logits_and_records_the_commit(server, hub_file):
    """ResNet18D(weights="imagenet") fetches timm/resnet18d.ra2_in1k through huggingface_hub (HEAD, 302,
    GET) into HF_HOME, converts it with timm's mean/std inside, and gives timm's recorded logits."""
    data, logits = hub_file
    blob = serve_hub(server, data)
    check_hub_logits(hub_model(), logits)
    assert server.gets[blob] == 1
    card = keras_resnet.weights_card(HUB_MODEL)
    assert card["cached"]["commit"] == COMMIT and card["weights"] == "timm/resnet18d.ra2_in1k"
    assert os.listdir(os.path.join(os.environ["HF_HOME"], "hub"))  # huggingface_hub's cache under HF_HOME


def test_a_cached_file_is_used_with_the_server_stopped(server, hub_file, tmp_path):
    """The second call reads only the converted file: the server is gone, the Hub cache removed."""
    import shutil

    data, logits = hub_file
    serve_hub(server, data)
    hub_model()
    server.stop()
    shutil.rmtree(tmp_path / "hf")
    start = time.perf_counter()
    check_hub_logits(hub_model(), logits)
    features = hub_model(include_top=False, pooling="avg")  # without the top: the same cached file
    assert features.output_shape == (None, 512) and time.perf_counter() - start < 30


def test_a_hub_file_that_fails_its_hash_is_refused_and_fetched_again(server, hub_file):
    data, logits = hub_file
    blob = serve_hub(server, data)
    server.faults[blob] += ["corrupt"]
    check_hub_logits(hub_model(), logits)
    assert server.gets[blob] == 2


def test_a_keras_file_that_keeps_failing_its_md5_is_refused_and_nothing_is_kept(server, monkeypatch, keras_file):
    data, _ = keras_file
    path = serve_keras(server, monkeypatch, data)
    server.faults[path] += ["corrupt", "corrupt"]
    with pytest.raises(
        ValueError, match=r"resnet50_weights_tf_dim_ordering_tf_kernels.h5 from http://127.0.0.1.*hash.*place it in"
    ):
        keras_resnet.ResNet50(weights="imagenet", input_shape=KERAS_SIZE)
    assert server.gets[path] == 2
    assert not any(
        name.endswith((".h5", ".json")) for _, _, names in os.walk(os.environ["KERAS_HOME"]) for name in names
    )


def test_a_cut_hub_transfer_is_resumed_or_refused_never_loaded(server, hub_file):
    """huggingface_hub resumes a cut transfer with a Range request; what ends up loaded is the whole file."""
    data, logits = hub_file
    blob = serve_hub(server, data)
    server.faults[blob].append("cut")
    check_hub_logits(hub_model(), logits)
    assert server.gets[blob] == 2


PROCESS = """
import sys, numpy as np, keras_resnet
model = keras_resnet.build("ResNet18D", weights="imagenet", input_shape=(72, 72, 3), classifier_activation=None)
np.save(sys.argv[1], np.asarray(model(np.full((1, 72, 72, 3), 100.0, "float32"), training=False)))
"""


def test_two_processes_fetching_at_once_end_with_one_good_file(server, hub_file, tmp_path):
    data, _ = hub_file
    blob = serve_hub(server, data)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [os.path.dirname(os.path.dirname(keras_resnet.__file__)), os.environ.get("PYTHONPATH", "")]
        ),
    }
    runs = [
        subprocess.Popen([sys.executable, "-c", PROCESS, str(tmp_path / f"{n}.npy")], env=env, stderr=subprocess.PIPE)
        for n in range(2)
    ]
    for run in runs:
        assert run.wait(timeout=300) == 0, run.stderr.read().decode()[-2000:]
    assert server.gets[blob] == 1
    np.testing.assert_array_equal(np.load(tmp_path / "0.npy"), np.load(tmp_path / "1.npy"))
    cached = os.listdir(os.path.join(os.environ["KERAS_HOME"], "models", "keras_resnet"))
    assert sorted(name for name in cached if not name.endswith(".lock")) == [
        "ResNet18D.timm_resnet18d.ra2_in1k.json",
        "ResNet18D.timm_resnet18d.ra2_in1k.weights.h5",
    ]


@pytest.mark.parametrize(
    "model, needs",
    [
        (
            "ResNet50",
            r"resnet50_weights_tf_dim_ordering_tf_kernels.h5 from "
            r"http://127.0.0.1:\d+/tensorflow/keras-applications/resnet/.*place it in .*models",
        ),
        (
            HUB_MODEL,
            r"model.safetensors of timm/resnet18d.ra2_in1k from "
            r"http://127.0.0.1:\d+/timm/resnet18d.ra2_in1k/resolve/main/model.safetensors.*by hand",
        ),
    ],
)
def test_without_a_server_the_call_fails_at_once_saying_how_to_place_the_file(tmp_path, monkeypatch, model, needs):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_ENDPOINT", closed)
    monkeypatch.setenv(pretrained.ENDPOINT_VARIABLE, closed)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=needs):
        keras_resnet.build(model, weights="imagenet")
    assert time.perf_counter() - start < 10
    assert not os.path.exists(tmp_path / "keras" / "models" / "keras_resnet" / f"{model}.json")


def test_the_table_names_what_each_model_accepts():
    """Keras' own md5s, the source tags, the rows without weights and a refused name."""
    from keras.src.applications import resnet

    for name, (_, md5, *_) in pretrained.KERAS_FILES.items():
        if name.startswith("ResNet"):
            assert resnet.WEIGHTS_HASHES[name.lower()][0] == md5, name
    assert set(pretrained.HUB) | set(pretrained.KERAS_FILES) <= set(keras_resnet.available_models())
    assert keras_resnet.available_weights("ResNet50")[:3] == ["imagenet", "keras.applications", "timm/resnet50.a1_in1k"]
    assert "torchvision/IMAGENET1K_V2" in keras_resnet.available_weights("ResNet50")
    assert keras_resnet.weights_card("ResNet50", "torchvision/IMAGENET1K_V2")["location"] == "timm/resnet50.tv2_in1k"
    assert keras_resnet.weights_card("ResNet50D")["weights"] == "timm/resnet50d.ra2_in1k"
    assert keras_resnet.available_weights("SEResNet101") == []
    with pytest.raises(ValueError, match=r"weights='imagenet' are not published for SEResNet101: .*pass None"):
        keras_resnet.SEResNet101(weights="imagenet")
    with pytest.raises(
        ValueError,
        match=r"'timm/resnet50d.nope' are not published for ResNet50D: use one of \['imagenet', "
        r"'timm/resnet50d.ra2_in1k'",
    ):
        keras_resnet.ResNet50D(weights="timm/resnet50d.nope")
    with pytest.raises(ValueError, match=r"need preprocessing=.*leave preprocessing out"):
        keras_resnet.ResNet50D(weights="imagenet", preprocessing={"mean": 0.0, "std": 1.0})
