"""keras_resnet.training.loop and `keras-resnet train`: recipes, weight decay, resume, strategies, NaN, precision."""

import dataclasses
import json
import os
import pathlib
import re
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_resnet
from keras_resnet import cli
from keras_resnet.training import loop, optimizer, recipes

ROOT = pathlib.Path(__file__).resolve().parents[1]
QUICK = [
    "--model",
    "ResNet20",
    "--dataset",
    "digits",
    "--epochs",
    "2",
    "--steps-per-epoch",
    "3",
    "--batch-size",
    "16",
    "--verbose",
    "2",
]


# Strategies and logical devices need a TensorFlow of their own: those tests run in fresh processes.
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}


def run_cli(*args, **env):
    return subprocess.Popen(
        [sys.executable, "-m", "keras_resnet", *args],
        env={**ENV, **env},
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_recipes_are_data_and_every_value_can_be_overridden():
    cifar = recipes.get_recipe("cifar")
    assert (cifar.lr, cifar.momentum, cifar.weight_decay, cifar.batch_size, cifar.milestones) == (
        0.1,
        0.9,
        1e-4,
        128,
        (0.5, 0.75),
    )
    imagenet = recipes.get_recipe("imagenet", schedule="cosine", epochs=10)
    assert (imagenet.warmup_epochs, imagenet.lr_batch, imagenet.schedule, imagenet.epochs) == (5.0, 256, "cosine", 10)
    assert recipes.get_recipe("wrn").weight_decay == 5e-4 and recipes.get_recipe("densenet").nesterov
    with pytest.raises(ValueError, match="not recipe settings.*'weight_decay'"):
        recipes.get_recipe("cifar", weight_decy=0.1)
    with pytest.raises(ValueError, match="choose one of"):
        recipes.get_recipe("cifra")
    with pytest.raises(ValueError, match="schedule='linear' is not valid"):
        recipes.get_recipe("cifar", schedule="linear")


def test_schedule_warms_up_then_steps_or_follows_a_cosine():
    step = optimizer.RecipeSchedule(0.1, total_steps=100, warmup_steps=10, milestones=(0.5, 0.75), gamma=0.1)
    values = [float(step(i)) for i in (0, 9, 10, 49, 50, 74, 75, 99)]
    np.testing.assert_allclose(values, [0.01, 0.1, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001], rtol=1e-5)
    cosine = optimizer.RecipeSchedule(0.1, total_steps=110, warmup_steps=10, shape="cosine")
    np.testing.assert_allclose([float(cosine(i)) for i in (10, 60, 110)], [0.1, 0.05, 0.0], atol=1e-6)
    assert (
        keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(step)).get_config()
        == step.get_config()
    )


def test_weight_decay_is_an_l2_penalty_on_kernels_only():
    model = keras_resnet.build("ResNet20", input_shape=(8, 8, 1), classes=10)
    config = model.get_config()
    optimizer.add_weight_decay(model, 1e-4)
    kernels = [w for w in model.trainable_weights if w.name == "kernel"]
    expected = sum(float(np.sum(np.square(w.numpy()))) for w in kernels) * 1e-4 / 2
    assert len(kernels) == 20 and np.isclose(float(sum(model.losses)), expected, rtol=1e-5)
    assert model.get_config() == config  # saved models stay free of the training-only penalty


def test_train_command_writes_every_artefact_and_resumes_or_refuses(tmp_path, capsys):
    output = tmp_path / "run"
    assert cli.main(["train", *QUICK, "--output", str(output)]) == 0
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and "test accuracy" in out
    for name in ("best.keras", "last.keras", "final.keras", "history.csv", "curves.png", "config.json", "results.json"):
        assert (output / name).stat().st_size > 0, name
    assert list((output / "logs").rglob("events.out.tfevents.*"))
    tested = loop.read_history(output / "history.csv")["val_accuracy"]
    assert len(tested) == 2
    # One line to read a long run at a glance: where it is, how well it does, how long it has left.
    status = (output / "status.txt").read_text()
    best = max(range(2), key=tested.__getitem__)
    assert status.startswith("epoch 2/2, accuracy 0.") and status.count("\n") == 1
    assert f"test accuracy {tested[-1]:.4f} (best {tested[best]:.4f} at epoch {best + 1})" in status
    assert re.search(r"\d+ s an epoch, finished, at 20\d\d-\d\d-\d\d \d\d:\d\d$", status.strip())
    config = json.loads((output / "config.json").read_text())
    assert (config["model"], config["epochs"], config["lr"], config["steps_per_epoch"]) == ("ResNet20", 2, 0.1, 3)
    reloaded = keras.saving.load_model(output / "final.keras")
    assert reloaded.output_shape == (None, 10)
    # The same command again finds the run finished: it resumes at its end and trains nothing more.
    assert cli.main(["train", *QUICK, "--output", str(output)]) == 0
    assert "Epoch 1/2" not in capsys.readouterr().out
    assert len(loop.read_history(output / "history.csv")["loss"]) == 2
    # A different run in the same directory is refused, unless asked to overwrite.
    assert cli.main(["train", *QUICK, "--lr", "0.05", "--output", str(output)]) == 2
    assert "holds a different train run (differs in lr)" in capsys.readouterr().err
    assert cli.main(["train", *QUICK, "--lr", "0.05", "--output", str(output), "--overwrite"]) == 0
    assert json.loads((output / "config.json").read_text())["lr"] == 0.05


