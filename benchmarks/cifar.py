"""CIFAR-10 on two CPU cores: the `cifar_fast` recipe's ablation and the degradation figure (He et al. Fig. 6).

The long run itself is the command in README.md (`keras-resnet train --recipe cifar_fast ...`); this script
runs the shorter experiments around it on stratified subsets of the same offline JPEG copy (lossy, q75), each
through `keras_resnet.training.train`, and writes JSON results and a PNG beside them.

    python benchmarks/cifar.py ablation --data data/cifar10 --output benchmarks/results/cifar
    python benchmarks/cifar.py degradation --data data/cifar10 --output benchmarks/results/cifar
"""

import argparse
import json
import pathlib
import time

import numpy as np

from keras_resnet import data, plots, training, zoo

# Each variant adds one ingredient to the one before (the first is the paper's recipe, its schedule scaled).
ABLATION = {
    "paper (step schedule, batch 128)": dict(recipe="cifar"),
    "+ warm-up, cosine, Nesterov, batch 256, wd 5e-4": dict(recipe="cifar_fast", label_smoothing=0.0),
    "+ label smoothing 0.1 (cifar_fast)": dict(recipe="cifar_fast"),
    "+ weights' moving average": dict(recipe="cifar_fast", ema=True, ema_momentum=0.99),
    "+ MixUp 0.2": dict(recipe="cifar_fast", mixup=0.2),
}
DEGRADATION = ("PlainNet20", "PlainNet56", "ResNet20", "ResNet56")


def subset(folder, train, test, seed=0):
    """A stratified subset of the folder's train and test splits as uint8 arrays (decoded once)."""
    source = data.load(folder)
    picked = []
    for split, count in ((source.train, train), (source.test, test)):
        images, labels = zip(*split.as_numpy_iterator())
        images, labels = np.stack(images), np.array(labels)
        rng = np.random.default_rng(seed)
        per_class = count // source.num_classes
        keep = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in range(source.num_classes)])
        picked.append((images[np.sort(keep)], labels[np.sort(keep)]))
    return picked


def run(model, arrays, output, epochs, **options):
    started = time.perf_counter()
    history = training.train(model, arrays, output=output, epochs=epochs, verbose=2, **options)
    minutes = (time.perf_counter() - started) / 60
    return {"test": history.test, "minutes": round(minutes, 1), "history": training.read_history(output / "history.csv")}


def ablation(args):
    arrays = subset(args.data, args.train, args.test)
    results = {}
    for label, options in ABLATION.items():
        results[label] = run("ResNet20", arrays, args.output / "ablation" / str(len(results)), args.epochs,
                             tta_flip=True, **options)  # fmt: skip
        (args.output / "ablation.json").write_text(json.dumps(results, indent=2))
    return results


def degradation(args):
    arrays = subset(args.data, args.train, args.test)
    results = {}
    for name in DEGRADATION:
        # The papers' initialisation for every net (zero-initialised branches would favour the residual ones).
        model = zoo.build(name, input_shape=(32, 32, 3), classes=10,
                                   **({} if name.startswith("Plain") else {"zero_init_residual": False}))  # fmt: skip
        results[name] = run(model, arrays, args.output / "degradation" / name, args.epochs, recipe="cifar_fast")
        (args.output / "degradation.json").write_text(json.dumps(results, indent=2))
    pyplot, figure, axes = plots.figure(1, width=7, height=4.5)
    for (name, result), color in zip(results.items(), ("tab:blue", "tab:red", "tab:blue", "tab:red")):
        history = result["history"]
        epochs = np.arange(1, len(history["accuracy"]) + 1)
        style = "--" if name.startswith("Plain") else "-"
        axes[0].plot(epochs, 100 * (1 - np.array(history["accuracy"])), style, color=color, linewidth=1,
                     label=f"{name} train")  # fmt: skip
        axes[0].plot(epochs, 100 * (1 - np.array(history["val_accuracy"])), style, color=color, linewidth=2.5,
                     label=f"{name} test")  # fmt: skip
    axes[0].set(xlabel="epoch", ylabel="error (%)",
                title=f"CIFAR-10 (JPEG q75), {args.train:,} training images: thin train, bold test")  # fmt: skip
    axes[0].legend(fontsize="small", ncol=2)
    plots.save(pyplot, figure, args.output / "degradation.png")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", choices=("ablation", "degradation"))
    parser.add_argument("--data", required=True, help="the CIFAR-10 folder (train/ and test/ of class folders)")
    parser.add_argument("--output", type=pathlib.Path, default=pathlib.Path("benchmarks/results/cifar"))
    parser.add_argument("--train", type=int, default=5000, help="training images of the subset (default 5000)")
    parser.add_argument("--test", type=int, default=2000, help="test images of the subset (default 2000)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of each run (default 10)")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    print(json.dumps({key: value["test"] for key, value in {"ablation": ablation, "degradation": degradation}[
        args.experiment](args).items()}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
