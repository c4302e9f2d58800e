"""The weights the package ships (`ResNet20(weights="cifar10")`): the file its card describes, the trained
model's answers, its accuracy on real CIFAR-10 test images, and the committed SavedModel that serves it."""

import json
import pathlib
import shutil
import tarfile

import numpy as np
import pytest

import keras_resnet
from keras_resnet import weights
from keras_resnet.serving import export
from keras_resnet.weights import convert

ROOT = pathlib.Path(__file__).resolve().parents[1]
CARD = json.loads((pathlib.Path(weights.TRAINED_FOLDER) / "resnet20_cifar10.json").read_text())
SAMPLES = np.load(pathlib.Path(weights.TRAINED_FOLDER) / "resnet20_cifar10.samples.npz")
SAVED_MODEL = ROOT / "saved_models" / "resnet20_cifar10" / "1"
ARCHIVE = next(
    (
        p / "shared/data/cifar10_jpeg/cifar10_jpeg_q75.tar.gz"
        for p in ROOT.parents
        if (p / "shared/data/cifar10_jpeg/cifar10_jpeg_q75.tar.gz").is_file()
    ),
    None,
)


@pytest.fixture(scope="module")
def model():
    return keras_resnet.ResNet20(weights="cifar10")


def test_shipped_weights_give_the_trained_runs_answers(model):
    # The paper's ResNet-20 (0.27M parameters), carrying the training split's normalisation: raw pixels in.
    assert model.count_params() == CARD["parameters"] == 271_098
    assert model.get_layer("preprocessing") is not None
    answers = model.predict(SAMPLES["images"].astype("float32"), verbose=0)
    np.testing.assert_allclose(answers, SAMPLES["probabilities"], atol=1e-5)
    assert np.mean(answers.argmax(-1) == SAMPLES["labels"]) >= 0.75


def test_a_damaged_weights_file_is_refused_by_its_hash(tmp_path, monkeypatch):
    for path in pathlib.Path(weights.TRAINED_FOLDER).iterdir():
        shutil.copy(path, tmp_path / path.name)
    damaged = tmp_path / "resnet20_cifar10.weights.h5"
    content = bytearray(damaged.read_bytes())
    content[len(content) // 2] ^= 0xFF
    damaged.write_bytes(bytes(content))
    monkeypatch.setattr(convert, "TRAINED_FOLDER", str(tmp_path))
    with pytest.raises(ValueError, match="is damaged .*reinstall"):
        keras_resnet.ResNet20(weights="cifar10")


def test_wrong_requests_for_the_shipped_weights_are_one_sentence():
    with pytest.raises(ValueError, match="have 10 classes, not 100"):
        keras_resnet.ResNet20(weights="cifar10", classes=100)
    with pytest.raises(ValueError, match=r"exist only for \['ResNet20'\], not ResNet56"):
        keras_resnet.ResNet56(weights="cifar10")
    with pytest.raises(ValueError, match="leave preprocessing out"):
        keras_resnet.ResNet20(weights="cifar10", preprocessing={"mean": 0.0, "std": 255.0})


def test_the_features_without_the_top_are_the_trained_models(model):
    import keras

    features = keras_resnet.ResNet20(weights="cifar10", include_top=False, pooling="avg")
    pooled = keras.Model(model.input, model.get_layer("predictions").input)
    images = SAMPLES["images"][:4].astype("float32")
    np.testing.assert_allclose(features.predict(images, verbose=0), pooled.predict(images, verbose=0), atol=1e-5)


@pytest.mark.skipif(ARCHIVE is None, reason="needs ../shared/data/cifar10_jpeg")
def test_accuracy_on_a_fixed_thousand_real_test_images(model, tmp_path):
    # The first 100 test images of each class (sorted file names), decoded from the offline JPEG copy.
    from PIL import Image

    images, labels = [], []
    with tarfile.open(ARCHIVE) as archive:
        members = sorted((m for m in archive.getmembers() if m.isfile() and "test/" in m.name), key=lambda m: m.name)
        classes = sorted({pathlib.PurePath(m.name).parent.name for m in members})
        for index, name in enumerate(classes):
            for member in [m for m in members if pathlib.PurePath(m.name).parent.name == name][:100]:
                images.append(np.asarray(Image.open(archive.extractfile(member)).convert("RGB")))
                labels.append(index)
    accuracy = float(np.mean(model.predict(np.stack(images).astype("float32"), verbose=0).argmax(-1) == labels))
    # 1,000 images: one standard error of the 10,000-image accuracy is about 0.9 points.
    assert abs(accuracy - CARD["test_accuracy"]) < 0.03, (accuracy, CARD["test_accuracy"])


def test_the_committed_saved_model_serves_the_trained_answers():
    # Loaded as TF Serving loads it, both signatures compared with the run's own answers on its 32 test images
    # (the same answers the shipped weights give, see above).
    report = export.verify(SAVED_MODEL)
    assert report.ok, str(report)
    assert (SAVED_MODEL / "assets.extra" / "tf_serving_warmup_requests").is_file()
    assert "resnet20_cifar10" in (SAVED_MODEL.parents[1] / "models.config").read_text()


def test_the_jpeg_calibrations_second_pass_is_independent_only_on_a_shifted_grid():
    # benchmarks/cifar.py jpeg: re-encoding the q75 copy at q75 on its own 8x8 grid nearly repeats the first
    # pass's rounding, so the pass standing in for a first one is shifted by half a block.
    import importlib.util

    spec = importlib.util.spec_from_file_location("cifar_experiments", ROOT / "benchmarks" / "cifar.py")
    experiments = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(experiments)
    images = SAMPLES["images"]
    same, shifted = experiments.jpeg_pass(images, 75, 0), experiments.jpeg_pass(images, 75, 4)
    assert same.shape == shifted.shape == images.shape and shifted.dtype == np.uint8
    assert experiments.psnr(images, same) > 40 and experiments.psnr(images, shifted) < 34
    assert experiments.psnr(images, experiments.jpeg_pass(images, 95, 4)) > experiments.psnr(images, shifted)
