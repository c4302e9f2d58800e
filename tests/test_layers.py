"""The custom layers on their own: shortcuts, stochastic depth, blocks, serialization."""

import pathlib

import keras
import numpy as np
import pytest

import keras_resnet
from helpers import gradients, numpy, run_layer_test
from keras_resnet.layers import (
    BasicBlock,
    BatchNormalization,
    BlurPool,
    BottleneckBlock,
    Conv2D,
    DenseLayer,
    EfficientChannelAttention,
    HighwayShortcut,
    IdentityShortcut,
    ProjectionShortcut,
    SqueezeExcite,
    StochasticDepth,
    Transition,
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


def _two_blocks(kept, dropped):
    """A tiny net: `kept` then `dropped` (blocks or stand-ins for them), pooled into 3 logits."""
    inputs = keras.Input((6, 6, 8))
    outputs = keras.layers.Dense(3, name="head")(keras.layers.GlobalAveragePooling2D()(dropped(kept(inputs))))
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize(
    "implementation, run_eagerly", [("cond", False), ("select", False), ("cond", True)], ids=["cond", "select", "eager"]
)
def test_fit_skips_a_dropped_branch_and_trains_a_kept_one_as_without_stochastic_depth(implementation, run_eagerly):
    """model.fit (jax.jit on JAX) through one block kept and one dropped in every step gives what a net with the
    first block plain and the second replaced by its shortcut gives: same losses, weights, statistics and seeds."""

    # Keras' torch Dropout, unseeded, draws from torch's global generator rather than its seed state, so two
    # nets' masks can match only on the other backends.
    dropout = 0.0 if keras.backend.backend() == "torch" else 0.2

    def block(survival_prob, name):
        options = dict(survival_implementation=implementation, dropout=dropout, zero_init=False, name=name)
        return BasicBlock(8, survival_prob=survival_prob, **options)

    model = _two_blocks(block(1 - 1e-6, "kept"), block(1e-6, "dropped"))
    # Identity shortcut and a ReLU after the addition: a dropped block maps its input x (>= 0, a ReLU's
    # output) to relu(x) = x.
    reference = _two_blocks(block(1.0, "kept"), keras.layers.Identity())
    for name in ("kept", "head"):
        reference.get_layer(name).set_weights(model.get_layer(name).get_weights())
    if dropout:
        seeds = [net.get_layer("kept").drop.seed_generator.state for net in (model, reference)]
        seeds[1].assign(numpy(seeds[0]))  # the same dropout masks (a copy: JAX donates the step's buffers)

    def values(layer):  # every weight and statistic, and a block's dropout seed (not its own draws')
        seed = {"dropout seed": numpy(layer.drop.seed_generator.state)} if getattr(layer, "drop", None) else {}
        return {**{w.path.split("/", 1)[1]: numpy(w) for w in layer.weights}, **seed}

    start = {name: values(model.get_layer(name)) for name in ("kept", "dropped")}
    x = np.random.default_rng(0).random((8, 6, 6, 8), dtype=np.float32)
    y = np.arange(8) % 3
    histories = []
    for net in (model, reference):
        net.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        net.run_eagerly = run_eagerly
        histories.append(net.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history["loss"])

    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-5)
    for name in ("kept", "head"):
        ours, theirs = values(model.get_layer(name)), values(reference.get_layer(name))
        assert ours.keys() == theirs.keys()
        for path in ours:
            np.testing.assert_allclose(ours[path], theirs[path], rtol=1e-5, atol=1e-6, err_msg=path)
    dropped = values(model.get_layer("dropped"))
    for path in dropped:
        np.testing.assert_array_equal(start["dropped"][path], dropped[path], err_msg=path)  # nothing moved
    kept = values(model.get_layer("kept"))
    assert len(kept) == 2 + 4 + 4 + bool(dropout)  # kernels; gammas and betas; statistics; the dropout's seed
    assert all(not np.array_equal(start["kept"][path], kept[path]) for path in kept)  # all of them moved


