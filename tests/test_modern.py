"""The ResNet refinements after 2017 (ResNet-B/C/D, SE, ECA, blur, ResNet-RS): equal to timm's models of the
same name to the parameter and, with converted weights, to the output; composable with the other options."""

import numpy as np
import pytest

import keras_resnet
import timm_reference
from helpers import numpy, run_backbone_test
from keras_resnet import specs
from keras_resnet.layers import BlurPool, EfficientChannelAttention, SqueezeExcite, StochasticDepth
from oracle import TIMM, TIMM_GMACS

REFERENCE = timm_reference.load()
# Converting the deeper nets writes and reads a state dict of 200-770 MB: those run in the slow suite.
SLOW = {
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


def test_every_timm_named_model_is_recorded():
    assert set(TIMM) == set(timm_reference.TIMM_NAMES) <= set(keras_resnet.available_models())
    assert REFERENCE["version"] == "1.0.31"
    for name, (parameters, buffers) in TIMM.items():
        assert (REFERENCE[name]["parameters"], REFERENCE[name]["buffers"]) == (parameters, buffers), name


@pytest.mark.parametrize("name", sorted(TIMM))
def test_plan_counts_timms_parameters(name):
    assert specs.resolve(name).parameters() == TIMM[name]


@pytest.mark.parametrize("name", sorted(TIMM))
def test_flops_match_timms_published_gmacs(name):
    size, gmacs = TIMM_GMACS[name]
    ours = specs.resolve(name, input_shape=(size, size, 3)).flops() / 1e9
    assert 0.99 * gmacs <= ours <= gmacs + 0.005  # timm's counter adds BN's ~0.5%; its figure is rounded to 0.01


def convert_and_compare(name, tmp_path):
    from safetensors.numpy import save_file

    reference = REFERENCE[name]
    path = str(tmp_path / f"{name}.safetensors")
    save_file(timm_reference.synthetic_state_dict(reference["keys"], reference["shapes"]), path)
    size = timm_reference.SIZE
    model = keras_resnet.build(name, weights=path, input_shape=(size, size, 3), classifier_activation=None)
    logits = numpy(model(timm_reference.inputs(), training=False))
    scale = np.abs(reference["logits"]).max()
    np.testing.assert_allclose(logits, reference["logits"], rtol=0, atol=2e-5 * scale)


@pytest.mark.parametrize("name", sorted(set(TIMM) - SLOW))
def test_converted_weights_give_timms_logits(name, tmp_path):
    convert_and_compare(name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SLOW))
def test_converted_weights_give_timms_logits_deep(name, tmp_path):
    convert_and_compare(name, tmp_path)


@pytest.mark.parametrize("name", ["ResNet50D", "ECAResNet50D", "ResNetRS50", "ResNetBlur50"])
def test_timms_own_forward_pass(name, tmp_path):
    # Where timm itself is installed: its randomly initialised model, saved as .pth, converted here.
    timm = pytest.importorskip("timm")
    torch = pytest.importorskip("torch")
    theirs = timm.create_model(timm_reference.TIMM_NAMES[name], pretrained=False).eval()
    for module in theirs.modules():  # non-trivial BN statistics, or the check would skip them
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    torch.save(theirs.state_dict(), tmp_path / "timm.pth")
    x = timm_reference.inputs()
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    model = keras_resnet.build(
        name, weights=str(tmp_path / "timm.pth"), input_shape=x.shape[1:], classifier_activation=None
    )
    np.testing.assert_allclose(numpy(model(x, training=False)), expected, rtol=0, atol=2e-5 * np.abs(expected).max())


