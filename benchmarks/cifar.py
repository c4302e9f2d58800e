"""CIFAR-10 on two CPU cores: the runs behind the shipped ResNet-20 and the experiments around them.

The long runs themselves are `keras-resnet train` commands (docs/training.md: `--recipe cifar`, the paper's, and
`--recipe cifar_fast`). This script runs the shorter experiments around them on stratified subsets of the same
offline JPEG copy (lossy, q75), each through `keras_resnet.training.train`, and writes JSON results and a PNG
beside them: the `cifar_fast` ablation and the degradation figure (He et al. Fig. 6).

    python benchmarks/cifar.py ablation --data data/cifar10 --output benchmarks/results/cifar
    python benchmarks/cifar.py degradation --data data/cifar10 --output benchmarks/results/cifar

`paper` records the paper-recipe run (164 epochs, resumed across sessions): its curve beside He et al.'s final
error and the shipped fast run's, and its accuracy on all 10,000 test images. `jpeg` calibrates what the lossy
copy costs: a trained model's accuracy on all 10,000 test images as given (one JPEG pass from the originals) and
after one more pass at several qualities, paired image by image.

    python benchmarks/cifar.py paper --run runs/he2015 --output benchmarks/results/cifar
    python benchmarks/cifar.py jpeg --data data/cifar10 --run runs/he2015 --output benchmarks/results/cifar
    python benchmarks/cifar.py recompress --data data/cifar10 --output data/cifar10_twice   # for a training run

`ship` turns a finished run's folder into the weights the package ships (`ResNet20(weights="cifar10")`):
the `.weights.h5` file, its model card (sha256, normalisation, recipe, accuracy, time) and the run's answers
on 32 test images of every class, which tests/test_trained.py compares the shipped model with.

    python benchmarks/cifar.py ship --run runs/he2015 --wall-minutes 270 --time "one sentence"
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
# One more JPEG pass over the test images: (label, quality, shift). The copy is quality 75 with 4:2:0 chroma;
# re-encoding at 75 on the same 8x8 grid nearly repeats its rounding, so the pass that stands in for a first
# one is shifted by 4 pixels (half a block), a grid independent of the first.
JPEG_PASSES = (
    ("+ q75, same 8x8 grid", 75, 0),
    ("+ q95, grid shifted 4 px", 95, 4),
    ("+ q90, grid shifted 4 px", 90, 4),
    ("+ q75, grid shifted 4 px", 75, 4),
    ("+ q50, grid shifted 4 px", 50, 4),
)


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


PAPER_ERROR = 8.75  # He et al. 2015, Table 6: ResNet-20's test error (%) on CIFAR-10


def paper(args):
    """The finished paper-recipe run's curve and accuracy: `<name>.json` and `<name>.png` (error against epoch)."""
    run = pathlib.Path(args.run)
    fix = "give the folder of a finished `keras-resnet train` run"
    config, results = files.read_json(run / "config.json", fix), files.read_json(run / "results.json", fix)
    history = loop.read_history(run / "history.csv")
    # The fast recipe's run: its model card as it was shipped, kept beside the results when the weights moved on.
    fast = json.loads((args.output / "cifar_fast.json").read_text())
    name = run.name
    record = {
        "run": str(run),
        "recipe": config["recipe"],
        "settings": {key: config[key] for key in ("epochs", "batch_size", "lr", "milestones", "gamma", "weight_decay")},
        "test": results["test"],
        "epochs": results["epochs"],
        "paper_test_accuracy": 1 - PAPER_ERROR / 100,
        "history": {key: [round(v, 4) for v in values] for key, values in history.items() if key != "epoch"},
    }
    files.write_json(args.output / f"{name}.json", record)
    pyplot, figure, axes = plots.figure(1, width=7, height=4.5)
    epochs = np.arange(1, len(history["accuracy"]) + 1)
    for metric, style, width, label in (
        ("accuracy", "--", 1, "train (augmented)"),
        ("val_accuracy", "-", 2, f"test: {100 * (1 - results['test']['accuracy']):.2f}%"),
    ):
        errors = 100 * (1 - np.array(history[metric]))
        axes[0].plot(
            epochs, errors, style, color="tab:blue", linewidth=width, label=f"{config['recipe']} recipe, {label}"
        )
    shipped = np.array(fast["val_accuracy_by_epoch"])
    axes[0].plot(
        np.arange(1, len(shipped) + 1),
        100 * (1 - shipped),
        "-",
        color="tab:orange",
        linewidth=1.5,
        label=f"{fast['recipe']} recipe ({fast['epochs']} epochs), test: {100 * (1 - shipped[-1]):.2f}%",
    )
    axes[0].axhline(PAPER_ERROR, color="black", linestyle=":", label=f"He et al. 2015, test: {PAPER_ERROR}%")
    for milestone in config["milestones"]:
        axes[0].axvline(milestone * config["epochs"], color="grey", linewidth=0.5)
    axes[0].set(
        xlabel="epoch (grey: learning rate / 10)",
        ylabel="error (%)",
        ylim=(0, 40),
        title="ResNet-20 on CIFAR-10 (JPEG q75 copy), 2 CPU cores",
    )
    axes[0].grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    plots.save(pyplot, figure, args.output / f"{name}.png")
    return {"test": results["test"]}


