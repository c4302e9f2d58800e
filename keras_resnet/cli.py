"""The `keras-resnet` command: argument parsing and progress only; each command calls a public function."""

import argparse
import os
import sys


def _models(args):
    import keras_resnet

    names = args.names or keras_resnet.available_models()
    for name in names:
        if name not in keras_resnet.specs.MODELS:
            raise keras_resnet.models.base.unknown_name(name, keras_resnet.available_models())
    header = f"{'model':<20} {'family':<14} {'input':<14} {'parameters':>12} {'trainable':>12} {'FLOPs (MACs)':>13}"
    print(header)
    print("-" * len(header))
    for name in names:
        model = keras_resnet.build(name)
        trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
        family = keras_resnet.specs.MODELS[name][0]
        size = "x".join(str(d) for d in model.input_shape[1:])
        print(
            f"{name:<20} {family:<14} {size:<14} {model.count_params():>12,} {trainable:>12,} "
            f"{keras_resnet.flops(model) / 1e9:>12.3f}G",
            flush=True,
        )
        del model
    return 0


def add_models(commands):
    models = commands.add_parser(
        "models",
        help="list every model with its parameters and FLOPs",
        description="Build each model (random weights, default input size) and print its parameter count "
        "(total and trainable) and its multiply-adds per image, the 'FLOPs' of the ResNet papers.",
    )
    models.add_argument("names", nargs="*", help="models to show (default: every name of available_models())")
    models.set_defaults(run=_models)


def _convert(args):
    from keras_resnet.weights import convert

    options = {"include_top": not args.no_top, "classifier_activation": None if args.logits else "softmax"}
    options.update({key: getattr(args, key) for key in ("variant", "stride_position", "classes") if getattr(args, key)})
    if args.use_bias:
        options["use_bias"] = True
    if args.input_shape:
        options["input_shape"] = args.input_shape
    model = convert(args.model, args.source, args.output, **options)
    print(f"wrote {args.output}: {model.name}, {model.count_params():,} parameters, weights from {args.source}")
    return 0


def _shape(text):
    try:
        return tuple(int(size) for size in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be three integers H,W,C, e.g. 224,224,3") from None


def add_convert(commands):
    convert = commands.add_parser(
        "convert",
        help="convert keras.applications / torchvision / timm weights into a .keras file",
        description="Build MODEL with the weights of SOURCE, converted exactly (layers mapped by structure, "
        "convolution biases folded into the next BatchNorm, BN epsilon accounted for), and save it to OUTPUT.",
    )
    convert.add_argument("model", help="model name, e.g. ResNet50 or ResNet50V2 (see `keras-resnet models`)")
    convert.add_argument(
        "source",
        help="'imagenet' (keras.applications' cached file under $KERAS_HOME/models), a keras.applications "
        ".h5 / .weights.h5 / .keras file, or a torchvision/timm state dict (.safetensors; .pth needs torch)",
    )
    convert.add_argument("output", help="the .keras file to write (never overwritten)")
    convert.add_argument("--variant", choices=("v1", "v1.5"), help="ImageNet v1 stride placement: v1.5 for torchvision/timm")
    convert.add_argument(
        "--stride-position", choices=("first", "last"), help="'last' for keras.applications' ResNetV2 weights"
    )
    convert.add_argument("--use-bias", action="store_true", help="convolutions with biases (needed for ResNetV2 weights)")
    convert.add_argument("--no-top", action="store_true", help="without the classifier (a notop source)")
    convert.add_argument("--classes", type=int, help="classifier size when the source's differs from 1000")
    convert.add_argument("--input-shape", type=_shape, help="input shape as H,W,C (default: the model's, e.g. 224,224,3)")
    convert.add_argument("--logits", action="store_true", help="classifier outputs logits instead of softmax")
    convert.set_defaults(run=_convert)


# Each command is one `add_<command>(commands)` function that adds its sub-parser and sets `run`.
COMMANDS = [add_models, add_convert]


def parser():
    top = argparse.ArgumentParser(
        prog="keras-resnet",
        description="Every member of the residual-network family, one call away (Keras 3).",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        return args.run(args)
    except ValueError as error:
        print(f"keras-resnet {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
