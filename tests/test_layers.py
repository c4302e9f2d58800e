"""The custom layers on their own: shortcuts, stochastic depth, blocks, serialization."""

import keras
import numpy as np
import pytest

import keras_resnet
from keras_resnet.layers import (
    BasicBlock,
    BottleneckBlock,
    IdentityShortcut,
    ProjectionShortcut,
    StochasticDepth,
    ZeroPadShortcut,
)


def test_zero_pad_shortcut_subsamples_and_pads_evenly(images):
    x = images((8, 8, 16), n=2)
    layer = ZeroPadShortcut(32, strides=2)
    y = keras.ops.convert_to_numpy(layer(x))
    assert y.shape == (2, 4, 4, 32)
    np.testing.assert_array_equal(y[..., 8:24], x[:, ::2, ::2, :])
    assert not y[..., :8].any() and not y[..., 24:].any()
    assert layer.count_params() == 0


def test_zero_pad_shortcut_refuses_to_shrink():
    with pytest.raises(ValueError, match="cannot shrink"):
        ZeroPadShortcut(8)(np.zeros((1, 4, 4, 16), "float32"))


def test_projection_shortcut_shapes_and_parameters(images):
    layer = ProjectionShortcut(32, strides=2)
    assert layer(images((8, 8, 16))).shape == (4, 4, 4, 32)
    assert layer.count_params() == 16 * 32 + 4 * 32
    assert ProjectionShortcut(32, batch_norm=False, use_bias=True)(images((8, 8, 16))).shape[-1] == 32


def test_stochastic_depth_inference_scales_the_branch(images):
    shortcut, residual = images((4, 4, 8)), images((4, 4, 8)) + 1
    layer = StochasticDepth(0.75)
    out = keras.ops.convert_to_numpy(layer([shortcut, residual], training=False))
    np.testing.assert_allclose(out, shortcut + 0.75 * residual, rtol=1e-6)


def test_stochastic_depth_drops_the_whole_batch_together(images):
    shortcut, residual = images((4, 4, 8)), images((4, 4, 8)) + 1
    layer = StochasticDepth(0.5, seed=3)
    kept = []
    for _ in range(200):
        out = keras.ops.convert_to_numpy(layer([shortcut, residual], training=True))
        dropped, full = np.allclose(out, shortcut), np.allclose(out, shortcut + residual)
        assert dropped != full  # every example of the batch gets the same decision
        kept.append(full)
    assert 0.35 < np.mean(kept) < 0.65


def test_dropped_branch_is_not_computed():
    """A dropped block must skip its branch: its BN statistics stay untouched in that step."""
    block = BasicBlock(8, shortcut="B", survival_prob=1e-6, zero_init=False, name="b")
    x = np.random.default_rng(0).random((4, 6, 6, 8), dtype=np.float32)
    block(x)  # build
    before = [w.numpy().copy() for w in block.non_trainable_weights if "moving" in w.path]
    out = keras.ops.convert_to_numpy(block(x, training=True))
    after = [w.numpy() for w in block.non_trainable_weights if "moving" in w.path]
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    kept = BasicBlock(8, shortcut="B", name="k", zero_init=False)
    kept(x, training=True)
    assert any(not np.array_equal(w.numpy(), 0) for w in kept.non_trainable_weights if "moving_mean" in w.path)


def test_stochastic_depth_rejects_bad_probabilities():
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"in \(0, 1\]"):
            StochasticDepth(bad)


def test_linear_decay_over_blocks():
    model = keras_resnet.ResNet110(stochastic_depth=0.5)
    probs = [layer.survival_prob for layer in model.layers if isinstance(layer, keras_resnet.layers.ResidualBlock)]
    assert len(probs) == 54
    np.testing.assert_allclose(probs, [1 - (l / 54) * 0.5 for l in range(1, 55)])
    assert probs[-1] == pytest.approx(0.5)


def test_stochastic_depth_model_trains_and_differs_between_steps(images):
    model = keras_resnet.ResNet20(stochastic_depth=0.5, classes=3, zero_init_residual=False)
    x = images((32, 32, 3), n=8)
    a = keras.ops.convert_to_numpy(model(x, training=True))
    outs = [keras.ops.convert_to_numpy(model(x, training=True)) for _ in range(5)]
    assert any(not np.allclose(a, o) for o in outs)
    model.compile("sgd", "sparse_categorical_crossentropy")
    history = model.fit(x, np.arange(8) % 3, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


@pytest.mark.parametrize(
    "layer",
    [
        IdentityShortcut(),
        ZeroPadShortcut(16, 2),
        ProjectionShortcut(16, 2, batch_norm=False, use_bias=True),
        StochasticDepth(0.8, seed=1),
        BasicBlock(16, strides=2, shortcut="A", survival_prob=0.9, dropout=0.1),
        BottleneckBlock(8, strides=2, stride_in="1x1", preact=True, groups=2, width=8, use_bias=True),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_layers_round_trip_through_config_and_registry(layer):
    config = keras.saving.serialize_keras_object(layer)
    assert config["module"] is None or "keras_resnet" in config["registered_name"]
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(layer)
    assert clone.get_config() == layer.get_config()


def test_block_shortcut_choice():
    x = np.zeros((1, 8, 8, 16), "float32")
    cases = {("A", 1, 16): IdentityShortcut, ("A", 2, 32): ZeroPadShortcut, ("B", 1, 16): IdentityShortcut,
             ("B", 2, 32): ProjectionShortcut, ("C", 1, 16): ProjectionShortcut}  # fmt: skip
    for (kind, strides, filters), expected in cases.items():
        block = BasicBlock(filters, strides=strides, shortcut=kind)
        block(x)
        assert type(block.shortcut) is expected, (kind, strides)
    with pytest.raises(ValueError, match="shortcut='D' is not one of"):
        BasicBlock(16, shortcut="D")


def test_lesioned_block_returns_its_shortcut(images):
    x = images((8, 8, 16))
    block = BasicBlock(16, shortcut="B", active=False, zero_init=False)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(block(x)), np.maximum(x, 0))