def test_the_options_reach_the_layers():
    model = keras_resnet.ResNetRS50()
    block = model.get_layer("stage2_block1")
    assert isinstance(block.attention_layer, SqueezeExcite) and block.attention_layer.channels == 128  # 512 / 4
    assert block.shortcut_layer.pool is not None and block.shortcut_layer.conv.strides == (1, 1)
    assert [layer.name for layer in model.layers[1:12]] == [
        "stem_pad",
        "stem_conv1",
        "stem_bn1",
        "stem_relu1",
        "stem_conv2",
        "stem_bn2",
        "stem_relu2",
        "stem_conv3",
        "stem_bn",
        "stem_relu",
        "stem_pool_pad",
    ]
    assert model.get_layer("head_dropout").rate == 0.25
    assert keras_resnet.ResNetRS200().get_layer("stage4_block3").drop_path.scale == "train"
    eca = keras_resnet.ECAResNet50D().get_layer("stage4_block1").attention_layer
    assert isinstance(eca, EfficientChannelAttention) and eca.kernel_size == 7  # C = 2048: |11 + 1| / 2 = 6 -> 7
    blurred = keras_resnet.ResNetBlur50()
    assert isinstance(blurred.get_layer("stem_blur"), BlurPool) and blurred.get_layer("stem_pool").strides == (1, 1)
    assert blurred.get_layer("stage3_block1").convs[1].strides == (1, 1)


def test_se_and_eca_widths_follow_timm():
    assert [specs.se_channels(c) for c in (64, 256, 512, 1024, 2048)] == [8, 16, 32, 64, 128]
    assert specs.se_channels(256, 0.25) == 64 and specs.se_channels(100) == 8
    assert [specs.eca_kernel(c) for c in (64, 256, 512, 1024, 2048)] == [3, 5, 5, 5, 7]


def test_blur_is_the_binomial_filter(images):
    x = images((6, 6, 2), n=1)
    y = numpy(BlurPool()(x))
    taps = np.array([1.0, 2.0, 1.0]) / 4
    padded = np.pad(x[0, :, :, 0], 1, mode="reflect")
    expected = np.array(
        [[(np.outer(taps, taps) * padded[i : i + 3, j : j + 3]).sum() for j in range(0, 6, 2)] for i in range(0, 6, 2)]
    )
    np.testing.assert_allclose(y[0, :, :, 0], expected, rtol=1e-5)


def test_train_scaled_stochastic_depth_keeps_inference_unscaled():
    layer = StochasticDepth(0.5, seed=1, scale="train")
    shortcut, branch = np.ones((2, 3), "float32"), np.full((2, 3), 2.0, "float32")
    np.testing.assert_allclose(numpy(layer([shortcut, branch], training=False)), 3.0)
    seen = {float(numpy(layer([shortcut, branch], training=True))[0, 0]) for _ in range(20)}
    assert seen == {1.0, 5.0}  # dropped, or kept and divided by 0.5
    assert numpy(StochasticDepth(0.5)([shortcut, branch], training=False))[0, 0] == 2.0  # Huang et al.: 1 + 0.5 * 2