def test_the_status_line_says_finished_only_after_the_last_epoch(tmp_path):
    # A fast run's last-but-one epoch leaves less than a minute: that is time left, not "finished".
    status = loop.StatusLine(tmp_path / "status.txt", tmp_path / "history.csv")
    status.set_params({"epochs": 3})
    for epoch in range(3):
        status.on_epoch_begin(epoch)
        status.on_epoch_end(epoch, {"accuracy": 0.5})
        line = (tmp_path / "status.txt").read_text()
        assert line.startswith(f"epoch {epoch + 1}/3, accuracy 0.5000, 0 s an epoch, ")
        assert ("finished" in line) == (epoch == 2) and ("less than a minute left" in line) == (epoch < 2)


def test_the_fast_recipes_ingredients_train_save_and_report(tmp_path):
    """cifar_fast with EMA and MixUp on small RGB arrays: the saved model holds the averaged weights (the
    same run without EMA saves other weights), evaluated as saved, and the flip-averaged accuracy is reported."""
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (96, 8, 8, 3), dtype="uint8"), np.arange(96) % 3
    fast = recipes.get_recipe("cifar_fast")
    assert (fast.schedule, fast.nesterov, fast.label_smoothing, fast.cache, fast.tta_flip, fast.one_hot) == (
        "cosine",
        True,
        0.1,
        True,
        True,
        True,
    )
    arrays, saved = ((x, y), (x[:32], y[:32])), {}
    for ema, momentum in ((False, 0.999), (True, 0.5)):
        output = tmp_path / f"{ema}-{momentum}"
        history = loop.train(
            "ResNet20",
            arrays,
            recipe="cifar_fast",
            epochs=2,
            batch_size=16,
            ema=ema,
            ema_momentum=momentum,
            mixup=0.2,
            output=output,
            verbose=0,
        )
        assert 0 <= history.test["accuracy_flip_averaged"] <= 1
        saved[ema, momentum] = keras.saving.load_model(output / "final.keras")
        answers = saved[ema, momentum].predict(x[:32].astype("float32"), verbose=0).argmax(-1)
        assert np.isclose(history.test["accuracy"], np.mean(answers == y[:32]), atol=1e-6)  # evaluated as saved

    def kernel(key):
        return saved[key].get_layer("stem_conv").get_weights()[0]

    # The same seeded run saves other weights with the average: it is the average that was saved.
    assert not np.allclose(kernel((True, 0.5)), kernel((False, 0.999)), atol=1e-4)
    compiled = keras_resnet.build("ResNet20", input_shape=(8, 8, 3), classes=3)
    optimizer.compile_model(compiled, recipes.get_recipe("cifar_fast", ema=True), steps_per_epoch=6, global_batch=16)
    assert compiled.optimizer.use_ema and compiled.loss.get_config()["label_smoothing"] == 0.1


def test_nan_loss_stops_with_a_clear_message_before_any_checkpoint(tmp_path):
    x = np.random.default_rng(0).random((32, 8, 8, 1), dtype=np.float32)  # (NaN images are refused by index)
    with pytest.raises(FloatingPointError, match=r"epoch 1, step [234]: the loss became (nan|inf).*lower the learning"):
        loop.train(
            "ResNet20", (x, np.arange(32) % 2), epochs=1, batch_size=8, lr=1e37, output=tmp_path / "nan", verbose=0
        )
    assert not (tmp_path / "nan" / "last.keras").exists()


def test_labels_beyond_a_given_models_outputs_are_refused_by_index_before_training():
    model = keras_resnet.build("cifar_resnet", depth=8, input_shape=(8, 8, 1), classes=3)
    x, y = np.zeros((20, 8, 8, 1), "float32"), np.arange(20) % 4
    with pytest.raises(
        ValueError, match=r"^label 3 at index 3 is out of range: labels must be 0 to 2 for 3 classes\.$"
    ):
        loop.train(model, (x, y), epochs=1, verbose=0)


