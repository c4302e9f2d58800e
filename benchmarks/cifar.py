"""CIFAR-10 on two CPU cores: the `cifar_fast` recipe's ablation and the degradation figure (He et al. Fig. 6).

The long run itself is the command in docs/training.md (`keras-resnet train --recipe cifar_fast ...`); this script
runs the shorter experiments around it on stratified subsets of the same offline JPEG copy (lossy, q75), each
through `keras_resnet.training.train`, and writes JSON results and a PNG beside them.

    python benchmarks/cifar.py ablation --data data/cifar10 --output benchmarks/results/cifar
    python benchmarks/cifar.py degradation --data data/cifar10 --output benchmarks/results/cifar

`ship` turns the long run's folder into the weights the package ships (`ResNet20(weights="cifar10")`):
the `.weights.h5` file, its model card (sha256, normalisation, recipe, accuracy, wall time) and the
run's answers on 32 test images, which tests/test_trained.py compares the shipped model with.

    python benchmarks/cifar.py ship --run runs/cifar_fast --wall-minutes 50.1
"""

import argparse
import hashlib
import json
import os
import pathlib
import platform
import shutil
import time

import numpy as np

from keras_resnet import factory, models, weights
from keras_resnet.training import data, loop
from keras_resnet.utils import files, plots