def jpeg_pass(images, quality, shift):
    """`images` (uint8, N x H x W x 3) encoded once more as JPEG at `quality` and decoded, the 8x8 grid moved by
    `shift` pixels (reflection padding on the top and left, cropped off again)."""
    import tensorflow as tf

    padded = np.pad(images, ((0, 0), (shift, 0), (shift, 0), (0, 0)), mode="reflect")
    again = [tf.io.decode_jpeg(tf.io.encode_jpeg(image, quality=quality, chroma_downsampling=True)) for image in padded]
    return np.stack([a.numpy() for a in again])[:, shift:, shift:]


def jpeg(args):
    """Accuracy on the test images as given and after one more JPEG pass, each pass paired with as given; added to
    `jpeg.json` under the model's name (the run's folder name, or the shipped model's recipe)."""
    import keras_resnet

    if args.run:
        model, name = models.load_model_file(pathlib.Path(args.run) / "final.keras"), pathlib.Path(args.run).name
    else:
        card = weights.trained_card("ResNet20", "cifar10")
        model, name = keras_resnet.ResNet20(weights="cifar10"), f"shipped ({card['recipe']} recipe)"
    images, labels = data.read_folder(pathlib.Path(args.data) / "test")
    images = images.astype("uint8")

    def answered_right(pixels):
        return model.predict(pixels.astype("float32"), batch_size=500, verbose=0).argmax(-1) == labels

    right = answered_right(images)
    results = {"as given (one q75 pass)": {"accuracy": float(right.mean()), "images": len(labels)}}
    for label, quality, shift in JPEG_PASSES:
        again = jpeg_pass(images, quality, shift)
        now = answered_right(again)
        lost, gained = int(np.sum(right & ~now)), int(np.sum(~right & now))
        # Paired: only the images whose answer changed carry the difference (McNemar's standard error).
        error = np.sqrt(lost + gained - (lost - gained) ** 2 / len(labels)) / len(labels)
        results[label] = {
            "accuracy": float(now.mean()),
            "change": float(now.mean() - right.mean()),
            "standard_error": float(error),
            "lost": lost,
            "gained": gained,
            "psnr_db": float(psnr(images, again)),
        }
    path = args.output / "jpeg.json"
    earlier = files.read_json(path, "remove it") if path.is_file() else {}
    files.write_json(path, {**earlier, name: results})
    return results


def recompress(args):
    """A copy of the CIFAR folder after one more JPEG pass (`--quality`, grid shifted 4 px), stored as PNG so that
    nothing else is lost: train a recipe on it beside the copy as given to see what a JPEG pass costs training."""
    import tensorflow as tf
    from PIL import Image

    source, target = pathlib.Path(args.data), pathlib.Path(args.output)
    written = 0
    for split in ("train", "test"):
        for folder in sorted(p for p in (source / split).iterdir() if p.is_dir()):
            paths = sorted(folder.glob("*.jpg"))
            images = np.stack([tf.io.decode_jpeg(tf.io.read_file(str(path)), channels=3).numpy() for path in paths])
            (target / split / folder.name).mkdir(parents=True, exist_ok=True)
            for path, image in zip(paths, jpeg_pass(images, args.quality, 4)):
                Image.fromarray(image).save(target / split / folder.name / f"{path.stem}.png")
            written += len(paths)
    return {"written": {"images": written, "folder": str(target), "quality": args.quality}}


def psnr(a, b):
    """Peak signal-to-noise ratio of two uint8 image arrays, in dB."""
    mse = np.mean((a.astype("float64") - b.astype("float64")) ** 2)
    return 10 * np.log10(255.0**2 / mse)


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
    # The answers on test images of every class (runs before `Split.spread` kept the first 32, all airplanes);
    # rewritten beside final.keras too, so that `keras-resnet export` of the run carries the same ones.
    loop.write_samples(trained, data.load(config["dataset"]).test_split, run / "samples.npz")
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
                "milestones",
                "gamma",
                "warmup_epochs",
                "momentum",
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
        "time": args.time,
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
    parser.add_argument("experiment", choices=("ablation", "degradation", "paper", "jpeg", "recompress", "ship"))
    parser.add_argument("--data", help="the CIFAR-10 folder (train/ and test/ of class folders)")
    parser.add_argument(
        "--run",
        help="paper, ship, jpeg: the folder of a finished `keras-resnet train` run (jpeg: default the shipped model)",
    )
    parser.add_argument("--wall-minutes", type=float, help="ship: the run's wall-clock minutes")
    parser.add_argument("--time", help="ship: one sentence on how long the run took and where (e.g. across sessions)")
    parser.add_argument("--machine", default=platform.processor() or platform.machine(), help="ship: the CPU")
    parser.add_argument("--output", type=pathlib.Path, default=pathlib.Path("benchmarks/results/cifar"))
    parser.add_argument("--train", type=int, default=5000, help="training images of the subset (default 5000)")
    parser.add_argument("--test", type=int, default=2000, help="test images of the subset (default 2000)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of each run (default 10)")
    parser.add_argument("--quality", type=int, default=75, help="recompress: the extra pass's JPEG quality (75)")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    experiment = {
        "ablation": ablation,
        "degradation": degradation,
        "paper": paper,
        "jpeg": jpeg,
        "recompress": recompress,
        "ship": ship,
    }[args.experiment]
    print(json.dumps({key: value.get("test", value) for key, value in experiment(args).items()}, indent=2))


if __name__ == "__main__":
    main()
