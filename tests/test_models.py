"""Every model of `available_models()`: build, exact parameter count, forward, fit step, config, saving."""

import sys

import keras
import numpy as np
import pytest

import keras_resnet
from keras_resnet import specs
from oracle import (
    CIFAR,
    KERAS_APPLICATIONS_DENSENET,
    KERAS_APPLICATIONS_V1,
    KERAS_APPLICATIONS_V2,
    PAPER_STAGES,
    PAPERS_ROUNDED,
    TIMM,
    TORCHVISION,
    TORCHVISION_GFLOPS,
    expected_counts,
    paper_counts,
)

# Models whose fit, save/load and config round trip take over ~20 s on 2 cores: those checks run in the slow suite.
HEAVY = {
    "ResNet110",  # the CIFAR nets of 100+ layers: their first training step compiles for 10-20 s on 2 cores
    "PlainNet110",
    "PreActResNet110",
    "PreActResNet164",
    "DenseNetBC100",
    "ResNet101",
    "ResNet152",
    "ResNet200",
    "ResNet101V2",
    "ResNet152V2",
    "ResNet200V2",
    "ResNet1202",
    "PreActResNet1001",
    "ResNeXt50_32x4d",
    "ResNeXt101_32x8d",
    "ResNeXt101_64x4d",
    "ResNeXt29_8x64d",
    "ResNeXt29_16x64d",
    "WideResNet50_2",
    "WideResNet101_2",
    "WideResNet28_10",
    "DenseNet121",
    "DenseNet161",
    "DenseNet169",
    "DenseNet201",
    "DenseNet264",
    "DenseNetBC190",
    "DenseNetBC250",
    "ResNet101D",
    "ResNet152D",
    "ResNet200D",
    "SEResNet101",
    "SEResNet152",
    "SEResNeXt101_32x8d",
    "ECAResNet101D",
    "ResNetRS101",
    "ResNetRS152",
    "ResNetRS200",
    "ResNetRS270",
    "ResNetRS350",
    "ResNetRS420",
}
# Over ~60M parameters: their forward check, with the training step and save/load, is in the slow suite's
# test_heavy_fit_and_save; their exact counts stay default.
HUGE = {
    "ResNeXt101_32x8d",
    "ResNeXt101_64x4d",
    "ResNeXt29_16x64d",
    "WideResNet50_2",
    "WideResNet101_2",
    "ResNet152D",
    "ResNet200D",
    "SEResNet152",
    "SEResNeXt101_32x8d",
    "ResNetRS101",
    "ResNetRS152",
    "ResNetRS200",
    "ResNetRS270",
    "ResNetRS350",
    "ResNetRS420",
}


def counts(model):
    def size(weights):
        return sum(int(np.prod(w.shape)) for w in weights)

    return size(model.trainable_weights), size(model.non_trainable_weights)


def test_oracle_reproduces_published_counts():
    for name, trainable in {**TORCHVISION, **CIFAR}.items():
        assert expected_counts(name)[0] == trainable, name
    for name, published in KERAS_APPLICATIONS_V1.items():
        assert expected_counts(name, use_bias=True) == published, name
    for name, (trainable, non_trainable) in KERAS_APPLICATIONS_V2.items():
        # keras.applications' V2 nets carry a bias on the stem conv (64), the four projections (3,840) and
        # the last 1x1 of each block (4 * width); ours are bias-free: ResNet50V2 = 25,568,360 - 19,008.
        blocks = PAPER_STAGES[int(name[6:-2])][1]
        biases = 64 + 3_840 + sum(n * 4 * width for n, width in zip(blocks, (64, 128, 256, 512)))
        assert expected_counts(name) == (trainable - biases, non_trainable), name
    assert sum(expected_counts("ResNet20")) == 271_098
    for name, total in KERAS_APPLICATIONS_DENSENET.items():
        assert sum(expected_counts(name)) == total, name
    for name, millions in PAPERS_ROUNDED.items():
        assert round(expected_counts(name)[0] / 1e6, 1) == millions, name


def small_shape(name):
    family = specs.FAMILIES[specs.MODELS[name][0]]
    # 64x64 leaves a 2x2 map after the ImageNet nets' 32x downsampling: training-mode BN over a 1x1 map
    # and a tiny batch divides by a near-zero variance and blows up, in any framework.
    return (64, 64, 3) if family.stem == "imagenet" else (32, 32, 3)


