"""Multiply-add counts, the "FLOPs" of the ResNet papers (He et al. 2015, Table 1)."""

import math


def flops(model):
    """Multiply-adds of one forward pass of one image through `model`'s convolutions and dense layers.

    This is the papers' convention (ResNet-50: 3.8e9): batch norm, activations, additions and pooling
    are not counted, and a multiply-add counts once; a blur's fixed 3x3 filter counts as a depthwise
    convolution. The shapes come from each layer's build, so the
    model needs a fixed input size (tests cross-check the figure against TensorFlow's profiler).

    Args:
        model: a built `keras.Model` (nested layers, such as residual blocks, are walked through).

    Returns:
        The number of multiply-adds as an int.
    """
    from keras import layers  # here, not at the top: `import keras_resnet` imports this module, not Keras

    total = 0
    for layer in model._flatten_layers(include_self=False):
        counted = hasattr(layer, "multiply_adds")  # a layer with a fixed filter (BlurPool) counts itself
        if not (counted or isinstance(layer, (layers.Conv1D, layers.Conv2D, layers.Dense))):
            continue
        input_shape = layer._build_shapes_dict["input_shape"]
        if counted:
            total += layer.multiply_adds(input_shape)
            continue
        output_shape = layer.compute_output_shape(input_shape)
        if None in output_shape[1:]:
            raise ValueError(
                f"flops() needs a fixed input size, but {model.name} takes {model.input_shape}: "
                "build it with input_shape=(height, width, channels)."
            )
        # Kernel (kh, kw, in/groups, out) for convolutions, (in, out) for dense: each output element costs
        # the product of all kernel dimensions but the last.
        total += math.prod(output_shape[1:]) * math.prod(layer.kernel.shape[:-1])
    return total
