# %% [markdown]
# # 06 CIFAR-10 on two CPU cores: the shipped ResNet-20, its recipe, and the degradation problem
#
# `keras_resnet.ResNet20(weights="cifar10")` is ResNet-20 (He et al. 2015, option-A shortcuts, 0.27M
# parameters) trained by this package with `keras-resnet train --model ResNet20 --dataset <cifar folder>
# --recipe <the card's recipe>` on two CPU cores, its weights shipped inside the package with a model card
# that says which recipe and how long. This notebook reads the card, classifies real CIFAR-10 test images
# with the model (from the offline JPEG copy `shared/data/cifar10_jpeg` when it is there, else the 32 test
# images shipped with the weights), and shows the paper-recipe run's curve beside He et al.'s number, what
# the lossy copy costs, what the fast recipe's ingredients bought, and He et al.'s degradation result on
# CIFAR-10 (`benchmarks/cifar.py` wrote them all). The JPEG copy is lossy (quality 75): its accuracy is not
# exactly the published test set's.
#
# `KERAS_RESNET_QUICK=1` classifies 200 test images instead of 10,000.

# %%
import json
import os
import pathlib
import tarfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

import keras_resnet
from keras_resnet import weights

QUICK = os.environ.get("KERAS_RESNET_QUICK") == "1"
TRAINED = pathlib.Path(weights.TRAINED_FOLDER)
card = json.loads((TRAINED / "resnet20_cifar10.json").read_text())
{key: card.get(key) for key in ("recipe", "epochs", "time", "machine", "test_accuracy", "sha256")}

# %% [markdown]
# ## The model: raw pixels in, the training split's normalisation inside

# %%
model = keras_resnet.ResNet20(weights="cifar10")  # the file's sha256 is checked against the card
print(f"{model.count_params():,} parameters; first layer: {model.layers[1].name} {card['options']['preprocessing']}")

# %% [markdown]
# ## Real test images
#
# `KERAS_RESNET_DATA` may name the folder holding `cifar10_jpeg/`; otherwise the notebook looks in
# `shared/data` beside the repository.

# %%
ARCHIVE = "cifar10_jpeg/cifar10_jpeg_q75.tar.gz"
places = [os.environ.get("KERAS_RESNET_DATA", ""), "../shared/data", "../../shared/data"]
archive = next((pathlib.Path(p) / ARCHIVE for p in places if p and (pathlib.Path(p) / ARCHIVE).is_file()), None)
per_class = 20 if QUICK else 1000
if archive is not None:
    images, labels, taken = [], [], {}
    with tarfile.open(archive) as tar:
        members = sorted(
            (m for m in tar.getmembers() if m.isfile() and m.name.startswith("test/")), key=lambda m: m.name
        )
        classes = sorted({m.name.split("/")[1] for m in members})
        for member in members:
            name = member.name.split("/")[1]
            if taken.get(name, 0) < per_class:
                taken[name] = taken.get(name, 0) + 1
                images.append(np.asarray(Image.open(tar.extractfile(member)).convert("RGB")))
                labels.append(classes.index(name))
    images, labels = np.stack(images), np.array(labels)
else:
    samples = np.load(TRAINED / "resnet20_cifar10.samples.npz")
    images, labels = samples["images"], samples["labels"]
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
probabilities = model.predict(images.astype("float32"), batch_size=250, verbose=0)
print(
    f"test accuracy on {len(labels):,} images: {np.mean(probabilities.argmax(-1) == labels):.4f} "
    f"(the card: {card['test_accuracy']:.4f} on all 10,000)"
)

# %%
figure, axes = plt.subplots(2, 8, figsize=(12, 3.4))
for axis, image, label, answer in zip(
    axes.flat,
    images[:: max(1, len(images) // 16)],
    labels[:: max(1, len(images) // 16)],
    probabilities[:: max(1, len(images) // 16)],
):
    axis.imshow(image)
    axis.set_title(
        f"{classes[answer.argmax()]}\n({classes[label]})",
        fontsize=8,
        color="black" if answer.argmax() == label else "red",
    )
    axis.axis("off")
figure.suptitle("answer (true class); red: wrong")
plt.show()

# %% [markdown]
# ## The run's curve, what the JPEG copy costs, the ablation and the degradation figure
#
# The card keeps the test accuracy after each epoch. `benchmarks/results/cifar/` holds the paper-recipe run
# (its whole curve, He et al.'s 8.75% error and the fast recipe's run beside it), the JPEG calibration (the
# shipped model on all 10,000 test images as given and after one more JPEG pass), the ablation (each
# ingredient of `cifar_fast` added to the paper's recipe, on a 5,000-image subset) and the degradation runs
# (PlainNet20/56 and ResNet20/56 on the same subset, equal budgets).

# %%
plt.figure(figsize=(6, 3.5))
plt.plot(np.arange(1, len(card["val_accuracy_by_epoch"]) + 1), 100 * (1 - np.array(card["val_accuracy_by_epoch"])))
plt.xlabel("epoch")
plt.ylabel("test error (%)")
plt.title(f"ResNet-20, {card['recipe']} recipe, {card['epochs']} epochs on 2 CPU cores")
plt.grid(alpha=0.3)
plt.show()

RESULTS = pathlib.Path(keras_resnet.__file__).parents[1] / "benchmarks/results/cifar"  # in the checkout
calibration = json.loads((RESULTS / "jpeg.json").read_text())
for name, passes in calibration.items():
    print(f"JPEG calibration of {name}, all 10,000 test images")
    for label, result in passes.items():
        change = result.get("change")
        change = "" if change is None else f"{100 * change:+.2f} +- {100 * result['standard_error']:.2f} points"
        print(f"  {label:28s} test accuracy {result['accuracy']:.4f} {change}")
for experiment in ("ablation", "degradation"):
    results = json.loads((RESULTS / f"{experiment}.json").read_text())
    print(experiment)
    for label, result in results.items():
        print(f"  {label:55s} test accuracy {result['test']['accuracy']:.4f}, {result['minutes']} min")
for figure_file in ("he2015.png", "degradation.png"):
    if (RESULTS / figure_file).is_file():
        plt.figure(figsize=(8, 5))
        plt.imshow(plt.imread(RESULTS / figure_file))
        plt.axis("off")
        plt.show()