def small_by_default(name):
    """Whether `name`'s default input is already the small size of the forward and training checks (the CIFAR
    nets): the model the count test builds then serves those checks too, instead of a second build."""
    return specs.resolve(name).input_shape == small_shape(name)


@pytest.mark.parametrize("name", keras_resnet.available_models())
def test_build_and_exact_parameter_count(name, images, tmp_path):
    assert sys.getrecursionlimit() <= 1000  # every model builds (and runs) at Python's default limit
    # Built once, at the small size of the forward and training checks below (an ImageNet net at 64x64: its
    # parameters do not depend on the input size, its FLOPs are checked against the plan at that size).
    size = {} if small_by_default(name) else {"input_shape": small_shape(name)}
    model = getattr(keras_resnet, name)(**size)
    assert model.name == name
    plan = specs.resolve(name, **size)
    assert counts(model) == expected_counts(name) == plan.parameters()
    assert keras_resnet.flops(model) == plan.flops()
    assert model.count_params() == sum(expected_counts(name))
    # One graph node per block, not per conv/BN/ReLU (ResNet-1202: 600 blocks, 606 layers); the stem, transitions
    # and head add at most 20 (ResNet-RS's deep stem and pooling conv: 18).
    assert len(model.layers) <= len(plan.blocks) + 20
    published = TORCHVISION.get(name) or CIFAR.get(name)
    if published:
        assert counts(model)[0] == published
    if name in TIMM:
        assert counts(model) == TIMM[name]
    if name in KERAS_APPLICATIONS_DENSENET:
        assert model.count_params() == KERAS_APPLICATIONS_DENSENET[name]
    if name in TORCHVISION_GFLOPS:  # at 224x224, the plan's count, which the model's equals at any size (above)
        assert round(specs.resolve(name).flops() / 1e9, 2) == TORCHVISION_GFLOPS[name]
    if name in HUGE:
        return
    x = check_forward(model, images)
    # The 100+-layer nets' training step and config round trip (a second build, 3-20 s) are in the slow run's
    # test_heavy_fit_and_save; their shallower siblings, the same blocks, do both here.
    if name not in HEAVY:
        check_fit_and_save(model, x, tmp_path)


@pytest.mark.parametrize("name", sorted(KERAS_APPLICATIONS_V1))
def test_use_bias_matches_keras_applications(name):
    model = keras_resnet.build(name, use_bias=True)
    assert counts(model) == KERAS_APPLICATIONS_V1[name]


def check_forward(model, images):
    """A finite forward pass of four images to class probabilities; returns the images."""
    x = images(model.input_shape[1:])
    out = keras.ops.convert_to_numpy(model(x, training=False))
    assert out.shape == (4, model.output_shape[-1])
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    return x


def check_fit_and_save(model, x, tmp_path):
    """One training step moves the weights; the saved file loads as the same config with the same outputs. Loading
    rebuilds the model from its config and sets its weights: the config round trip, after training.

    The step runs eagerly: the same layers' training code, without tracing a graph of the whole net for one step
    (ResNet-50 at 64x64: 1.3 s against 4.2 s). Every family and every option trains as a traced graph in
    test_backends.py and test_modern.py."""
    # Clipped: one step of a 110-layer plain net explodes otherwise (the degradation problem itself).
    model.compile(
        optimizer=keras.optimizers.SGD(0.01, clipnorm=1.0), loss="sparse_categorical_crossentropy", run_eagerly=True
    )
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, np.arange(len(x)) % 7, batch_size=len(x), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights())), "fit changed no weight"
    out = keras.ops.convert_to_numpy(model(x, training=False))
    assert np.isfinite(out).all()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.to_json() == model.to_json()  # the config as JSON: a file's build shapes load as lists
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(x, training=False)), out)


def small_model(name):
    return keras_resnet.build(name, input_shape=small_shape(name), classes=7)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HEAVY))
def test_heavy_fit_and_save(name, images, tmp_path):
    model = small_model(name)
    x = check_forward(model, images)
    check_fit_and_save(model, x, tmp_path)


