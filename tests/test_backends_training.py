"""Training on the JAX and PyTorch backends, in an environment without TensorFlow (CI's second job, `.ci/run`):
`keras-resnet train` on the digits through the CLI reaches the accuracy of the TensorFlow run of the same command,
a SIGKILLed JAX run resumes to the weights of an uninterrupted one, a `.keras` file written on JAX gives the same
answers on TensorFlow and PyTorch, and a data-parallel JAX step over two XLA CPU devices equals one device's.

Run it with KERAS_BACKEND=jax (the main suite, on TensorFlow, skips it). The TensorFlow side runs in the Python
that KERAS_RESNET_TF_PYTHON names (default: `.venv/bin/python`, CI's first environment); the PyTorch side in this
Python with KERAS_BACKEND=torch."""

import json
import os
import pathlib
import signal
import struct
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

if keras.backend.backend() == "tensorflow":
    pytest.skip("runs on the JAX backend, in CI's TensorFlow-free environment", allow_module_level=True)

import keras_resnet  # noqa: E402
from keras_resnet.training import data, loop  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
TF_PYTHON = ROOT / os.environ.get("KERAS_RESNET_TF_PYTHON", ".venv/bin/python")  # relative to the checkout

# The comparison: ResNet-20 on the digits with the cifar recipe, 8 epochs of 43 steps, by when both backends have
# levelled off near 98% (the augmentations are compared with tf.data's image by image in tests/test_data.py).
EPOCHS = 8
COMPARED = ["train", "--model", "ResNet20", "--dataset", "digits", "--epochs", str(EPOCHS), "--batch-size", "32"]
COMPARED += ["--augment", "none"]
# PyTorch's CPU threads spin while they wait: on a machine busier than its cores (CI runs two test processes beside
# the training child) a step then takes 15x longer (7 s against 0.4 s for this model); one thread does not spin.
SETTINGS = {"torch": {"OMP_NUM_THREADS": "1"}}
# A short run to kill and resume: 4 epochs of 6 steps.
SHORT = ["train", "--model", "ResNet20", "--dataset", "digits", "--epochs", "4", "--steps-per-epoch", "6"]
SHORT += ["--batch-size", "32"]


