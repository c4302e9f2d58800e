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


def _export(args):
    from keras_resnet import export

    name = export.check_name(args.name) if args.name is not None else None
    model = export.load_model(args.model)
    name = name or export.check_name(model.name)
    path = export.export_saved_model(
        model,
        os.path.join(args.base, name),
        labels=args.labels,
        top_k=args.top_k,
        scale=args.scale,
        mean=args.mean,
        std=args.std,
        version=args.version,
    )
    print(f"exported {args.model} to {path}; TF Serving config: {export.write_models_config(args.base)}")
    return 0


def add_export(commands):
    export = commands.add_parser(
        "export",
        help="export a .keras model as the next version of a TF Serving model",
        description="Write a .keras model as <base>/<name>/<next integer version>/ (a SavedModel with tag "
        "'serve'), atomically and never over an existing version, with two signatures: serving_default "
        "(float32 images [None,H,W,C], pixels 0-255) and serving_bytes (encoded JPEG/PNG strings), both "
        "returning probabilities, classes and top-k scores/classes/labels. Also writes <base>/models.config "
        "listing every model under <base>.",
    )
    export.add_argument("model", help="path of a saved .keras model")
    export.add_argument("--name", help="model name in TF Serving, one path component (default: the model's name)")
    export.add_argument(
        "--base", default="saved_models", help="directory holding the model directories (default saved_models)"
    )
    export.add_argument("--labels", help="text file with one class name per line, for the top_k_labels output")
    export.add_argument("--top-k", type=int, default=5, help="how many best classes the top_k outputs give (default 5)")
    export.add_argument(
        "--scale",
        type=float,
        default=1 / 255,
        help="preprocessing in the graph: (pixels*scale - mean)/std (default 1/255)",
    )
    export.add_argument(
        "--mean", type=float, nargs="+", default=[0.0], help="mean, one value or one per channel (default 0)"
    )
    export.add_argument(
        "--std", type=float, nargs="+", default=[1.0], help="std, one value or one per channel (default 1)"
    )
    export.add_argument(
        "--version", type=int, help="explicit version number, which must not exist (default: latest + 1)"
    )
    export.set_defaults(run=_export)


def _verify(args):
    from keras_resnet import export

    result = export.verify(args.path, model=args.model, tolerance=args.tolerance, port=args.port)
    print(result)
    return 0 if result.ok else 1


def add_verify(commands):
    verify = commands.add_parser(
        "verify",
        help="load an export the way TF Serving does and compare it with the Keras model",
        description="Load a SavedModel version with the tf.compat.v1 Session loader in a process where "
        "importing keras or keras_resnet fails, run both signatures by their tensor names on sample images "
        "(float and PNG bytes) and a corrupt image, print the max abs difference from the Keras model's "
        "outputs, the checks, `saved_model_cli show --all` and a ready curl request. Exit status 1 if a check fails.",
    )
    verify.add_argument("path", help="a model directory (its latest version is checked) or one version directory")
    verify.add_argument("--model", help="a .keras model to compare with (default: the outputs stored at export time)")
    verify.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed abs difference (default 1e-4)")
    verify.add_argument(
        "--port", type=int, default=8501, help="TF Serving REST port for the curl request (default 8501)"
    )
    verify.set_defaults(run=_verify)


# Each command is one `add_<command>(commands)` function that adds its sub-parser and sets `run`.
COMMANDS = [add_models, add_export, add_verify]


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