@pytest.mark.parametrize(
    "family, options",
    [
        ("cifar_resnext", {"depth": 11, "cardinality": 4, "bottleneck_width": 8}),
        ("cifar_resnext", {"depth": 20, "cardinality": 2, "bottleneck_width": 4, "shortcut": "C"}),
        ("cifar_wide_resnet", {"depth": 10, "widen": 3}),
        ("preact_resnet", {"depth": 29, "cardinality": 4, "bottleneck_width": 2, "widen": 2}),
        ("cifar_resnet", {"depth": 20, "shortcut": "highway"}),
        ("cifar_wide_resnet", {"depth": 16, "widen": 2, "shortcut": "highway"}),
        ("cifar_densenet", {"depth": 40, "growth_rate": 12, "block": "basic", "compression": 1.0}),
        ("cifar_densenet", {"depth": 22, "growth_rate": 6, "compression": 0.3}),
    ],
    ids=lambda value: value if isinstance(value, str) else "-".join(f"{k}={v}" for k, v in value.items()),
)
def test_any_valid_combination_matches_the_papers_counts(family, options):
    model = keras_resnet.build(family, **options)
    assert counts(model) == paper_counts(family, options)


def test_stochastic_depth_on_resnext_and_wide_nets(images):
    x = images((32, 32, 3), n=4)
    for family, options in (
        ("cifar_resnext", {"depth": 11, "cardinality": 4, "bottleneck_width": 4}),
        ("cifar_wide_resnet", {"depth": 10, "widen": 2, "dropout": 0.3}),
    ):
        model = keras_resnet.build(family, stochastic_depth=0.5, classes=3, zero_init_residual=False, **options)
        blocks = [layer for layer in model.layers if isinstance(layer, keras_resnet.layers.ResidualBlock)]
        np.testing.assert_allclose([b.survival_prob for b in blocks], [1 - i / 3 * 0.5 for i in (1, 2, 3)])
        outs = [keras.ops.convert_to_numpy(model(x, training=True)) for _ in range(6)]
        assert any(not np.allclose(outs[0], out) for out in outs[1:])
        model.compile(keras.optimizers.SGD(0.01), "sparse_categorical_crossentropy")
        assert np.isfinite(model.fit(x, np.arange(4) % 3, epochs=1, verbose=0).history["loss"]).all()
    # ResNeXt: the 3x3 is grouped and strided (the authors' code and torchvision), the 1x1s are not.
    block = keras_resnet.build("cifar_resnext", depth=11, cardinality=4, bottleneck_width=4).get_layer("stage2_block1")
    assert [conv.groups for conv in block.convs] == [1, 4, 1]
    assert [conv.strides for conv in block.convs] == [(1, 1), (2, 2), (1, 1)]
    assert block.width == 4 * 4 * 2


def test_highway_shortcut_trains_and_saves(images, tmp_path):
    model = keras_resnet.build("cifar_resnet", depth=20, shortcut="highway", classes=7, input_shape=(32, 32, 3))
    blocks = [layer for layer in model.layers if isinstance(layer, keras_resnet.layers.ResidualBlock)]
    assert all(type(block.shortcut_layer).__name__ == "HighwayShortcut" for block in blocks)
    # The papers' initialisation by default: a zeroed branch would only shrink x by (1 - T) per block.
    assert all(np.all(block.norms[-1].gamma.numpy() == 1.0) for block in blocks)
    check_fit_and_save(model, images((32, 32, 3)), tmp_path)


def test_deep_densenet_is_a_small_graph():
    model = keras_resnet.build("cifar_densenet", depth=100, growth_rate=2)
    dense = [layer for layer in model.layers if isinstance(layer, keras_resnet.layers.DenseLayer)]
    # + 2 transitions, input, stem conv, post BN, ReLU, pooling, classifier
    assert len(dense) == 3 * 16 and len(model.layers) == 3 * 16 + 2 + 6


@pytest.mark.parametrize("depth", [8, 14, 272])
def test_any_cifar_depth_builds(depth):
    model = keras_resnet.build("cifar_resnet", depth=depth, shortcut="B")
    n = (depth - 2) // 6
    assert len([layer for layer in model.layers if isinstance(layer, keras_resnet.layers.BasicBlock)]) == 3 * n
    assert model.name == f"cifar_resnet{depth}"