def cli(python, backend, *args, output, timeout=1200):
    done = subprocess.run(
        [str(python), "-m", "keras_resnet", *args, "--verbose", "2", "--output", str(output)],
        env={**ENV, "KERAS_BACKEND": backend, **SETTINGS.get(backend, {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def tensorflow_python():
    if TF_PYTHON.exists():
        return TF_PYTHON
    if os.environ.get("CI"):
        pytest.fail(f"CI must compare with TensorFlow, but {TF_PYTHON} does not exist")
    pytest.skip(f"no TensorFlow Python at {TF_PYTHON} (set KERAS_RESNET_TF_PYTHON)")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The compared command's output folder on each backend, each run once and only when a test asks for it (once per
    xdist worker: CI gives this whole file to one worker, with --dist loadfile)."""
    root, made = tmp_path_factory.mktemp("runs"), {}

    def run(backend):
        if backend not in made:
            python = tensorflow_python() if backend == "tensorflow" else sys.executable
            made[backend] = root / backend
            cli(python, backend, *COMPARED, output=made[backend])
        return made[backend]

    return run


def accuracy(output):
    return json.loads((output / "results.json").read_text())["test"]["accuracy"]


def events(folder):
    """(tag, step, value) of every scalar in the TensorBoard event files of `folder` (TFRecord framing)."""
    from tensorboardX.proto import event_pb2

    found = []
    for path in sorted(folder.glob("events.out.tfevents.*")):
        raw, at = path.read_bytes(), 0
        while at < len(raw):
            (length,) = struct.unpack("<Q", raw[at : at + 8])
            event = event_pb2.Event.FromString(raw[at + 12 : at + 12 + length])
            found += [(value.tag, event.step, value.simple_value) for value in event.summary.value]
            at += 16 + length
    return found


def test_fit_takes_each_epochs_batches_once_in_order_whatever_the_threads_made_ahead():
    """Keras' own PyDataset workers would serve batches made ahead in one epoch in the next: Batches' threads
    make them by (epoch, index), and `fit` gets exactly the batches of the epoch it runs."""
    served = []

    class Recorded(data.Batches):
        def __getitem__(self, index):
            served.append((self.epoch, index))
            return super().__getitem__(index)

    x, y = np.random.default_rng(0).random((40, 4, 4, 1), dtype=np.float32), np.arange(40) % 2
    batches = Recorded(data.ArraySplit(x, y), training=True, batch_size=8, augment="none")
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(batches, epochs=3, initial_epoch=1, shuffle=False, verbose=0, callbacks=[data.Epochs(batches)])
    assert served[1:] == [(epoch, index) for epoch in (1, 2) for index in range(5)]  # the first builds the model
    assert set(batches.made) == {(3, index) for index in range(batches.ahead)}  # the next epoch's, made ahead


def test_data_that_only_tensorflow_reads_is_refused_naming_what_to_give_instead(tmp_path):
    with pytest.raises(ValueError, match=r"'cifar10' is neither a folder .* folder of class sub-folders or as NumPy"):
        data.load("cifar10", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match=r"fashion_mnist, mnist: the official files with manual_dir="):
        data.load("mnist")
    with pytest.raises(ValueError, match="does not hold train-images-idx3-ubyte.gz, one of the official files"):
        data.load("mnist", manual_dir=str(tmp_path))


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_the_cli_trains_resnet20_on_the_digits_as_on_tensorflow(backend, runs):
    if backend == "torch":
        pytest.importorskip("torch")
    output = runs(backend)
    reference = accuracy(runs("tensorflow"))
    assert abs(accuracy(output) - reference) <= 0.02, (accuracy(output), reference)
    assert accuracy(output) > 0.9
    # Every file a TensorFlow run writes, TensorBoard logs in Keras' layout included.
    for name in ("best.keras", "last.keras", "final.keras", "history.csv", "curves.png", "samples.npz", "status.txt"):
        assert (output / name).stat().st_size > 0, name
    assert len(loop.read_history(output / "history.csv")["val_accuracy"]) == EPOCHS
    assert (output / "status.txt").read_text().startswith(f"epoch {EPOCHS}/{EPOCHS}, accuracy ")
    for part, tags in (("train", {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"}), ("validation", set())):
        logged = events(output / "logs" / part)
        assert {tag for tag, _, _ in logged} >= tags | {"epoch_loss", "epoch_accuracy"}
        assert sorted(step for tag, step, _ in logged if tag == "epoch_loss") == list(range(EPOCHS))
    tested = loop.read_history(output / "history.csv")["val_accuracy"]
    assert [v for t, _, v in sorted(events(output / "logs" / "validation")) if t == "epoch_accuracy"] == pytest.approx(
        tested
    )


# The same images through a model loaded on each backend; on TensorFlow also through its TF Serving export.
PREDICT = """
import sys, keras, numpy as np, keras_resnet
model = keras.saving.load_model(sys.argv[1])
images, answers = np.load(sys.argv[2]), np.load(sys.argv[3])
gaps = [np.abs(model.predict(images, verbose=0) - answers).max()]
if keras.backend.backend() == "tensorflow":
    import tensorflow as tf
    from keras_resnet.serving import export
    served = tf.saved_model.load(str(export.export_saved_model(sys.argv[1], sys.argv[4]))).signatures["serving_default"]
    name = next(iter(served.structured_input_signature[1]))
    gaps.append(np.abs(served(**{name: tf.constant(images)})["probabilities"].numpy() - answers).max())
print(keras.backend.backend(), len(gaps), max(gaps))
"""


def test_a_keras_file_written_on_jax_gives_the_same_answers_on_tensorflow_pytorch_and_tf_serving(runs, tmp_path):
    final = runs("jax") / "final.keras"
    images = data.load("digits").test_split.read(np.arange(450)).astype("float32")
    answers = keras.saving.load_model(final).predict(images, verbose=0)
    np.save(tmp_path / "images.npy", images)
    np.save(tmp_path / "answers.npy", answers)
    for backend, checks in (("tensorflow", "2"), ("torch", "1")):
        python = tensorflow_python() if backend == "tensorflow" else sys.executable
        paths = [final, tmp_path / "images.npy", tmp_path / "answers.npy", tmp_path / "saved_models" / "digits"]
        done = subprocess.run(
            [str(python), "-c", PREDICT, *map(str, paths)],
            env={**ENV, "KERAS_BACKEND": backend, **SETTINGS.get(backend, {})},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.split()[-3:-1] == [backend, checks], done.stdout
        assert float(done.stdout.split()[-1]) < 1e-5, done.stdout


def test_a_killed_jax_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path):
    cli(sys.executable, "jax", *SHORT, output=tmp_path / "whole")
    output = tmp_path / "killed"
    command = [sys.executable, "-m", "keras_resnet", *SHORT, "--output", str(output)]
    child = subprocess.Popen(
        command, env={**ENV, "KERAS_BACKEND": "jax"}, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 900
    while not list((output / "backup").glob("step12-epoch2.weights.h5")):  # the backup at the end of epoch 2
        assert child.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    assert len(loop.read_history(output / "history.csv")["loss"]) in (2, 3)  # epoch 3 may have ended meanwhile
    again = cli(sys.executable, "jax", *SHORT, output=output)
    assert "Epoch 1/4" not in again and ("Epoch 3/4" in again or "Epoch 4/4" in again)
    whole, resumed = (loop.read_history(tmp_path / name / "history.csv") for name in ("whole", "killed"))
    assert len(resumed["loss"]) == 4
    for column in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(resumed[column], whole[column], rtol=1e-5, err_msg=column)
    weights = [keras.saving.load_model(tmp_path / name / "final.keras").get_weights() for name in ("whole", "killed")]
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_the_recipes_ingredients_train_save_and_fine_tune_on_jax(tmp_path):
    """Stochastic depth, EMA, label smoothing, MixUp, bfloat16 and flip averaging in one JAX run: the saved file
    takes raw pixels and gives the accuracy the run reported; then `--model final.keras --freeze stage1` fine-tunes
    it through the CLI, stem and stage 1 left as they were."""
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (96, 8, 8, 3), dtype="uint8"), np.arange(96) % 3
    model = keras_resnet.ResNet20(input_shape=(8, 8, 3), classes=3, stochastic_depth=0.5)
    output = tmp_path / "fast"
    history = loop.train(
        model,
        ((x, y), (x[:32], y[:32])),
        recipe="cifar_fast",
        epochs=2,
        batch_size=16,
        ema=True,
        mixup=0.2,
        mixed_precision=True,
        output=output,
        verbose=0,
    )
    net = history.model
    assert net.optimizer.use_ema and net.loss.get_config()["label_smoothing"] == 0.1
    assert {layer.compute_dtype for layer in net.layers[2:-2]} == {"bfloat16"}
    assert net.get_layer("predictions").compute_dtype == "float32"
    assert 0 <= history.test["accuracy_flip_averaged"] <= 1
    saved = keras.saving.load_model(output / "final.keras")
    answers = saved.predict(x[:32].astype("float32"), verbose=0).argmax(-1)
    assert np.isclose(history.test["accuracy"], np.mean(answers == y[:32]), atol=1e-6)  # evaluated as saved
    assert any(layer.__class__.__name__ == "StochasticDepth" for layer in saved._flatten_layers())
    # Fine-tuning the saved file through the CLI, on the same images as a folder of class folders.
    from PIL import Image

    from keras_resnet import cli

    for index, (image, label) in enumerate(zip(x, y)):
        (tmp_path / "folder" / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(tmp_path / "folder" / str(label) / f"{index}.png")
    arguments = ["train", "--model", str(output / "final.keras"), "--dataset", str(tmp_path / "folder")]
    arguments += ["--freeze", "stage1", "--epochs", "1", "--batch-size", "16", "--verbose", "0"]
    assert cli.main([*arguments, "--output", str(tmp_path / "tuned")]) == 0
    tuned = keras.saving.load_model(tmp_path / "tuned" / "final.keras")
    for name in ("stem_conv", "stage1_block1", "stage3_block1"):
        pairs = zip(saved.get_layer(name).get_weights(), tuned.get_layer(name).get_weights())
        assert all(np.array_equal(a, b) for a, b in pairs) == (name != "stage3_block1"), name


# One global batch of 16 images, split 8 + 8 over two XLA CPU devices by keras.distribution.DataParallel, against
# one device: both runs see the same batches (they depend only on the seed and the step), and BatchNormalization
# takes its statistics over the global batch under JAX's sharding, as one device does.
DATA_PARALLEL = """
import sys, numpy as np, keras, jax, keras_resnet
from keras_resnet.training import loop
loop.configure_cpu_devices(2)
rng = np.random.default_rng(0)
x, y = rng.integers(0, 256, (96, 8, 8, 1), dtype="uint8"), np.arange(96) % 10
model = keras_resnet.build("cifar_resnet", depth=8, input_shape=(8, 8, 1), classes=10)
arrays = {}
for strategy, batch in (("default", 16), ("data-parallel", 8)):
    history = loop.train(model, ((x, y), (x[:32], y[:32])), strategy=strategy, epochs=2, steps_per_epoch=3,
                         batch_size=batch, verbose=0)
    for index, weight in enumerate(history.model.get_weights()):
        arrays[f"{strategy}/weight{index:03d}"] = weight
    for key, values in history.history.items():
        arrays[f"{strategy}/{key}"] = np.array(values)
    arrays[f"{strategy}/devices"] = np.array(sorted({len(w.value.sharding.device_set) for w in history.model.weights}))
np.savez(sys.argv[1], **arrays)
print(len(jax.devices()), keras.distribution.distribution())
"""


def test_a_data_parallel_jax_run_on_two_devices_equals_one_device(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", DATA_PARALLEL, str(tmp_path / "runs.npz")],
        env={**ENV, "KERAS_BACKEND": "jax"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["2", "None"]  # two devices; the distribution left as it was found
    runs = np.load(tmp_path / "runs.npz")
    assert list(runs["default/devices"]) == [1] and list(runs["data-parallel/devices"]) == [2]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(runs[f"data-parallel/{key}"], runs[f"default/{key}"], rtol=1e-5, err_msg=key)
    assert runs["default/loss"][1] != runs["default/loss"][0]  # it trained
    weights = sorted(key.split("/")[1] for key in runs if key.startswith("default/weight"))
    assert len(weights) > 20
    for name in weights:
        one, two = runs[f"default/{name}"], runs[f"data-parallel/{name}"]
        np.testing.assert_allclose(two, one, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(one).max())), err_msg=name)


def test_a_search_on_jax_trains_its_trial_in_a_process_and_saves_the_best(tmp_path):
    from keras_resnet import tuning

    summary = tuning.search(
        "digits", tmp_path, depths=[8], max_trials=1, epochs=2, batch_size=32, steps_per_epoch=25, lrs=[0.4], verbose=0
    )
    (row,) = summary["rows"]
    # That it runs here (how well a search learns is tests/test_tuning.py's, and training's is the CLI tests').
    assert row["status"] == "completed" and 0 <= row["val_accuracy"] <= 1
    assert (tmp_path / "search" / f"trial_{row['trial']}" / "worker.json").exists()  # trained in its own process
    assert {tag for tag, _, _ in events(next((tmp_path / "logs").rglob("train")))} >= {"epoch_loss", "epoch_accuracy"}
    best = keras.saving.load_model(summary["model"])
    assert best.input_shape == (None, 8, 8, 1) and 0 <= summary["test_accuracy"] <= 1