# Promise: a model object given to train() gets the data's normalisation as a layer of its graph, the same graph
# a model built by name with `preprocessing=` has, in any dtype policy. Before: rebuild spliced the layer into the
# model's config JSON and looked for the layers reading the input with keras.tree.flatten, which flattens the
# tensors' dicts too: it found none, the layer was left unconnected and dropped, so the model trained on raw pixels.
@pytest.mark.parametrize("dtype", [None, "mixed_bfloat16"])
def test_a_given_model_gets_the_preprocessing_a_model_built_by_name_has(dtype):
    mean, std = [100.0, 110.0, 120.0], [50.0, 60.0, 70.0]
    options = dict(depth=8, input_shape=(8, 8, 3), classes=3, dtype=dtype)
    keras.utils.set_random_seed(0)
    given = keras_resnet.build("cifar_resnet", **options)
    copy = loop.rebuild(given, mean, std, dtype=dtype)
    built = keras_resnet.build("cifar_resnet", **options, preprocessing={"mean": mean, "std": std})
    assert copy.get_config() == built.get_config()
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    normalised = (pixels - np.float32(mean)) / np.float32(std)
    np.testing.assert_allclose(copy.predict(pixels, verbose=0), given.predict(normalised, verbose=0), atol=1e-2)


def test_mixed_precision_computes_in_16_bits_with_float32_logits():
    history = loop.train(
        "ResNet20", "digits", epochs=1, steps_per_epoch=2, batch_size=16, mixed_precision=True, verbose=0
    )
    model = history.model
    assert model.get_layer("predictions").compute_dtype == "float32"
    assert model.get_layer("preprocessing").compute_dtype == "float32"  # the pixels' detail, before any 16-bit layer
    assert {layer.compute_dtype for layer in model.layers[2:-2]} == {"bfloat16"}
    assert {sub.compute_dtype for block in model.layers[2:-2] for sub in block._flatten_layers()} == {"bfloat16"}
    assert model(np.zeros((1, 8, 8, 1), "float32")).dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"


# One global batch of 16 images split 8 + 8 over two logical CPUs, with synchronised BatchNormalization
# (per-replica statistics would differ from one device's by design). The data set is that one batch, so
# both runs see the same images whatever order tf.data's distribution rewrite gives them.
MIRRORED = """
import keras
import numpy as np
import keras_resnet
from keras_resnet.training import loop
loop.configure_cpu_devices(2)
keras.utils.set_random_seed(0)
model = keras_resnet.build("cifar_resnet", depth=8, input_shape=(8, 8, 1), classes=10)
x, y = np.random.default_rng(0).random((16, 8, 8, 1), dtype=np.float32), np.arange(16) % 10
runs = {}
for strategy, batch in (("default", 16), ("mirrored", 8)):
    history = loop.train(model, ((x, y), (x, y)), strategy=strategy, epochs=1, steps_per_epoch=1,
                             batch_size=batch, augment="none", sync_batchnorm=True, verbose=0)
    runs[strategy] = history.model.get_weights()
    print(strategy, history.model.distribute_strategy.num_replicas_in_sync)
gap = max(float(np.max(np.abs(a - b))) for a, b in zip(runs["default"], runs["mirrored"]))
moved = max(float(np.max(np.abs(a - b))) for a, b in zip(runs["default"], model.get_weights()))
print(f"gap {gap:.3g} moved {moved:.3g}")
"""


def test_two_logical_devices_give_the_same_weights_as_one():
    out = subprocess.run(
        [sys.executable, "-c", MIRRORED], env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert "default 1" in lines and "mirrored 2" in lines
    gap, moved = float(lines[-1].split()[1]), float(lines[-1].split()[3])
    assert gap < 1e-5 and moved > 1e-3, lines[-1]  # same weights, and the step really changed them


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_multiworker_run_of_two_local_processes_agrees(tmp_path):
    workers = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    args = ["train", *QUICK, "--strategy", "multiworker", "--output", str(tmp_path / "run")]
    procs = [
        run_cli(*args, TF_CONFIG=json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}}))
        for i in range(2)
    ]
    outs = [p.communicate(timeout=500)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs[0][-3000:] + outs[1][-3000:]
    chief, other = (keras.saving.load_model(tmp_path / d / "final.keras") for d in ("run", "run-worker1"))
    assert json.loads((tmp_path / "run" / "config.json").read_text())["replicas"] == 2
    # Gradients are all-reduced, so trainable weights agree; BN moving statistics stay per worker
    # (each sees its own shard) unless --sync-batchnorm.
    for a, b in zip(chief.trainable_weights, other.trainable_weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6, err_msg=a.path)


def test_train_help_explains_every_flag():
    train = next(a for a in cli.parser()._actions if a.dest == "command").choices["train"]
    flags = [action for action in train._actions if action.option_strings and action.dest != "help"]
    assert all(action.help and len(action.help) > 15 for action in flags), [a.dest for a in flags if not a.help]
    recipe_flags = {action.dest for action in flags}
    assert {f.name for f in dataclasses.fields(recipes.Recipe)} <= recipe_flags
