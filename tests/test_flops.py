"""FLOPs (multiply-adds) against the papers and against TensorFlow's own profiler."""

import pytest
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

import keras_resnet
from keras_resnet import specs

PAPER_FLOPS = {"ResNet18": 1.8e9, "ResNet34": 3.6e9, "ResNet50": 3.8e9, "ResNet101": 7.6e9, "ResNet152": 11.3e9}


# From the plan: tests/test_models.py checks that every built model's flops() equals its plan's.
@pytest.mark.parametrize("name", sorted(PAPER_FLOPS))
def test_flops_within_five_percent_of_the_paper(name):
    measured = specs.resolve(name).flops()
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


# The pre-activation bottleneck at depth 11 (PreAct-164's blocks, 3 instead of 54: 1 s, not 10); 164 in the slow run.
@pytest.mark.parametrize(
    "name, depth",
    [
        ("ResNet20", None),
        ("preact_resnet", 11),
        pytest.param("PreActResNet164", None, marks=pytest.mark.slow),
        ("ResNet18", None),
    ],
)
def test_flops_agree_with_tensorflow_profiler(name, depth):
    model = keras_resnet.build(name, **({"depth": depth} if depth else {}))
    ours, profiled = keras_resnet.flops(model), profiler_flops(model)
    assert ours <= profiled < ours * 1.03


def test_flops_needs_a_fixed_input_size():
    model = keras_resnet.ResNet18(include_top=False, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="fixed input size"):
        keras_resnet.flops(model)
