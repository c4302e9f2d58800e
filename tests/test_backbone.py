"""Backbones and fine-tuning: feature maps by stride, freezing, input adaptation, keras.applications parity."""

import json
import os

import keras
import numpy as np
import pytest

import keras_resnet
import timm_reference
from helpers import numpy
from keras_resnet import cli, specs, weights
from oracle import KERAS_APPLICATIONS_V2

# One model per family and per stem (ImageNet, deep, CIFAR; pre-activation; dense), small inputs.
PYRAMIDS = {
    "ResNet18": ((64, 64, 3), ["P1", "P2", "P3", "P4", "P5"]),
    "ResNet50V2": ((64, 64, 3), ["P1", "P2", "P3", "P4", "P5"]),
    "ResNeXt50_32x4d": ((64, 64, 3), ["P1", "P2", "P3", "P4", "P5"]),
    "ResNet50D": ((64, 64, 3), ["P1", "P2", "P3", "P4", "P5"]),
    "ResNetBlur50": ((64, 64, 3), ["P1", "P2", "P3", "P4", "P5"]),
    "ResNetRS50": ((64, 64, 3), ["P1", "P2", "P3", "P4", "P5"]),
    "DenseNet121": ((64, 64, 3), ["P1", "P2", "P3", "P4", "P5"]),
    "ResNet20": ((32, 32, 3), ["P0", "P1", "P2"]),
    "PreActResNet164": ((32, 32, 3), ["P0", "P1", "P2"]),
    "WideResNet16_8": ((32, 32, 3), ["P0", "P1", "P2"]),
    "DenseNetBC100": ((32, 32, 3), ["P0", "P1", "P2"]),
}


@pytest.mark.parametrize("name", sorted(PYRAMIDS))
def test_pyramid_outputs_by_stride(name, tmp_path):
    shape, levels = PYRAMIDS[name]
    model = keras_resnet.build(name, include_top=False, input_shape=shape)
    assert list(model.pyramid_outputs) == levels
    infos = keras_resnet.feature_info(model)
    assert [info.level for info in infos] == levels
    for info in infos:
        assert info.stride == 2 ** int(info.level[1:])
        assert tuple(model.pyramid_outputs[info.level].shape) == (
            None,
            shape[0] // info.stride,
            shape[1] // info.stride,
            info.channels,
        )
    assert infos[-1].channels == model.output_shape[-1]  # the deepest level is what the model outputs
    extractor = keras_resnet.features(model, levels=levels[-3:])
    x = np.random.default_rng(0).uniform(0, 255, (2, *shape)).astype("float32")
    maps = {level: numpy(value) for level, value in extractor(x).items()}
    assert list(maps) == levels[-3:] and [info.level for info in extractor.feature_info] == levels[-3:]
    np.testing.assert_allclose(maps[levels[-1]], numpy(model(x)), atol=1e-5)
    # features() reads the layers, so it works on a loaded model too (also on a file without pyramid_outputs).
    model.save(tmp_path / "backbone.keras")
    loaded = keras.saving.load_model(tmp_path / "backbone.keras")
    again = keras_resnet.features(loaded, levels=levels[-3:])(x)
    for level in levels[-3:]:
        np.testing.assert_allclose(numpy(again[level]), maps[level], atol=1e-5)


