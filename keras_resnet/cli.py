"""The `keras-resnet` command: argument parsing and progress only; each command calls a public function."""

import argparse
import os
import pathlib
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


COMMANDS = [add_models, add_train, add_tune, add_convert, add_lesion, add_paths]


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
