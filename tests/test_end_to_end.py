"""The user's whole path across every seam, each step in a fresh process as a user runs it:
`keras-resnet train` (or `tune`) -> model file -> a new Python that only imports keras_resnet -> `keras-resnet
export` with default flags -> the SavedModel loaded as TF Serving loads it (keras and keras_resnet cannot be
imported there) -> the served answers on the real test split equal the Keras model's."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from keras_resnet.serving import export

ROOT = pathlib.Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}

# A fresh notebook: import keras_resnet (nothing else of ours), load each file with safe_mode on, and score
# the final model on the raw test pixels. Any warning (e.g. optimizer variables skipped) fails it.
NOTEBOOK = r"""
import json, sys, warnings
warnings.simplefilter("error")
import keras, keras_resnet, numpy as np
models = [keras.saving.load_model(path, safe_mode=True) for path in sys.argv[2:]]
pairs = list(keras_resnet.training.data.load("digits").test.as_numpy_iterator())  # raw 0-255 pixels
pixels, labels = np.stack([p for p, _ in pairs]).astype("float32"), np.array([l for _, l in pairs])
accuracy = float(np.mean(models[0].predict(pixels, verbose=0).argmax(-1) == labels))
json.dump({"accuracy": accuracy, "names": [m.name for m in models]}, open(sys.argv[1], "w"))
"""


def run(*args):
    done = subprocess.run(
        [sys.executable, "-m", "keras_resnet", *args], env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def notebook(tmp_path, *paths):
    result = tmp_path / "notebook.json"
    done = subprocess.run(
        [sys.executable, "-c", NOTEBOOK, str(result), *map(str, paths)],
        env=ENV,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(result.read_text())


def served_accuracies(base, name):
    result = export.verify(base / name, dataset="digits")
    assert result.ok, str(result)
    return result, {
        key: float(value.split()[0]) for key, value in result.accuracy.items() if "test images of digits" in key
    }


def test_train_then_export_with_default_flags_serves_the_keras_models_answers(tmp_path):
    out = run(
        "train",
        "--model",
        "ResNet20",
        "--dataset",
        "digits",
        "--epochs",
        "2",
        "--augment",
        "none",
        "--output",
        str(tmp_path / "run"),
    )
    assert out.startswith("train ResNet20 (") and "files in" in out.splitlines()[0]
    assert sum(line.startswith("Epoch ") for line in out.splitlines()) == 2  # each epoch reported once
    files = [tmp_path / "run" / f"{kind}.keras" for kind in ("final", "best", "last")]
    keras_side = notebook(tmp_path, *files)
    assert keras_side["names"] == ["ResNet20"] * 3
    recorded = json.loads((tmp_path / "run" / "results.json").read_text())["test"]["accuracy"]
    assert keras_side["accuracy"] == pytest.approx(recorded, abs=1e-6)

    run("export", str(files[0]), "--name", "r20", "--base", str(tmp_path / "served"))
    result, served = served_accuracies(tmp_path / "served", "r20")
    assert result.reference == "the training run's answers on real test images"
    assert set(served) == {
        f"{name} accuracy on 450 test images of digits" for name in ("serving_default", "serving_bytes")
    }
    for accuracy in served.values():
        assert abs(accuracy - keras_side["accuracy"]) <= 0.005


def test_tune_then_export_the_best_model_serves_its_answers(tmp_path):
    run(
        "tune",
        "--dataset",
        "digits",
        "--depth",
        "8",
        "--max-trials",
        "1",
        "--epochs",
        "2",
        "--batch-size",
        "32",
        "--verbose",
        "0",
        "--output",
        str(tmp_path / "search"),
    )
    best = tmp_path / "search" / "best.keras"
    keras_side = notebook(tmp_path, best)
    recorded = json.loads((tmp_path / "search" / "results.json").read_text())["test"]["accuracy"]
    assert keras_side["accuracy"] == pytest.approx(recorded, abs=1e-6)
    run("export", str(best), "--name", "best", "--base", str(tmp_path / "served"))
    _, served = served_accuracies(tmp_path / "served", "best")
    for accuracy in served.values():
        assert abs(accuracy - keras_side["accuracy"]) <= 0.005


def test_a_wrong_preprocessing_at_export_is_refused_and_verify_catches_a_wrong_answer(tmp_path):
    """The first wave's bug: an export normalising a second time served 14.6% while verify said ok."""
    import keras
    import numpy as np

    import keras_resnet

    model = keras_resnet.ResNet20(input_shape=(8, 8, 1), classes=10, preprocessing={"mean": [80.0], "std": [90.0]})
    with pytest.raises(ValueError, match="carries its own preprocessing"):
        export.export_saved_model(model, tmp_path / "twice", scale=1 / 255)
    # A run's file whose stored answers differ from what the export serves: verify fails.
    folder = tmp_path / "run"
    folder.mkdir()
    model.save(folder / "final.keras")
    images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 1), dtype=np.uint8)
    wrong = keras.ops.convert_to_numpy(keras.ops.softmax(np.ones((4, 10), "float32") * np.arange(10)))
    np.savez(folder / "samples.npz", images=images, labels=np.zeros(4, "int32"), probabilities=wrong)
    assert not export.verify(export.export_saved_model(folder / "final.keras", tmp_path / "served")).ok