# Promise: a model keeps how it was built through a .keras file, as keras-hub's backbones do: its build options
# (family, depth, every option) load with it, build() from them gives the same model, and what they imply comes
# back: a backbone's pyramid_outputs, an extractor's feature_info. Before: a loaded model had none of them.
def test_a_saved_model_keeps_its_build_options_and_pyramid(tmp_path):
    preprocessing = {"mean": [120.0, 115.0, 100.0], "std": [60.0, 60.0, 60.0]}
    model = keras_resnet.ResNet18(include_top=False, input_shape=(64, 64, 3), stochastic_depth=0.2, shortcut="C")
    tuned = keras_resnet.build("cifar_resnet", depth=8, input_shape=(8, 8, 3), classes=3, preprocessing=preprocessing)
    extractor = keras_resnet.features(model, levels=("P3", "P4", "P5"))
    for built in (model, tuned, extractor):
        built.save(tmp_path / f"{built.name}.keras")
    loaded, loaded_tuned, loaded_extractor = (
        keras_resnet.models.load_model_file(tmp_path / f"{built.name}.keras") for built in (model, tuned, extractor)
    )
    assert loaded.build_options == model.build_options
    options = dict(loaded.build_options)
    assert {
        key: options[key] for key in ("family", "depth", "name", "include_top", "stochastic_depth", "shortcut")
    } == {
        "family": "resnet",
        "depth": 18,
        "name": "ResNet18",
        "include_top": False,
        "stochastic_depth": 0.2,
        "shortcut": "C",
    }
    assert keras_resnet.build(options.pop("family"), **options).get_config() == model.get_config()
    assert loaded_tuned.build_options == tuned.build_options and loaded_tuned.build_options["preprocessing"] == (
        preprocessing
    )
    assert list(loaded.pyramid_outputs) == ["P1", "P2", "P3", "P4", "P5"]
    assert loaded_extractor.feature_info == extractor.feature_info
    assert [info.level for info in loaded_extractor.feature_info] == ["P3", "P4", "P5"]
    assert loaded_extractor.build_options == {**model.build_options, "levels": ["P3", "P4", "P5"]}


def test_features_name_the_levels_a_model_has():
    model = keras_resnet.ResNet20(include_top=False)
    with pytest.raises(ValueError, match=r"ResNet20 has no level 'P3', 'P4', 'P5': its levels are P0, P1, P2\."):
        keras_resnet.features(model, levels=("P3", "P4", "P5"))


def test_pyramid_levels_are_named_by_stride_for_every_family():
    # The level rule on every family's smallest model, plans only where nothing else is needed.
    for family in specs.FAMILIES:
        depth = min(specs.FAMILIES[family].depths) if specs.FAMILIES[family].depths else None
        if depth is None:
            continue
        model = keras_resnet.build(family, depth=depth, include_top=False, input_shape=(64, 64, 3))
        assert list(model.pyramid_outputs) == ["P1", "P2", "P3", "P4", "P5"], family


