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


def _load(path):
    import keras

    import keras_resnet  # noqa: F401  registers the layers that a .keras file names

    if not os.path.isfile(path):
        raise ValueError(f"model file {path!r} does not exist: pass a model saved with model.save('....keras').")
    return keras.saving.load_model(path, compile=False)


def _lesion(args):
    from keras_resnet import analysis

    model = _load(args.model)
    data = analysis.load_test_data(args.dataset, model.input_shape[1:])
    result = analysis.lesion(
        model,
        data,
        blocks=args.blocks,
        max_removed=args.max_removed,
        draws=args.draws,
        seed=args.seed,
        batch_size=args.batch_size,
        plot=args.png,
        progress=True,
    )
    print(result.table())
    if args.png:
        print(f"plot written to {args.png}")
    return 0


def add_lesion(commands):
    lesion = commands.add_parser(
        "lesion",
        help="test accuracy with residual blocks removed (Veit et al. 2016)",
        description="Remove each residual block's branch (keeping its shortcut) one at a time, then k random "
        "blocks at once for k = 1..K, and print the test accuracy of each lesion. In a plain net a removed "
        "block passes its input on (only blocks that keep the shape can be removed).",
    )
    lesion.add_argument("model", help="a trained model saved as .keras (e.g. runs/r56/model.keras)")
    lesion.add_argument(
        "--dataset",
        required=True,
        help="test data: 'digits' (scikit-learn's digits, test split), an .npz file with arrays x and y, or a "
        "folder with one sub-folder of images per class (pixels scaled to [0, 1], resized to the model's input)",
    )
    lesion.add_argument("--blocks", nargs="+", help="names of the blocks to remove (default: every removable block)")
    lesion.add_argument("--max-removed", type=int, help="largest number of blocks removed at once (default: all)")
    lesion.add_argument("--draws", type=int, default=5, help="random draws for each number removed (default 5)")
    lesion.add_argument("--seed", type=int, default=0, help="seed of the random draws (default 0)")
    lesion.add_argument("--batch-size", type=int, default=256, help="prediction batch size (default 256)")
    lesion.add_argument("--png", help="write the lesion plot to this PNG file")
    lesion.set_defaults(run=_lesion)


def _paths(args):
    from keras_resnet import analysis

    target = args.model
    if target.isdigit():
        target = int(target)
    elif target.endswith(".keras"):
        target = _load(target)
    paths = analysis.path_lengths(target)
    low, high = paths.interval(args.mass)
    share = sum(paths.probabilities[low : high + 1])
    print(f"{paths.n} residual blocks: 2^{paths.n} = {2**paths.n:.4g} paths, length ~ Binomial({paths.n}, 1/2)")
    print(f"mean length {paths.mean:g}, standard deviation {paths.std:.3f}, {share:.1%} of paths have length {low}..{high}")
    print(f"{'length':>6} {'paths':>24} {'fraction':>10}")
    for k, (count, probability) in enumerate(zip(paths.counts, paths.probabilities)):
        print(f"{k:>6} {count:>24,} {probability:>10.3e}")
    if args.png:
        analysis.plot_paths(paths, args.png)
        print(f"plot written to {args.png}")
    return 0


def add_paths(commands):
    paths = commands.add_parser(
        "paths",
        help="path-length distribution of a residual net (Veit et al. 2016)",
        description="Unrolled, a net of n residual blocks has 2^n paths; C(n, k) of them pass through k "
        "residual branches. Print the exact counts, the fractions and the range holding most paths.",
    )
    paths.add_argument("model", help="a model name (e.g. ResNet110), a saved .keras model, or a number of blocks")
    paths.add_argument("--mass", type=float, default=0.95, help="share of paths the printed range holds (default 0.95)")
    paths.add_argument("--png", help="write the distribution plot to this PNG file")
    paths.set_defaults(run=_paths)


# Each command is one `add_<command>(commands)` function that adds its sub-parser and sets `run`.
COMMANDS = [add_models, add_lesion, add_paths]


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