def _primitives(jaxpr, inside=False):
    """(primitive name, whether it sits in a cond's branch) for every equation of `jaxpr`, nested ones too."""
    for equation in jaxpr.eqns:
        yield equation.primitive.name, inside
        for param in equation.params.values():
            for sub in param if isinstance(param, (list, tuple)) else [param]:
                sub = getattr(sub, "jaxpr", sub)
                if hasattr(sub, "eqns"):
                    yield from _primitives(sub, inside or equation.primitive.name == "cond")


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="inspects the jaxpr of the block's training call")
@pytest.mark.parametrize("implementation, inside", [("cond", True), ("select", False)])
def test_jax_computes_a_residual_branch_only_inside_the_cond_that_keeps_it(implementation, inside):
    import jax

    block = BasicBlock(8, survival_prob=0.5, survival_implementation=implementation, dropout=0.1, zero_init=False)
    x = np.zeros((2, 6, 6, 8), "float32")
    block(x)

    def step(trainable, non_trainable, x):
        return block.stateless_call(trainable, non_trainable, x, training=True)

    variables = [v.value for v in block.trainable_variables], [v.value for v in block.non_trainable_variables]
    jaxpr = jax.make_jaxpr(step)(*variables, x)
    convolutions = [within for name, within in _primitives(jaxpr.jaxpr) if name == "conv_general_dilated"]
    assert convolutions == [inside, inside]  # "cond": both of the branch's convolutions, none outside a cond
    outputs = jax.jit(step)(*variables, x)[1]  # the statistics come out of the cond as plain arrays
    assert all(isinstance(value, jax.Array) for value in outputs)


def test_stochastic_depth_path_is_decided_by_one_documented_rule():
    expected = "select" if keras.backend.backend() == "jax" else "cond"  # these tests run on CPUs
    assert keras_resnet.layers.stochastic_depth_path() == expected
    assert StochasticDepth(0.5).resolved_implementation == expected
    block = BasicBlock(8, survival_prob=0.5, survival_implementation="cond")
    block.build((None, 6, 6, 8))
    assert block.drop_path.resolved_implementation == "cond"
    assert BasicBlock.from_config(block.get_config()).survival_implementation == "cond"
    clone = StochasticDepth.from_config(StochasticDepth(0.5, implementation="select").get_config())
    assert clone.resolved_implementation == "select"
    for bad in (lambda: StochasticDepth(0.5, implementation="skip"), lambda: BasicBlock(8, survival_implementation="")):
        with pytest.raises(ValueError, match=r"implementation=.* is not one of \('auto', 'cond', 'select'\)"):
            bad()


def test_stochastic_depth_rejects_bad_probabilities():
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"in \(0, 1\]"):
            StochasticDepth(bad)


def test_linear_decay_over_blocks():
    model = keras_resnet.ResNet110(stochastic_depth=0.5)
    probs = [layer.survival_prob for layer in model.layers if isinstance(layer, keras_resnet.layers.ResidualBlock)]
    assert len(probs) == 54
    np.testing.assert_allclose(probs, [1 - (i / 54) * 0.5 for i in range(1, 55)])
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
        BasicBlock(16, strides=2, shortcut="highway"),
        HighwayShortcut(16, 2, gate_bias=-3.0),
        DenseLayer(12, bottleneck=0),
        Transition(0.3),
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
    cases = {
        ("A", 1, 16): IdentityShortcut,
        ("A", 2, 32): ZeroPadShortcut,
        ("B", 1, 16): IdentityShortcut,
        ("B", 2, 32): ProjectionShortcut,
        ("C", 1, 16): ProjectionShortcut,
    }
    for (kind, strides, filters), expected in cases.items():
        block = BasicBlock(filters, strides=strides, shortcut=kind)
        block(x)
        assert type(block.shortcut_layer) is expected, (kind, strides)
    with pytest.raises(ValueError, match="shortcut='D' is not one of"):
        BasicBlock(16, shortcut="D")


def test_lesioned_block_returns_its_shortcut(images):
    x = images((8, 8, 16))
    block = BasicBlock(16, shortcut="B", active=False, zero_init=False)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(block(x)), np.maximum(x, 0))


