"""Bad input gets one clear sentence, raised before any layer is built."""

import numpy as np
import pytest

import keras_resnet


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: keras_resnet.build("cifar_resnet", depth=21), r"6n\+2 .*nearest valid: 20, 26"),
        (lambda: keras_resnet.build("preact_resnet", depth=100), r"9n\+2 .*nearest valid: 92, 101"),
        (lambda: keras_resnet.build("cifar_resnet", depth=2), r"6n\+2 with n >= 1"),
        (
            lambda: keras_resnet.build("resnet", depth=42),
            r"valid depths are 18, 26, 34, 50, 101, 152, 200, 270, 350, 420",
        ),
        (lambda: keras_resnet.build("cifar_resnet"), r"needs depth="),
        (lambda: keras_resnet.build("ResNet56", depth=20), r"build\('cifar_resnet', depth=20\)"),
        (lambda: keras_resnet.build("ResNet5O"), r"Did you mean .*ResNet50"),
        (lambda: keras_resnet.build("resnet_cifar", depth=20), r"Did you mean .*cifar_resnet"),
        (lambda: keras_resnet.ResNet50(input_shape=(16, 16, 3)), r"too small for resnet.*32x32"),
        (lambda: keras_resnet.ResNet50(input_shape=(224, 224)), r"must be \(height, width, channels\)"),
        (lambda: keras_resnet.ResNet50(input_shape=(3, 224, 224)), r"channels-first.*\(224, 224, 3\)"),
        (lambda: keras_resnet.ResNet50(input_shape=(224, 224, 0)), r"no channels"),
        (lambda: keras_resnet.ResNet20(weights="imagenet"), r"weights='imagenet' are not published for ResNet20"),
        (lambda: keras_resnet.ResNet50V2(stride_position="middle"), r"stride_position='middle' must be 'first'"),
        (lambda: keras_resnet.ResNet50(weights="/nope/r50.weights.h5"), r"does not exist"),
        (lambda: keras_resnet.ResNet20(classes=0), r"classes=0 must be a whole number of at least 1"),
        (lambda: keras_resnet.ResNet20(pooling="mean"), r"pooling='mean' must be None, 'avg' or 'max'"),
        (lambda: keras_resnet.ResNet20(shortcut="D"), r"shortcut='D' is not one of"),
        (lambda: keras_resnet.ResNet50(variant="v2"), r"variant='v2' must be 'v1'"),
        (lambda: keras_resnet.ResNet20(block="wide"), r"block='wide' is not valid for cifar_resnet"),
        (
            lambda: keras_resnet.ResNet110(stochastic_depth=0.0),
            r"stochastic_depth=0.0 must be a number in \(0, 1\]: the last block.s survival probability p_L",
        ),
        (lambda: keras_resnet.ResNet110(stochastic_depth=1.5), r"stochastic_depth=1.5 must be a number in \(0, 1\]"),
        (lambda: keras_resnet.PlainNet20(stochastic_depth=0.5), r"needs shortcuts"),
        (lambda: keras_resnet.ResNet20(dropout=1.0), r"dropout=1.0 must be a number in \[0, 1\)"),
        (
            lambda: keras_resnet.ResNet20(shortcut="gated"),
            r"'gated' is not one of \('A', 'B', 'C', 'highway', 'none'\)",
        ),
        (
            lambda: keras_resnet.build("resnext", depth=50, cardinality=0),
            r"cardinality=0 must be a whole number of at least 1",
        ),
        (
            lambda: keras_resnet.ResNeXt29_8x64d(bottleneck_width=2.5),
            r"bottleneck_width=2.5 must be a whole number of at least 1",
        ),
        (lambda: keras_resnet.WideResNet28_10(widen=-1), r"widen=-1 must be a whole number of at least 1"),
        (lambda: keras_resnet.ResNet20(cardinality=4), r"need bottleneck blocks"),
        (
            lambda: keras_resnet.layers.BottleneckBlock(64, width=100, groups=32),
            r"cardinality \(groups\) 32 does not divide the bottleneck width 100: use one of \[1, 2, 4, 5, 10, 20, 25",
        ),
        (lambda: keras_resnet.build("cifar_wide_resnet", depth=30), r"6n\+4 .*nearest valid: 28, 34"),
        (lambda: keras_resnet.build("cifar_resnext", depth=28), r"9n\+2 .*nearest valid: 20, 29"),
        (lambda: keras_resnet.build("resnext", depth=34), r"valid depths are 50, 101, 152, 200"),
        (lambda: keras_resnet.DenseNetBC100(growth_rate=0), r"growth_rate=0 must be a whole number of at least 1"),
        (
            lambda: keras_resnet.DenseNet121(growth_rate=-12),
            r"growth_rate=-12 must be a whole number of at least 1",
        ),
        (lambda: keras_resnet.DenseNetBC100(compression=0), r"compression=0 must be a number in \(0, 1\]"),
        (lambda: keras_resnet.DenseNetBC100(compression=1.5), r"compression=1.5 must be a number in \(0, 1\]"),
        (lambda: keras_resnet.layers.Transition(0.0), r"compression=0.0 must be a number in \(0, 1\]"),
        (lambda: keras_resnet.build("cifar_densenet", depth=101), r"6n\+4 .*nearest valid: 100, 106"),
        (lambda: keras_resnet.build("cifar_densenet", depth=41, block="basic"), r"3n\+4 .*nearest valid: 40, 43"),
        (lambda: keras_resnet.build("densenet", depth=100), r"valid depths are 121, 161, 169, 201, 264"),
    ],
)
def test_bad_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_unknown_option_is_a_type_error():
    with pytest.raises(TypeError, match="cardinalty"):
        keras_resnet.ResNet20(cardinalty=4)
    with pytest.raises(TypeError, match="shortcut"):
        keras_resnet.DenseNetBC100(shortcut="B")  # DenseNets have no residual shortcuts


def test_weights_round_trip_and_mismatch(tmp_path, images):
    source = keras_resnet.ResNet20(classes=4)
    path = tmp_path / "r20.weights.h5"
    source.save_weights(path)
    x = images((32, 32, 3), n=2)
    np.testing.assert_array_equal(
        keras_resnet.ResNet20(classes=4, weights=str(path)).predict(x, verbose=0), source.predict(x, verbose=0)
    )
    source.save(tmp_path / "r20.keras")
    from_keras = keras_resnet.ResNet20(classes=4, weights=tmp_path / "r20.keras")
    np.testing.assert_array_equal(from_keras.predict(x, verbose=0), source.predict(x, verbose=0))
    with pytest.raises(ValueError, match="does not fit ResNet32"):
        keras_resnet.ResNet32(classes=4, weights=str(path))


def test_keras_set_to_channels_first_is_refused_in_one_sentence():
    import keras

    keras.config.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match=r"keras_resnet builds channels-last models, but .*'channels_first'"):
            keras_resnet.ResNet20()
    finally:
        keras.config.set_image_data_format("channels_last")


def test_a_misspelt_model_attribute_says_which_one_was_meant():
    with pytest.raises(AttributeError, match=r"Unknown model 'ResNet150'. Did you mean .*ResNet152"):
        _ = keras_resnet.ResNet150