# The first three rows each add ingredients to the row above (the third is cifar_fast); the rest add one
# thing to cifar_fast. Accuracy only: speed ingredients (mixed precision, XLA) are `keras-resnet bench`'s.
ABLATION = {
    "paper's recipe (cifar: steps at 50%/75%, batch 128)": dict(recipe="cifar"),
    "+ warm-up, cosine, Nesterov, batch 256, wd 5e-4": dict(recipe="cifar_fast", label_smoothing=0.0),
    "+ label smoothing 0.1 (= cifar_fast)": dict(recipe="cifar_fast"),
    "cifar_fast + weights' moving average (0.99)": dict(recipe="cifar_fast", ema=True, ema_momentum=0.99),
    "cifar_fast + MixUp 0.2": dict(recipe="cifar_fast", mixup=0.2),
    "cifar_fast + RandAugment (2 ops)": dict(recipe="cifar_fast", randaugment=2),
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
        keep = np.concatenate(
            [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in range(source.num_classes)]
        )
        picked.append((images[np.sort(keep)], labels[np.sort(keep)]))
    return picked


def run(model, arrays, output, epochs, **options):
    started = time.perf_counter()
    history = loop.train(model, arrays, output=output, epochs=epochs, verbose=2, **options)
    minutes = (time.perf_counter() - started) / 60
    return {
        "test": history.test,
        "minutes": round(minutes, 1),
        "history": loop.read_history(output / "history.csv"),
    }


def ablation(args):
    arrays = subset(args.data, args.train, args.test)
    results = {}
    for label, options in ABLATION.items():
        results[label] = run(
            "ResNet20", arrays, args.output / "ablation" / str(len(results)), args.epochs, tta_flip=True, **options
        )
        (args.output / "ablation.json").write_text(json.dumps(results, indent=2))
    return results


def degradation(args):
    arrays = subset(args.data, args.train, args.test)
    results = {}
    for name in DEGRADATION:
        # The papers' initialisation for every net (zero-initialised branches would favour the residual ones).
        model = factory.build(
            name,
            input_shape=(32, 32, 3),
            classes=10,
            **({} if name.startswith("Plain") else {"zero_init_residual": False}),
        )
        results[name] = run(model, arrays, args.output / "degradation" / name, args.epochs, recipe="cifar_fast")
        (args.output / "degradation.json").write_text(json.dumps(results, indent=2))
    pyplot, figure, axes = plots.figure(1, width=7, height=4.5)
    for (name, result), color in zip(results.items(), ("tab:blue", "tab:red", "tab:blue", "tab:red")):
        history = result["history"]
        epochs = np.arange(1, len(history["accuracy"]) + 1)
        style = "--" if name.startswith("Plain") else "-"
        axes[0].plot(
            epochs, 100 * (1 - np.array(history["accuracy"])), style, color=color, linewidth=1, label=f"{name} train"
        )
        axes[0].plot(
            epochs,
            100 * (1 - np.array(history["val_accuracy"])),
            style,
            color=color,
            linewidth=2.5,
            label=f"{name} test",
        )
    axes[0].set(
        xlabel="epoch",
        ylabel="error (%)",
        title=f"CIFAR-10 (JPEG q75), {args.train:,} training images: thin train, bold test",
    )
    axes[0].legend(fontsize="small", ncol=2)
    plots.save(pyplot, figure, args.output / "degradation.png")
    return results


def ship(args):
    """Write keras_resnet/trained/<stem>.{weights.h5,json,samples.npz} from a finished run of ResNet20."""
    import keras
    import tensorflow as tf

    run = pathlib.Path(args.run)
    fix = "ship a finished run"
    config, results = files.read_json(run / "config.json", fix), files.read_json(run / "results.json", fix)
    trained = models.load_model_file(run / "final.keras")
    normalisation = trained.get_layer(models.PREPROCESSING).get_config()
    preprocessing = {
        "mean": [float(m) for m in np.ravel(normalisation["mean"])],
        "std": [float(v) ** 0.5 for v in np.ravel(normalisation["variance"])],
    }
    stem = pathlib.Path(weights.TRAINED_FOLDER) / weights.TRAINED["cifar10"]["ResNet20"]
    stem.parent.mkdir(exist_ok=True)
    # Saved from the model the shipped options build, so the file's layout is the one `build` loads into.
    model = factory.build("ResNet20", input_shape=(32, 32, 3), classes=10, preprocessing=preprocessing)
    model.set_weights(trained.get_weights())
    with files.atomic_write(f"{stem}.weights.h5", needs=files.model_bytes(model, optimizer=False)) as partial:
        model.save_weights(partial)  # the hidden name keeps the .weights.h5 suffix Keras asks for
    shutil.copyfile(run / "samples.npz", f"{stem}.samples.npz")
    history = loop.read_history(run / "history.csv")
    card = {
        "model": "ResNet20",
        "dataset": "cifar10",
        "data": "CIFAR-10 (50,000 training and 10,000 test images) as JPEG quality 75, the offline copy in "
        "../shared/data/cifar10_jpeg: lossy, so not exactly the published test set",
        "options": {"input_shape": [32, 32, 3], "classes": 10, "preprocessing": preprocessing},
        "recipe": config["recipe"],
        "settings": {
            key: config[key]
            for key in (
                "epochs",
                "batch_size",
                "lr",
                "lr_batch",
                "schedule",
                "warmup_epochs",
                "nesterov",
                "weight_decay",
                "label_smoothing",
                "augment",
                "pad",
                "flip",
            )
        },
        "epochs": results["epochs"],
        "wall_minutes": args.wall_minutes,
        "machine": f"{args.machine}, {os.cpu_count()} cores, no GPU; Python {platform.python_version()}, Keras "
        f"{keras.__version__}, TensorFlow {tf.__version__}",
        "test_accuracy": results["test"]["accuracy"],
        "test_accuracy_flip_averaged": results["test"].get("accuracy_flip_averaged"),
        "val_accuracy_by_epoch": [round(v, 4) for v in history["val_accuracy"]],
        "parameters": model.count_params(),
        "sha256": hashlib.sha256(pathlib.Path(f"{stem}.weights.h5").read_bytes()).hexdigest(),
    }
    files.write_json(f"{stem}.json", card)
    return {"card": {key: card[key] for key in ("test_accuracy", "test_accuracy_flip_averaged", "sha256")}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", choices=("ablation", "degradation", "ship"))
    parser.add_argument("--data", help="the CIFAR-10 folder (train/ and test/ of class folders)")
    parser.add_argument("--run", help="ship: the folder of the finished `keras-resnet train` run")
    parser.add_argument("--wall-minutes", type=float, help="ship: the run's wall-clock minutes")
    parser.add_argument("--machine", default=platform.processor() or platform.machine(), help="ship: the CPU")
    parser.add_argument("--output", type=pathlib.Path, default=pathlib.Path("benchmarks/results/cifar"))
    parser.add_argument("--train", type=int, default=5000, help="training images of the subset (default 5000)")
    parser.add_argument("--test", type=int, default=2000, help="test images of the subset (default 2000)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of each run (default 10)")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    experiment = {"ablation": ablation, "degradation": degradation, "ship": ship}[args.experiment]
    print(json.dumps({key: value.get("test", value) for key, value in experiment(args).items()}, indent=2))


if __name__ == "__main__":
    main()