def test_highway_block_mixes_branch_and_carry_by_the_gate(images):
    """y = T*F + (1-T)*x: with the gate forced to 1, 0 and 0.5 the block returns F, x and their mean."""
    x = images((6, 6, 8))
    block = BasicBlock(8, shortcut="highway", preact=True, name="h")
    block(x)
    gate = block.shortcut_layer.gate_conv
    outputs = {}
    for bias in (30.0, -30.0, 0.0):
        gate.set_weights([np.zeros_like(gate.kernel.numpy()), np.full(8, bias, "float32")])
        outputs[bias] = keras.ops.convert_to_numpy(block(x, training=False))
    branch, carry = outputs[30.0], outputs[-30.0]
    np.testing.assert_allclose(carry, x, atol=1e-6)
    assert not np.allclose(branch, x)
    np.testing.assert_allclose(outputs[0.0], (branch + carry) / 2, atol=1e-5)


def test_highway_gate_starts_mostly_carrying(images):
    layer = HighwayShortcut(32, strides=2)
    x = images((8, 8, 16))
    assert layer(x).shape == (4, 4, 4, 32)  # the carry is zero-padded and subsampled like option A
    gate = keras.ops.convert_to_numpy(layer.gate(np.zeros((1, 8, 8, 16), "float32")))
    np.testing.assert_allclose(gate, 1 / (1 + np.exp(2.0)), rtol=1e-6)  # sigmoid(-2): 12% transform
    assert layer.count_params() == 16 * 32 + 32


def test_grouped_convolution_is_split_transform_merge_and_trains():
    """Conv2D(groups=C) equals C separate convolutions on channel slices, concatenated; gradients flow on CPU."""
    block = BottleneckBlock(8, width=16, groups=4, shortcut="B", zero_init=False)
    x = np.random.default_rng(0).random((2, 6, 6, 32), dtype=np.float32)
    block(x)
    conv = block.convs[1]
    h = np.random.default_rng(1).random((2, 6, 6, 16), dtype=np.float32)
    kernel = conv.kernel.numpy()  # (3, 3, 16 / 4, 16)
    parts = [
        keras.ops.conv(h[..., 4 * g : 4 * g + 4], kernel[..., 4 * g : 4 * g + 4], padding="same") for g in range(4)
    ]
    np.testing.assert_allclose(conv(h), np.concatenate(parts, axis=-1), rtol=1e-5, atol=1e-5)
    inputs = keras.Input((6, 6, 32))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(block(inputs))))
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [keras.ops.convert_to_numpy(w).copy() for w in block.trainable_weights]
    model.fit(x, np.array([0, 1]), epochs=1, verbose=0)  # on this backend's CPU kernels, grouped included
    moved = [not np.array_equal(a, keras.ops.convert_to_numpy(w)) for a, w in zip(before, block.trainable_weights)]
    assert all(moved), [w.path for w, m in zip(block.trainable_weights, moved) if not m]


def test_dense_layer_appends_growth_rate_channels(images):
    x = images((8, 8, 24))
    layer = DenseLayer(12)
    y = keras.ops.convert_to_numpy(layer(x))
    assert y.shape == (4, 8, 8, 36)
    np.testing.assert_array_equal(y[..., :24], x)  # the input is passed on untouched
    # BN(24) + 1x1 conv to 4k=48 + BN(48) + 3x3 conv to k=12; BN statistics are non-trainable.
    assert sum(int(np.prod(w.shape)) for w in layer.trainable_weights) == 2 * 24 + 24 * 48 + 2 * 48 + 9 * 48 * 12
    plain = DenseLayer(12, bottleneck=0)
    plain(x)
    assert sum(int(np.prod(w.shape)) for w in plain.trainable_weights) == 2 * 24 + 9 * 24 * 12


def test_transition_compresses_and_halves(images):
    layer = Transition(0.5)
    y = layer(images((8, 8, 45)))
    assert y.shape == (4, 4, 4, 22)  # floor(0.5 * 45), as keras.applications and torchvision
    assert layer.compute_output_shape((None, 9, 9, 45)) == (None, 4, 4, 22)


