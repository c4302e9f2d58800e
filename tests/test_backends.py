"""The model code on any Keras backend: this module imports no TensorFlow, and CI runs it a second time on
JAX in an environment without TensorFlow (`.ci/run`). Every family builds, trains two steps and round-trips
`.keras`; stochastic depth drops whole blocks and a dropped block's BatchNorm statistics stay as they were."""

import json
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_resnet
from helpers import run_backbone_test

ROOT = pathlib.Path(__file__).resolve().parents[1]
# One small member of every family: (name or family, input shape, options).
FAMILIES = {
    "resnet": ("ResNet18", (64, 64, 3), {}),
    "resnet_v2": ("ResNet18V2", (64, 64, 3), {}),
    "cifar_resnet": ("ResNet20", (16, 16, 3), {"shortcut": "B", "stochastic_depth": 0.8}),
    "preact_resnet": ("preact_resnet", (16, 16, 3), {"depth": 11}),
    "resnext": ("resnext", (64, 64, 3), {"depth": 50, "cardinality": 2, "bottleneck_width": 2}),
    "wide_resnet": ("wide_resnet", (64, 64, 3), {"depth": 50, "widen": 1}),
    "cifar_resnext": ("cifar_resnext", (16, 16, 3), {"depth": 11, "cardinality": 2, "bottleneck_width": 4}),
    "cifar_wide_resnet": ("cifar_wide_resnet", (16, 16, 3), {"depth": 10, "widen": 1, "dropout": 0.1}),
    "densenet": ("densenet", (64, 64, 3), {"depth": 121, "growth_rate": 4}),
    "cifar_densenet": ("cifar_densenet", (16, 16, 3), {"depth": 10, "growth_rate": 4}),
}


def test_every_family_is_covered():
    assert set(FAMILIES) == set(keras_resnet.specs.FAMILIES)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_builds_trains_and_round_trips(family, tmp_path):
    name, shape, options = FAMILIES[family]
    run_backbone_test(name, tmp_path, shape, **options)


def test_importing_the_package_imports_neither_keras_nor_tensorflow():
    code = (
        "import json, sys, keras_resnet; keras_resnet.specs.resolve('ResNet50'); "
        "print(json.dumps([m in sys.modules for m in ('keras', 'tensorflow')]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(done.stdout) == [False, False]


@pytest.mark.parametrize("command", [["--help"], ["models"], ["paths", "ResNet110"], ["train", "--help"]])
def test_the_cli_commands_that_need_no_tensorflow_run_without_it(command):
    """In CI's JAX job TensorFlow is not installed at all; here its import is made to fail."""
    code = (
        "import sys; sys.modules['tensorflow'] = None; sys.argv = ['keras-resnet', *sys.argv[1:]]; "
        "from keras_resnet.cli import main; sys.exit(main())"
    )
    done = subprocess.run([sys.executable, "-c", code, *command], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() and "Traceback" not in done.stderr


def test_a_dropped_block_skips_its_branch_and_keeps_its_statistics(tmp_path):
    """Trained by fit (jit-compiled on JAX, a tf.function on TF): a block that always drops leaves its
    BatchNorm moving statistics untouched, a block that is always kept moves them."""
    inputs = keras.Input((6, 6, 8))
    dropped = keras_resnet.layers.BasicBlock(8, survival_prob=1e-9, zero_init=False, name="dropped")
    kept = keras_resnet.layers.BasicBlock(8, survival_prob=1.0 - 1e-7, zero_init=False, name="kept")
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(kept(dropped(inputs))))
    model = keras.Model(inputs, outputs)

    def statistics(block):
        return [keras.ops.convert_to_numpy(v).copy() for v in block.non_trainable_weights if "moving" in v.path]

    before = {block.name: statistics(block) for block in (dropped, kept)}
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).random((4, 6, 6, 8), dtype=np.float32)
    model.fit(x, np.arange(4) % 2, batch_size=2, epochs=2, verbose=0)
    for a, b in zip(before["dropped"], statistics(dropped)):
        np.testing.assert_array_equal(a, b)
    assert all(not np.array_equal(a, b) for a, b in zip(before["kept"], statistics(kept)))
    # The whole block went: in training it gives its shortcut, after the v1 ReLU.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(dropped(x, training=True)), np.maximum(x, 0), atol=1e-6)
