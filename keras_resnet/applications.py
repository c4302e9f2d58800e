"""One function per named model, each a row of `keras_resnet.specs.MODELS` (generated: do not edit).

Regenerate with `python -m keras_resnet.factory > keras_resnet/applications.py` after changing the table.
"""

from keras_resnet.factory import build, model_function


@model_function
def ResNet18(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet18: resnet with depth=18."""
    return build("ResNet18", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet34(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet34: resnet with depth=34."""
    return build("ResNet34", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet50(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet50: resnet with depth=50."""
    return build("ResNet50", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet101(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet101: resnet with depth=101."""
    return build("ResNet101", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet152(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet152: resnet with depth=152."""
    return build("ResNet152", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet200(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet200: resnet with depth=200."""
    return build("ResNet200", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet18V2(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet18V2: resnet_v2 with depth=18."""
    return build("ResNet18V2", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet34V2(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet34V2: resnet_v2 with depth=34."""
    return build("ResNet34V2", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet50V2(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet50V2: resnet_v2 with depth=50."""
    return build("ResNet50V2", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet101V2(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet101V2: resnet_v2 with depth=101."""
    return build("ResNet101V2", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet152V2(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet152V2: resnet_v2 with depth=152."""
    return build("ResNet152V2", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet200V2(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet200V2: resnet_v2 with depth=200."""
    return build("ResNet200V2", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet20(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """ResNet20: cifar_resnet with depth=20."""
    return build("ResNet20", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet32(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """ResNet32: cifar_resnet with depth=32."""
    return build("ResNet32", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet44(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """ResNet44: cifar_resnet with depth=44."""
    return build("ResNet44", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet56(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """ResNet56: cifar_resnet with depth=56."""
    return build("ResNet56", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet110(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """ResNet110: cifar_resnet with depth=110."""
    return build("ResNet110", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet1202(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """ResNet1202: cifar_resnet with depth=1202."""
    return build("ResNet1202", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def PreActResNet110(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """PreActResNet110: preact_resnet with depth=110, block='basic'."""
    return build("PreActResNet110", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def PreActResNet164(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """PreActResNet164: preact_resnet with depth=164."""
    return build("PreActResNet164", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def PreActResNet1001(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """PreActResNet1001: preact_resnet with depth=1001."""
    return build("PreActResNet1001", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def PlainNet18(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """PlainNet18: resnet with depth=18, shortcut='none'."""
    return build("PlainNet18", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def PlainNet34(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """PlainNet34: resnet with depth=34, shortcut='none'."""
    return build("PlainNet34", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def PlainNet20(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """PlainNet20: cifar_resnet with depth=20, shortcut='none'."""
    return build("PlainNet20", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def PlainNet32(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """PlainNet32: cifar_resnet with depth=32, shortcut='none'."""
    return build("PlainNet32", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def PlainNet44(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """PlainNet44: cifar_resnet with depth=44, shortcut='none'."""
    return build("PlainNet44", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def PlainNet56(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """PlainNet56: cifar_resnet with depth=56, shortcut='none'."""
    return build("PlainNet56", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def PlainNet110(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """PlainNet110: cifar_resnet with depth=110, shortcut='none'."""
    return build("PlainNet110", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNeXt50_32x4d(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNeXt50_32x4d: resnext with depth=50, cardinality=32, bottleneck_width=4."""
    return build("ResNeXt50_32x4d", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNeXt101_32x8d(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNeXt101_32x8d: resnext with depth=101, cardinality=32, bottleneck_width=8."""
    return build("ResNeXt101_32x8d", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNeXt101_64x4d(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNeXt101_64x4d: resnext with depth=101, cardinality=64, bottleneck_width=4."""
    return build("ResNeXt101_64x4d", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNeXt29_8x64d(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """ResNeXt29_8x64d: cifar_resnext with depth=29, cardinality=8, bottleneck_width=64."""
    return build("ResNeXt29_8x64d", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNeXt29_16x64d(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """ResNeXt29_16x64d: cifar_resnext with depth=29, cardinality=16, bottleneck_width=64."""
    return build("ResNeXt29_16x64d", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def WideResNet50_2(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """WideResNet50_2: wide_resnet with depth=50, widen=2."""
    return build("WideResNet50_2", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def WideResNet101_2(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """WideResNet101_2: wide_resnet with depth=101, widen=2."""
    return build("WideResNet101_2", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def WideResNet16_8(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """WideResNet16_8: cifar_wide_resnet with depth=16, widen=8."""
    return build("WideResNet16_8", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def WideResNet28_10(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """WideResNet28_10: cifar_wide_resnet with depth=28, widen=10."""
    return build("WideResNet28_10", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def WideResNet40_4(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """WideResNet40_4: cifar_wide_resnet with depth=40, widen=4."""
    return build("WideResNet40_4", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def DenseNet121(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """DenseNet121: densenet with depth=121, growth_rate=32."""
    return build("DenseNet121", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def DenseNet161(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """DenseNet161: densenet with depth=161, growth_rate=48."""
    return build("DenseNet161", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def DenseNet169(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """DenseNet169: densenet with depth=169, growth_rate=32."""
    return build("DenseNet169", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def DenseNet201(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """DenseNet201: densenet with depth=201, growth_rate=32."""
    return build("DenseNet201", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def DenseNet264(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """DenseNet264: densenet with depth=264, growth_rate=32."""
    return build("DenseNet264", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def DenseNetBC100(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """DenseNetBC100: cifar_densenet with depth=100, growth_rate=12."""
    return build("DenseNetBC100", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def DenseNetBC250(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """DenseNetBC250: cifar_densenet with depth=250, growth_rate=24."""
    return build("DenseNetBC250", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def DenseNetBC190(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=10,
        classifier_activation="softmax", name=None, **options):
    """DenseNetBC190: cifar_densenet with depth=190, growth_rate=40."""
    return build("DenseNetBC190", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet26(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet26: resnet with depth=26, variant='v1.5', bn_epsilon=1e-05."""
    return build("ResNet26", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet18D(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet18D: resnet with depth=18, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32, avg_down=True."""
    return build("ResNet18D", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet26D(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet26D: resnet with depth=26, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32, avg_down=True."""
    return build("ResNet26D", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet34D(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet34D: resnet with depth=34, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32, avg_down=True."""
    return build("ResNet34D", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet50D(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet50D: resnet with depth=50, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32, avg_down=True."""
    return build("ResNet50D", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet101D(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet101D: resnet with depth=101, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32, avg_down=True."""
    return build("ResNet101D", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet152D(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet152D: resnet with depth=152, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32, avg_down=True."""
    return build("ResNet152D", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet200D(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet200D: resnet with depth=200, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32, avg_down=True."""
    return build("ResNet200D", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet50C(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet50C: resnet with depth=50, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32."""
    return build("ResNet50C", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNet50S(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNet50S: resnet with depth=50, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=64."""
    return build("ResNet50S", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def SEResNet50(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """SEResNet50: resnet with depth=50, variant='v1.5', bn_epsilon=1e-05, attention='se'."""
    return build("SEResNet50", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def SEResNet101(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """SEResNet101: resnet with depth=101, variant='v1.5', bn_epsilon=1e-05, attention='se'."""
    return build("SEResNet101", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def SEResNet152(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """SEResNet152: resnet with depth=152, variant='v1.5', bn_epsilon=1e-05, attention='se'."""
    return build("SEResNet152", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def SEResNeXt50_32x4d(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """SEResNeXt50_32x4d: resnext with depth=50, cardinality=32, bottleneck_width=4, variant='v1.5', bn_epsilon=1e-05, attention='se'."""
    return build("SEResNeXt50_32x4d", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def SEResNeXt101_32x8d(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """SEResNeXt101_32x8d: resnext with depth=101, cardinality=32, bottleneck_width=8, variant='v1.5', bn_epsilon=1e-05, attention='se'."""
    return build("SEResNeXt101_32x8d", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ECAResNet50D(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ECAResNet50D: resnet with depth=50, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32, avg_down=True, attention='eca'."""
    return build("ECAResNet50D", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ECAResNet101D(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ECAResNet101D: resnet with depth=101, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32, avg_down=True, attention='eca'."""
    return build("ECAResNet101D", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNetBlur50(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNetBlur50: resnet with depth=50, variant='v1.5', bn_epsilon=1e-05, blur=True."""
    return build("ResNetBlur50", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNetRS50(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNetRS50: resnet with depth=50, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32, avg_down=True, stem_pool='conv', attention='se', se_ratio=0.25, stochastic_depth_scale='train', stochastic_depth=None, head_dropout=0.25."""
    return build("ResNetRS50", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNetRS101(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNetRS101: resnet with depth=101, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32, avg_down=True, stem_pool='conv', attention='se', se_ratio=0.25, stochastic_depth_scale='train', stochastic_depth=None, head_dropout=0.25."""
    return build("ResNetRS101", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNetRS152(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNetRS152: resnet with depth=152, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32, avg_down=True, stem_pool='conv', attention='se', se_ratio=0.25, stochastic_depth_scale='train', stochastic_depth=None, head_dropout=0.25."""
    return build("ResNetRS152", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNetRS200(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNetRS200: resnet with depth=200, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32, avg_down=True, stem_pool='conv', attention='se', se_ratio=0.25, stochastic_depth_scale='train', stochastic_depth=0.9, head_dropout=0.25."""
    return build("ResNetRS200", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNetRS270(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNetRS270: resnet with depth=270, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32, avg_down=True, stem_pool='conv', attention='se', se_ratio=0.25, stochastic_depth_scale='train', stochastic_depth=0.9, head_dropout=0.25."""
    return build("ResNetRS270", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNetRS350(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNetRS350: resnet with depth=350, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32, avg_down=True, stem_pool='conv', attention='se', se_ratio=0.25, stochastic_depth_scale='train', stochastic_depth=0.9, head_dropout=0.4."""
    return build("ResNetRS350", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)


@model_function
def ResNetRS420(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
        classifier_activation="softmax", name=None, **options):
    """ResNetRS420: resnet with depth=420, variant='v1.5', bn_epsilon=1e-05, stem_type='deep', stem_width=32, avg_down=True, stem_pool='conv', attention='se', se_ratio=0.25, stochastic_depth_scale='train', stochastic_depth=0.9, head_dropout=0.4."""
    return build("ResNetRS420", include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                 pooling=pooling, classes=classes, classifier_activation=classifier_activation, name=name, **options)