def test_shortcut_options_change_only_projection_parameters():
    a, b, c = (counts(keras_resnet.ResNet20(shortcut=s)) for s in "ABC")
    # B adds the two 1x1 projections where the width doubles (16->32, 32->64) with their BN.
    assert b[0] - a[0] == 16 * 32 + 32 * 64 + 2 * (32 + 64)
    assert b[1] - a[1] == 2 * (32 + 64)
    # C projects in every one of the 9 blocks (1x1 conv + BN each).
    projections = [(16, 16)] * 3 + [(16, 32)] + [(32, 32)] * 2 + [(32, 64)] + [(64, 64)] * 2
    assert c[0] - a[0] == sum(cin * cout + 2 * cout for cin, cout in projections)
    assert c[1] - a[1] == sum(2 * cout for _, cout in projections)


def test_plain_twin_has_no_shortcut_but_the_same_layers():
    plain, residual = keras_resnet.PlainNet20(), keras_resnet.ResNet20()
    assert counts(plain) == counts(residual)  # option A shortcuts have no parameters
    assert all(
        block.shortcut_layer is None for block in plain.layers if isinstance(block, keras_resnet.layers.ResidualBlock)
    )


def test_variant_moves_the_stride_not_the_parameters():
    v1, v15 = keras_resnet.ResNet50(), keras_resnet.ResNet50(variant="v1.5")
    assert counts(v1) == counts(v15)
    block = v15.get_layer("stage2_block1")
    assert (block.convs[0].strides, block.convs[1].strides) == ((1, 1), (2, 2))
    block = v1.get_layer("stage2_block1")
    assert (block.convs[0].strides, block.convs[1].strides) == ((2, 2), (1, 1))
    assert keras_resnet.flops(v15) > keras_resnet.flops(v1)


def test_keras_applications_signature(images):
    features = keras_resnet.ResNet18(include_top=False, input_shape=(64, 64, 3))
    assert features.output_shape == (None, 2, 2, 512)
    pooled = keras_resnet.ResNet18(include_top=False, pooling="max", input_shape=(64, 64, 3))
    assert pooled.output_shape == (None, 512)
    logits = keras_resnet.ResNet20(classes=3, classifier_activation=None, name="mine")
    assert logits.name == "mine" and logits.output_shape == (None, 3)
    assert logits.get_layer("predictions").activation is keras.activations.linear
    tensor = keras.Input((32, 32, 3))
    on_tensor = keras_resnet.ResNet20(input_tensor=tensor)
    assert on_tensor.inputs[0] is tensor
    flexible = keras_resnet.ResNet18(include_top=False, input_shape=(None, None, 3), pooling="avg")
    assert flexible(images((96, 80, 3), n=1)).shape == (1, 512)


def test_zero_init_residual_makes_every_block_an_identity():
    for name in ("ResNet20", "PreActResNet110"):
        model = keras_resnet.build(name, shortcut="B")  # zero_init_residual is the default
        for block in (layer for layer in model.layers if isinstance(layer, keras_resnet.layers.ResidualBlock)):
            if block.strides == 1 and type(block.shortcut_layer).__name__ == "IdentityShortcut":
                inputs = np.abs(np.random.default_rng(1).normal(size=(2, *block.input.shape[1:]))).astype("float32")
                np.testing.assert_allclose(block(inputs, training=False), inputs, atol=1e-6)


def test_papers_initialisation_is_available():
    model = keras_resnet.ResNet20(zero_init_residual=False)
    blocks = [layer for layer in model.layers if isinstance(layer, keras_resnet.layers.ResidualBlock)]
    assert len(blocks) == 9 and all(np.all(block.norms[-1].gamma.numpy() == 1.0) for block in blocks)
    with pytest.raises(ValueError, match="needs shortcuts"):
        keras_resnet.PlainNet20(zero_init_residual=True)


@pytest.mark.slow
def test_resnet1202_and_preact1001_train_save_and_load(images, tmp_path):
    for name in ("ResNet1202", "PreActResNet1001"):
        model = keras_resnet.build(name, classes=7)
        check_fit_and_save(model, images((32, 32, 3)), tmp_path)