@pytest.mark.parametrize(
    "name, options, shape",
    [
        ("cifar_resnet", dict(depth=20, attention="se"), (32, 32, 3)),
        ("cifar_resnet", dict(depth=20, attention="eca", stochastic_depth=0.8, blur=True), (32, 32, 3)),
        ("preact_resnet", dict(depth=29, attention="se", se_ratio=0.25), (32, 32, 3)),
        (
            "cifar_resnext",
            dict(depth=11, cardinality=2, bottleneck_width=4, avg_down=True, attention="se"),
            (32, 32, 3),
        ),
        (
            "resnext",
            dict(depth=50, cardinality=4, bottleneck_width=4, stem_type="deep", avg_down=True, attention="eca"),
            (64, 64, 3),
        ),
        (
            "resnet",
            dict(depth=18, stem_type="deep", stem_pool="conv", blur=True, stochastic_depth=0.5, head_dropout=0.2),
            (64, 64, 3),
        ),
        ("resnet_v2", dict(depth=18, stem_type="deep", avg_down=True, attention="se"), (64, 64, 3)),
        (
            "cifar_wide_resnet",
            dict(depth=10, widen=2, attention="se", stochastic_depth=0.9, stochastic_depth_scale="train"),
            (32, 32, 3),
        ),
    ],
)
def test_every_option_composes(name, options, shape, tmp_path):
    run_backbone_test(name, tmp_path, shape, **options)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: keras_resnet.build("cifar_resnet", depth=20, stem_type="deep"),
            r"CIFAR stem .* use an ImageNet family",
        ),
        (lambda: keras_resnet.build("cifar_resnet", depth=20, avg_down=True), r"avg_down .* shortcut='A' has none"),
        (lambda: keras_resnet.build("resnet", depth=50, stem_width=32), r"stem_width=32 .* stem_type='deep'"),
        (lambda: keras_resnet.build("resnet", depth=50, se_ratio=0.25), r"se_ratio=0.25 .* attention='se'"),
        (lambda: keras_resnet.build("resnet", depth=50, attention="cbam"), r"attention='cbam' is not one of"),
        (lambda: keras_resnet.build("resnet_v2", depth=50, blur=True), r"blur .* pre-activation"),
        (
            lambda: keras_resnet.build("resnet", depth=50, head_dropout=1.0),
            r"head_dropout=1.0 must be a number in \[0, 1\)",
        ),
        (
            lambda: keras_resnet.build("resnet", depth=50, stochastic_depth_scale="both"),
            r"stochastic_depth_scale='both'",
        ),
        (lambda: keras_resnet.build("resnet", depth=50, bn_epsilon=0), r"bn_epsilon=0 must be"),
        (lambda: keras_resnet.ResNet50D(stem_type="tiered"), r"stem_type='tiered' is not one of"),
    ],
)
def test_bad_combinations_are_one_sentence(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bn_epsilon_is_an_option():
    # It raised KeyError('bn_epsilon') before the refinements needed torch's 1e-5.
    model = keras_resnet.build("cifar_resnet", depth=8, bn_epsilon=1e-5)
    assert model.get_layer("stem_bn").epsilon == 1e-5
    assert model.get_layer("stage1_block1").norms[0].epsilon == 1e-5


def test_converted_weights_move_the_variance_by_the_models_epsilon(tmp_path):
    # torch's BN divides by sqrt(var + 1e-5): a model built with 1.001e-5 takes var - 1e-8, one with 1e-5 var.
    from keras_resnet import weights

    variables = {
        "weight": np.ones(2, "float32"),
        "bias": np.zeros(2, "float32"),
        "running_mean": np.zeros(2, "float32"),
        "running_var": np.ones(2, "float32"),
    }
    np.testing.assert_allclose(weights.torch_to_keras("bn", variables, 1e-5)["moving_variance"], 1.0)
    np.testing.assert_allclose(weights.torch_to_keras("bn", variables)["moving_variance"], 1.0 - 1e-8)


def test_modern_model_exports_and_serves(tmp_path):
    # A SavedModel of an SE + ResNet-D net answers as the Keras model does, through TF Serving's loader.
    tf = pytest.importorskip("tensorflow")
    from keras_resnet.serving import export

    model = keras_resnet.build(
        "cifar_resnet",
        depth=8,
        attention="se",
        avg_down=True,
        shortcut="B",
        blur=True,
        classes=3,
        preprocessing={"mean": 120.0, "std": 60.0},
    )
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    path = export.export_saved_model(model, tmp_path / "served", version=1)
    served = tf.saved_model.load(path).signatures["serving_default"](tf.constant(x))
    np.testing.assert_allclose(served["probabilities"].numpy(), numpy(model(x, training=False)), atol=1e-5)


def test_a_saved_refined_model_loads_in_a_fresh_process(tmp_path):
    # The new layers (SqueezeExcite, EfficientChannelAttention, BlurPool, avg_down shortcuts) are registered
    # by `import keras_resnet` alone: a fresh process loads the file and gives the same answers.
    import subprocess
    import sys

    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    for number, options in enumerate(
        [dict(attention="se", blur=True), dict(attention="eca", stochastic_depth=0.8, stochastic_depth_scale="train")]
    ):
        model = keras_resnet.build("cifar_resnet", depth=8, shortcut="B", avg_down=True, classes=3, **options)
        path = tmp_path / f"refined{number}.keras"
        model.save(path)
        np.save(tmp_path / f"expected{number}.npy", numpy(model(x, training=False)))
        code = (
            f"import keras, keras_resnet, numpy as np; m = keras.saving.load_model({str(path)!r}); "
            f"d = np.abs(np.asarray(m(np.load({str(tmp_path / 'x.npy')!r}), training=False)) - "
            f"np.load({str(tmp_path / f'expected{number}.npy')!r})).max(); "
            "print(d); assert d < 1e-5"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