def test_without_the_top_any_image_size_goes():
    # keras.applications' rule: include_top=False and no input_shape is (None, None, 3).
    model = keras_resnet.ResNet50(include_top=False)
    assert model.input_shape == (None, None, None, 3) and model.output_shape == (None, None, None, 2048)
    for size in (64, 97):
        assert model(np.zeros((1, size, size, 3), "float32")).shape[1] == -(-size // 32)
    assert keras_resnet.ResNet50().input_shape == (None, 224, 224, 3)


def keras_applications_tests():
    # keras' own tests for keras.applications (keras/src/applications/applications_test.py), unchanged, run on
    # our functions: only their MODEL_LIST is ours, and the tests that download ImageNet weights are left out.
    import keras.src.applications as package

    path = os.path.join(os.path.dirname(package.__file__), "applications_test.py")
    if not os.path.exists(path):
        return None
    with open(path) as file:
        source = file.read()
    start, end = source.index("MODEL_LIST = ["), source.index("]\n", source.index("MODEL_LIST = [")) + 2
    ours = (
        "MODEL_LIST = [(keras_resnet.ResNet50, 2048, None), (keras_resnet.ResNet50V2, 2048, None), "
        "(keras_resnet.DenseNet121, 1024, None), (keras_resnet.ResNet50D, 2048, None), (keras_resnet.ResNet20, 64, "
        "None)]\n"
    )
    namespace = {"__name__": "keras_applications_test", "keras_resnet": keras_resnet}
    exec(compile(source[:start] + ours + source[end:], path, "exec"), namespace)
    namespace["MODELS_UNSUPPORTED_CHANNELS_FIRST"].extend(["ResNet", "DenseNet"])  # channels-last package
    case = namespace["ApplicationsTest"]
    kept = (
        "test_application_notop_variable_input_channels",
        "test_application_notop_custom_input_shape",
        "test_application_pooling",
        "test_application_classifier_activation",
    )
    for attribute in list(vars(case)):
        if attribute.startswith("test_") and not attribute.startswith(kept):
            delattr(case, attribute)
    return case


KerasApplicationsTest = keras_applications_tests()


def test_keras_applications_own_tests_are_collected():
    assert KerasApplicationsTest is not None, "keras' applications_test.py is not installed"
    names = [name for name in vars(KerasApplicationsTest) if name.startswith("test_")]
    assert len(names) == 4 * 2 * 5  # four tests x two data formats x five models


@pytest.mark.parametrize("name", sorted(KERAS_APPLICATIONS_V2))
def test_resnet_v2_use_bias_counts_exactly_keras_applications(name):
    ours = keras_resnet.build(name, use_bias=True, stride_position="last")
    theirs = getattr(keras.applications, name)(weights=None)
    assert ours.count_params() == theirs.count_params() == sum(KERAS_APPLICATIONS_V2[name])
    assert len(ours.weights) == len(theirs.weights)
    assert sorted(tuple(w.shape) for w in ours.weights) == sorted(tuple(w.shape) for w in theirs.weights)


def test_two_instances_live_in_one_model_and_save(tmp_path):
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    inputs = keras.Input((32, 32, 3))
    left = keras_resnet.ResNet20(include_top=False, pooling="avg", name="left")
    right = keras_resnet.ResNet20(include_top=False, pooling="avg", name="right")
    joined = keras.Model(inputs, keras.layers.Concatenate()([left(inputs), right(inputs)]))
    out = numpy(joined(x))
    assert out.shape == (2, 128)
    joined.save(tmp_path / "two.keras")
    np.testing.assert_array_equal(numpy(keras.saving.load_model(tmp_path / "two.keras")(x)), out)


def weights_file(tmp_path, name="ResNet18D"):
    from safetensors.numpy import save_file

    reference = timm_reference.load()[name]
    path = str(tmp_path / f"{name}.safetensors")
    save_file(timm_reference.synthetic_state_dict(reference["keys"], reference["shapes"]), path)
    return path


@pytest.mark.parametrize("name, first", [("ResNet18D", "stem_conv1"), ("ResNet26", "stem_conv")])
def test_input_adaptation_follows_timms_rule(tmp_path, name, first):
    path = weights_file(tmp_path, name)
    rgb = keras_resnet.build(name, weights=path, input_shape=(64, 64, 3), classifier_activation=None)
    kernel = numpy(rgb.get_layer(first).kernel)  # (kh, kw, 3, out)
    grey = keras_resnet.build(name, weights=path, in_channels=1, input_shape=(64, 64, 1), classifier_activation=None)
    np.testing.assert_allclose(numpy(grey.get_layer(first).kernel), kernel.sum(axis=2, keepdims=True), rtol=1e-6)
    four = keras_resnet.build(name, weights=path, in_channels=4, classifier_activation=None)
    expected = np.concatenate([kernel, kernel[:, :, :1]], axis=2) * 3 / 4  # timm: repeat, cut to 4, times 3/4
    np.testing.assert_allclose(numpy(four.get_layer(first).kernel), expected, rtol=1e-6)
    assert four.input_shape == (None, 224, 224, 4)
    # What the rule is for: a grey image gives what the RGB model gives on it repeated in three channels.
    x = np.random.default_rng(0).uniform(0, 1, (2, 64, 64, 1)).astype("float32")
    np.testing.assert_allclose(
        numpy(grey(x, training=False)), numpy(rgb(np.repeat(x, 3, axis=-1), training=False)), rtol=1e-4, atol=1e-4
    )


def test_adapt_input_conv_matches_timm_where_installed():
    manipulate = pytest.importorskip("timm.models._manipulate")  # where timm 1.0 keeps adapt_input_conv
    torch = pytest.importorskip("torch")
    kernel = np.random.default_rng(0).standard_normal((7, 7, 3, 8)).astype("float32")
    for channels in (1, 2, 4, 8):
        theirs = manipulate.adapt_input_conv(channels, torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())).numpy()
        np.testing.assert_allclose(weights.adapt_input_conv(kernel, channels), theirs.transpose(2, 3, 1, 0), rtol=1e-6)


def test_in_channels_contradicting_input_shape_is_one_sentence():
    with pytest.raises(ValueError, match=r"in_channels=1 contradicts input_shape=\(32, 32, 3\)"):
        keras_resnet.ResNet20(in_channels=1, input_shape=(32, 32, 3))


def snapshot(model, layers):
    return {w.path: numpy(w).copy() for name in layers for w in model.get_layer(name).weights}