# keras-hub's run_layer_test for every layer: shapes, weight counts, config, dtypes, a training step, .keras.
@pytest.mark.parametrize(
    "cls, kwargs, shape, out, trainable, non_trainable",  # the highway gate trains through its block (below)
    [
        (IdentityShortcut, {}, (2, 8, 8, 4), (2, 8, 8, 4), 0, 0),
        (ZeroPadShortcut, dict(filters=8, strides=2), (2, 8, 8, 4), (2, 4, 4, 8), 0, 0),
        (ProjectionShortcut, dict(filters=8, strides=2), (2, 8, 8, 4), (2, 4, 4, 8), 3, 2),
        (HighwayShortcut, dict(filters=8, strides=2), (2, 8, 8, 4), (2, 4, 4, 8), 2, 0),
        (
            BasicBlock,
            dict(filters=8, strides=2, shortcut="B", dropout=0.1, zero_init=True),
            (2, 8, 8, 4),
            (2, 4, 4, 8),
            9,
            6,
        ),
        (BasicBlock, dict(filters=4, shortcut="A", survival_prob=0.999, preact=True), (2, 8, 8, 4), (2, 8, 8, 4), 6, 4),
        (BasicBlock, dict(filters=8, strides=2, shortcut="highway"), (2, 8, 8, 4), (2, 4, 4, 8), 8, 4),
        (
            BottleneckBlock,
            dict(filters=4, width=8, groups=2, strides=2, stride_in="1x1", use_bias=True),
            (2, 8, 8, 8),
            (2, 4, 4, 16),
            16,
            8,
        ),
        (DenseLayer, dict(growth_rate=4), (2, 8, 8, 6), (2, 8, 8, 10), 6, 4),
        (Transition, dict(compression=0.5), (2, 8, 8, 6), (2, 4, 4, 3), 3, 2),
        (SqueezeExcite, dict(channels=8), (2, 8, 8, 16), (2, 8, 8, 16), 4, 0),
        (EfficientChannelAttention, dict(kernel_size=3), (2, 8, 8, 16), (2, 8, 8, 16), 1, 0),
        (BlurPool, {}, (2, 9, 9, 4), (2, 5, 5, 4), 0, 0),
        (ProjectionShortcut, dict(filters=8, strides=2, avg_down=True), (2, 9, 9, 4), (2, 5, 5, 8), 3, 2),
        (
            BottleneckBlock,
            dict(filters=4, width=8, strides=2, attention="se", se_channels=8, avg_down=True, blur=True),
            (2, 9, 9, 8),
            (2, 5, 5, 16),
            16,
            8,
        ),
        (
            BasicBlock,
            dict(filters=8, strides=2, attention="eca", eca_kernel=3, survival_prob=0.9, survival_scale="train"),
            (2, 8, 8, 4),
            (2, 4, 4, 8),
            10,
            6,
        ),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_every_layer_passes_the_layer_test(cls, kwargs, shape, out, trainable, non_trainable, tmp_path):
    run_layer_test(cls, kwargs, shape, out, trainable, non_trainable, tmp_path, trains=cls is not HighwayShortcut)


DATA = pathlib.Path(__file__).parent / "data"


@pytest.mark.parametrize("strides, padding", [(1, "same"), (2, "valid"), (2, "same")])
def test_grouped_conv_paths_give_keras_own_outputs_and_gradients(strides, padding):
    # Keras' own grouped convolution is the reference (on TensorFlow it compiles the op with XLA); "native" calls
    # the backend's kernel (TensorFlow's directly), "split" one convolution per group.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 9, 9, 16)).astype("float32")
    kernel = rng.normal(scale=(2 / 36) ** 0.5, size=(3, 3, 4, 24)).astype("float32")
    reference = keras.layers.Conv2D(24, 3, strides=strides, padding=padding, groups=4)
    reference.build(x.shape)
    expected, expected_grads = gradients(lambda images, k: reference.convolution_op(images, k), x, kernel)
    for path in ("native", "split"):
        layer = Conv2D(24, 3, strides=strides, padding=padding, groups=4, implementation=path)
        layer.build(x.shape)
        assert layer.resolved_implementation == path and tuple(layer.kernel.shape) == kernel.shape
        out, grads = gradients(lambda images, k: layer.convolution_op(images, k), x, kernel)
        np.testing.assert_allclose(out, expected, atol=1e-5)
        for mine, keras_own in zip(grads, expected_grads):
            np.testing.assert_allclose(mine, keras_own, atol=1e-5, rtol=1e-5)


def test_grouped_conv_path_is_decided_by_one_documented_rule():
    # These tests run on CPUs: TensorFlow's oneDNN kernel and PyTorch's are fast there, XLA's (JAX's) is not.
    expected = "split" if keras.backend.backend() == "jax" else "native"
    assert keras_resnet.layers.grouped_conv_path() == expected
    assert (
        Conv2D(8, 3, groups=4).resolved_implementation == expected and Conv2D(8, 3).resolved_implementation == "native"
    )
    assert (
        Conv2D.from_config(Conv2D(8, 3, groups=4, implementation="native").get_config()).resolved_implementation
        == "native"
    )
    with pytest.raises(ValueError, match=r"implementation='fast' is not one of \('auto', 'native', 'split'\)"):
        Conv2D(8, 3, groups=4, implementation="fast")


def _conv_bn_net(norm, dtype):
    return keras.Sequential(
        [
            keras.Input((9, 9, 4)),
            keras.layers.Conv2D(8, 3, dtype=dtype),
            norm(momentum=0.9, epsilon=1.001e-5, dtype=dtype),
            keras.layers.ReLU(dtype=dtype),
            keras.layers.GlobalAveragePooling2D(dtype=dtype),
            keras.layers.Dense(3, dtype="float32"),
        ]
    )


@pytest.mark.parametrize("dtype, tolerance", [("float32", 1e-5), ("mixed_bfloat16", 2e-2)])
def test_batch_norm_gives_keras_outputs_gradients_and_moving_statistics(dtype, tolerance):
    # Two training steps through a convolution: equal weights after them mean equal gradients through the
    # normalisation (the kernel's) and of gamma and beta, and equal moving statistics (Keras' biased variance).
    rng = np.random.default_rng(0)
    x, y = rng.normal(2.0, 3.0, size=(6, 9, 9, 4)).astype("float32"), rng.integers(0, 3, 6)
    theirs, ours = _conv_bn_net(keras.layers.BatchNormalization, dtype), _conv_bn_net(BatchNormalization, dtype)
    ours.set_weights(theirs.get_weights())
    for net in (theirs, ours):
        net.compile(keras.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy")
        net.train_on_batch(x, y)
        net.train_on_batch(x, y)
    for mine, keras_own in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, keras_own, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(numpy(ours(x, training=True)), numpy(theirs(x, training=True)), atol=tolerance)
    np.testing.assert_allclose(ours.predict_on_batch(x), theirs.predict_on_batch(x), atol=tolerance)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the fused kernel is TensorFlow's")
def test_batch_norm_runs_tensorflows_fused_kernel_where_it_applies():
    import tensorflow as tf

    def ops_of(layer, shape, training):
        layer.build(shape)
        graph = tf.function(lambda x: layer(x, training=training)).get_concrete_function(tf.TensorSpec(shape)).graph
        return {op.type for op in graph.get_operations()}

    assert "FusedBatchNormV3" in ops_of(BatchNormalization(), (2, 5, 5, 8), True)
    assert "FusedBatchNormV3" in ops_of(BatchNormalization(), (2, 5, 5, 8), False)
    # Keras' own code where the fused kernel does not apply: synchronised statistics, other ranks, a smaller epsilon.
    assert "FusedBatchNormV3" not in ops_of(BatchNormalization(synchronized=True), (2, 5, 5, 8), True)
    assert "FusedBatchNormV3" not in ops_of(BatchNormalization(), (2, 8), True)
    assert "FusedBatchNormV3" not in ops_of(BatchNormalization(epsilon=1e-6), (2, 5, 5, 8), True)


def test_resnext_block_files_written_with_keras_conv2d_load_into_the_grouped_path(tmp_path):
    # Written by the code before Conv2D: two BottleneckBlocks (groups=4) whose 3x3 was keras' Conv2D,
    # trained two steps so that the BN statistics are not their initial values.
    saved = np.load(DATA / "resnext_conv2d.npz")
    model = keras.saving.load_model(DATA / "resnext_conv2d.keras")
    grouped = model.get_layer("stage1_block1").convs[1]
    assert type(grouped) is Conv2D and grouped.resolved_implementation == keras_resnet.layers.grouped_conv_path()
    assert type(model.get_layer("stage1_block1").norms[0]) is BatchNormalization  # written as Keras' own
    np.testing.assert_allclose(numpy(model(saved["images"])), saved["outputs"], atol=1e-5)
    fresh = keras.models.clone_model(model)
    fresh.load_weights(DATA / "resnext_conv2d.weights.h5")
    np.testing.assert_allclose(numpy(fresh(saved["images"])), saved["outputs"], atol=1e-5)
