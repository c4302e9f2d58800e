"""FLOPs (multiply-adds) against the papers and against TensorFlow's own profiler."""

import pytest
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

import keras_resnet

PAPER_FLOPS = {"ResNet18": 1.8e9, "ResNet34": 3.6e9, "ResNet50": 3.8e9, "ResNet101": 7.6e9, "ResNet152": 11.3e9}


@pytest.mark.parametrize("name", sorted(PAPER_FLOPS))
def test_flops_within_five_percent_of_the_paper(name):
    measured = keras_resnet.flops(keras_resnet.build(name))
    assert abs(measured / PAPER_FLOPS[name] - 1) < 0.05, measured


def profiler_flops(model):
    """TensorFlow's profiler counts 2 float ops per multiply-add, plus BN/add/bias ops we do not count."""
    spec = tf.TensorSpec((1, *model.input_shape[1:]), tf.float32)
    graph = convert_variables_to_constants_v2(
        tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    ).graph
    options = (
        tf.compat.v1.profiler.ProfileOptionBuilder(tf.compat.v1.profiler.ProfileOptionBuilder.float_operation())
        .with_empty_output()
        .build()
    )
    return tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops / 2


@pytest.mark.parametrize("name", ["ResNet20", "PreActResNet164", "ResNet18"])
def test_flops_agree_with_tensorflow_profiler(name):
    model = keras_resnet.build(name)
    ours, profiled = keras_resnet.flops(model), profiler_flops(model)
    assert ours <= profiled < ours * 1.03


def test_flops_needs_a_fixed_input_size():
    model = keras_resnet.ResNet18(include_top=False, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="fixed input size"):
        keras_resnet.flops(model)