@pytest.mark.parametrize("batchnorm", ["frozen", "train"])
def test_freeze_keeps_the_frozen_part_bit_identical(batchnorm):
    model = keras_resnet.ResNet20(classes=3, input_shape=(16, 16, 3))
    keras_resnet.freeze(model, until="stage2", batchnorm=batchnorm)
    frozen = [layer.name for layer in model.layers if layer.name.startswith(("stem", "stage1", "stage2"))]
    moving = [layer.name for layer in model.layers if layer.name.startswith("stage3") or layer.name == "predictions"]
    before, rest = snapshot(model, frozen), snapshot(model, moving)
    keras_resnet.training.optimizer.add_weight_decay(model, 1e-4)
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(0, 1, (16, 16, 16, 3)).astype("float32")
    model.fit(x, np.arange(16) % 3, batch_size=8, epochs=2, verbose=0)
    after = snapshot(model, frozen)
    statistics = [path for path in before if path.endswith(("moving_mean", "moving_variance"))]
    for path, value in before.items():
        if batchnorm == "train" and path in statistics:
            continue
        np.testing.assert_array_equal(after[path], value, err_msg=path)
    if batchnorm == "train":  # the frozen part's BN statistics followed the batches; nothing else moved
        assert all(not np.array_equal(after[path], before[path]) for path in statistics)
    moved = snapshot(model, moving)
    assert all(not np.array_equal(moved[path], rest[path]) for path in rest if not path.endswith("moving_variance"))
    assert not any(w.regularizer for layer in frozen for w in model.get_layer(layer).weights if w.name == "kernel")


def test_freeze_names_the_parts_a_model_has():
    with pytest.raises(
        ValueError, match=r"until='stage4' is not a part of ResNet20: use one of stem, stage1, stage2, stage3"
    ):
        keras_resnet.freeze(keras_resnet.ResNet20(), until="stage4")
    with pytest.raises(ValueError, match="batchnorm='eval' must be"):
        keras_resnet.freeze(keras_resnet.ResNet20(), until="stem", batchnorm="eval")


def test_train_fine_tunes_a_run_with_a_frozen_part(tmp_path, capsys):
    # The user's path: a first run, then `train --model <its final.keras> --freeze stage2` on the same data.
    first, second = tmp_path / "first", tmp_path / "second"
    common = ["--dataset", "digits", "--epochs", "1", "--steps-per-epoch", "3", "--batch-size", "32", "--verbose", "0"]
    assert cli.main(["train", "--model", "ResNet20", "--output", str(first), *common]) == 0
    assert (
        cli.main(
            ["train", "--model", str(first / "final.keras"), "--freeze", "stage2", "--output", str(second), *common]
        )
        == 0
    )
    before = keras.saving.load_model(first / "final.keras")
    after = keras.saving.load_model(second / "final.keras")
    frozen = [layer.name for layer in before.layers if layer.name.startswith(("stem", "stage1", "stage2"))]
    for path, value in snapshot(before, frozen).items():
        np.testing.assert_array_equal(snapshot(after, frozen)[path], value, err_msg=path)
    tuned = snapshot(before, ["stage3_block3", "predictions"])
    assert any(
        not np.array_equal(snapshot(after, ["stage3_block3", "predictions"])[path], value)
        for path, value in tuned.items()
    )
    assert json.loads((second / "config.json").read_text())["freeze"] == "stage2"


def test_a_keras_hub_retinanet_backbone_takes_ours():
    # keras-hub's RetinaNetBackbone takes any keras.Model with pyramid_outputs as its image encoder.
    keras_hub = pytest.importorskip("keras_hub")
    encoder = keras_resnet.ResNet50D(include_top=False)
    backbone = keras_hub.models.RetinaNetBackbone(image_encoder=encoder, min_level=3, max_level=7, use_p5=False)
    out = backbone(np.zeros((1, 128, 128, 3), "float32"))
    assert {level: tuple(value.shape) for level, value in out.items()} == {
        "P3": (1, 16, 16, 256),
        "P4": (1, 8, 8, 256),
        "P5": (1, 4, 4, 256),
        "P6": (1, 2, 2, 256),
        "P7": (1, 1, 1, 256),
    }
