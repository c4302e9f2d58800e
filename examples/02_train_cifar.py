# %% [markdown]
# # 02 Train a CIFAR ResNet on real data, offline
#
# ResNet-20 (He et al. 2015, sec. 4.2: three stages of 16/32/64 channels, option-A shortcuts) trained
# by `keras_resnet.training.train` with the paper's CIFAR recipe (SGD 0.1, momentum 0.9, weight decay
# 1e-4, learning rate /10 at 50% and 75%, pad-crop-flip), on real images and without any download:
#
# - CIFAR-10 from the project's offline copy `shared/data/cifar10_jpeg` (JPEG quality 75) when it is
#   there: a class-balanced subset is unpacked into a folder of class sub-folders;
# - otherwise scikit-learn's bundled 8x8 digits (1,797 real images, always available).
#
# `KERAS_RESNET_QUICK=1` shrinks the data and epochs to a smoke test.

# %%
import collections
import json
import os
import pathlib
import tarfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import matplotlib.pyplot as plt
import numpy as np

from keras_resnet import training  # importing keras_resnet registers the layers final.keras needs
from keras_resnet.training import data

QUICK = os.environ.get("KERAS_RESNET_QUICK") == "1"
EPOCHS = 2 if QUICK else 15
PER_CLASS = {"train": 20, "test": 10} if QUICK else {"train": 500, "test": 100}
OUTPUT = pathlib.Path("runs/02_train_cifar")

# %% [markdown]
# ## The data
#
# `KERAS_RESNET_DATA` may name the folder holding `cifar10_jpeg/`; otherwise the notebook looks in
# `shared/data` beside the repository (from its root or from `examples/`).

# %%
ARCHIVE = "cifar10_jpeg/cifar10_jpeg_q75.tar.gz"
places = [os.environ.get("KERAS_RESNET_DATA", ""), "../shared/data", "../../shared/data"]
archive = next((pathlib.Path(p) / ARCHIVE for p in places if p and (pathlib.Path(p) / ARCHIVE).is_file()), None)


def unpack_subset(archive, folder, per_class):
    """Unpack the first `per_class[split]` images of every class of each split (train/<class>/NNNN.jpg)."""
    taken = collections.Counter()
    with tarfile.open(archive) as tar:
        for member in tar:
            split, *rest = member.name.split("/")
            if member.isfile() and len(rest) == 2 and taken[split, rest[0]] < per_class.get(split, 0):
                taken[split, rest[0]] += 1
                tar.extract(member, folder, filter="data")
    return folder


if archive is not None:
    dataset = unpack_subset(archive, pathlib.Path("data/cifar10_subset"), PER_CLASS)
    class_names = sorted(os.listdir(dataset / "train"))
    print(
        f"CIFAR-10 (JPEG q75) from {archive}: {PER_CLASS['train']} training and {PER_CLASS['test']} test "
        "images per class"
    )
else:
    dataset, class_names = "digits", [str(digit) for digit in range(10)]
    print("no offline CIFAR-10 copy found: training on scikit-learn's digits instead")

source = data.load(dataset)
print(
    f"data used: {source.name}; {source.train_size} training and {source.test_size} test images of "
    f"shape {source.image_shape}, {source.num_classes} classes"
)

# %%
images, labels = zip(*source.train.take(10).as_numpy_iterator())
figure, axes = plt.subplots(1, 10, figsize=(12, 1.6))
for axis, image, label in zip(axes, images, labels):
    axis.imshow(image.squeeze(), cmap="gray" if image.shape[-1] == 1 else None)
    axis.set_title(class_names[label], fontsize="small")
    axis.axis("off")
plt.show()

# %% [markdown]
# ## Training
#
# `train` builds the named model for the data's image shape and classes, normalises with the training
# set's per-channel statistics, and writes checkpoints, `history.csv`, TensorBoard logs, `curves.png`
# and `results.json` into `output`. Running the cell again resumes from the last backup (a finished
# run trains nothing more); `overwrite=True` starts again. Measured: the full setting (5,000 CIFAR-10
# training images, 15 epochs) reached 51.2% test accuracy in 7.4 minutes on two busy CPU cores; the
# paper's 91.3% needs all 50,000 images and 164 epochs.

# %%
history = training.train("ResNet20", dataset, recipe="cifar", epochs=EPOCHS, output=OUTPUT, overwrite=True, verbose=2)
results = json.loads((OUTPUT / "results.json").read_text())
print(
    f"test accuracy {results['test']['accuracy']:.3f} after {results['epochs']} epochs "
    f"(chance {1 / source.num_classes:.2f})"
)

# %% [markdown]
# ## Training curves
#
# Dashed: training, solid: test; the loss axis is logarithmic.

# %%
plt.figure(figsize=(11, 4))
plt.imshow(plt.imread(OUTPUT / "curves.png"))
plt.axis("off")
plt.show()

# %% [markdown]
# ## The trained model
#
# `final.keras` loads with `import keras_resnet` alone. It takes raw 0-255 pixels: the training set's
# per-channel mean and standard deviation are its first layer ("preprocessing"), put there by `train`.

# %%
model = keras.models.load_model(OUTPUT / "final.keras")
print(model.get_layer("preprocessing").get_config()["mean"])
test = data.pipeline(source.test, training=False, batch_size=256)
predicted = np.argmax(model.predict(test, verbose=0), axis=1)
y_test = np.concatenate([labels for _, labels in test])
print(f"accuracy on the {len(y_test)} test images: {np.mean(predicted == y_test):.3f}")
picks = np.linspace(0, len(predicted) - 1, 8).astype(int)  # the test split is ordered by class
print("predicted:", [class_names[i] for i in predicted[picks]])
print("true:     ", [class_names[i] for i in y_test[picks]])
