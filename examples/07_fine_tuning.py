# %% [markdown]
# # 07 Fine-tuning a backbone: pretrain on five CIFAR-10 classes, fine-tune on the other five
#
# Most people who build a ResNet do not train it from scratch: they take a backbone trained on other
# images, freeze part of it and fine-tune on a few labelled images of their own. This notebook does that
# offline, end to end, with the package's own pieces: ResNet-20 is pretrained on five classes of CIFAR-10
# (airplane, automobile, bird, cat, deer), then fine-tuned on a small labelled subset of the other five (dog,
# frog, horse, ship, truck), once with the stem and first stage frozen (`keras_resnet.freeze`, BatchNorm in
# inference mode), once with nothing frozen, and against the same net trained from scratch on the subset.
# It also shows the backbone's feature maps by stride (`keras_resnet.features`), what a detector or a
# segmenter reads.
#
# Data: the offline CIFAR-10 copy `shared/data/cifar10_jpeg` (JPEG quality 75); without it, the digits
# (0-4 pretrain, 5-9 fine-tune). `KERAS_RESNET_QUICK=1` uses a few images per class and one epoch.

# %%
import os
import pathlib
import tarfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

import keras_resnet
from keras_resnet import training

QUICK = os.environ.get("KERAS_RESNET_QUICK") == "1"
ARCHIVE = "cifar10_jpeg/cifar10_jpeg_q75.tar.gz"
places = [os.environ.get("KERAS_RESNET_DATA", ""), "../shared/data", "../../shared/data"]
archive = next((pathlib.Path(p) / ARCHIVE for p in places if p and (pathlib.Path(p) / ARCHIVE).is_file()), None)
PRETRAIN_PER_CLASS = 20 if QUICK else 5000  # all of CIFAR-10's training images of the five classes
LABELLED_PER_CLASS = 10 if QUICK else 100  # the small labelled subset of the new classes
TEST_PER_CLASS = 10 if QUICK else 1000
PRETRAIN_EPOCHS, FINE_TUNE_EPOCHS = (1, 1) if QUICK else (15, 30)
# The quick run has 100 and 50 images: fewer than cifar_fast's 256 (None keeps it) and the fine-tuning 64.
PRETRAIN_BATCH, FINE_TUNE_BATCH = (50, 25) if QUICK else (None, 64)


def read_cifar(wanted):
    """{(split, class): per_class} -> {(split, class): images}: the first `per_class` JPEGs of each, read in one
    pass over the archive (a .tar.gz is read from its start each time it is opened)."""
    found = {key: [] for key in wanted}
    with tarfile.open(archive) as tar:
        for member in tar:  # the archive's own order: split/class/NNNN.jpg, sorted
            key = tuple(member.name.split("/")[:2])
            if member.isfile() and key in found and len(found[key]) < wanted[key]:
                found[key].append(np.asarray(Image.open(tar.extractfile(member)).convert("RGB")))
    return found


def task(classes, train_per_class):
    """((x_train, y_train), (x_test, y_test)) of five classes, as keras.datasets returns them."""
    if archive is not None:
        return tuple(
            (
                np.concatenate([images[(split, name)] for name in classes]).astype("float32"),
                np.concatenate([[i] * len(images[(split, name)]) for i, name in enumerate(classes)]),
            )
            for split in ("train", "test")
        )
    from sklearn.datasets import load_digits  # the fallback: 8x8 digits as 0-255 grey images

    digits = load_digits()
    x, y = (digits.images[..., None] * 255 / 16).astype("float32"), digits.target
    chosen = [np.flatnonzero(y == digit) for digit in classes]
    train = np.concatenate([rows[:train_per_class] for rows in chosen])
    test = np.concatenate([rows[-TEST_PER_CLASS:] for rows in chosen])
    relabel = {digit: i for i, digit in enumerate(classes)}
    return (x[train], np.array([relabel[v] for v in y[train]])), (x[test], np.array([relabel[v] for v in y[test]]))


CIFAR = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
old, new = (CIFAR[:5], CIFAR[5:]) if archive is not None else ([0, 1, 2, 3, 4], [5, 6, 7, 8, 9])
if archive is not None:
    images = read_cifar(
        {("train", name): PRETRAIN_PER_CLASS for name in old}
        | {("train", name): LABELLED_PER_CLASS for name in new}
        | {("test", name): TEST_PER_CLASS for name in CIFAR}
    )
pretraining = task(old, PRETRAIN_PER_CLASS)
fine_tuning = task(new, LABELLED_PER_CLASS)
print(
    f"pretraining on {old}: {len(pretraining[0][0]):,} images; fine-tuning on {new}: {len(fine_tuning[0][0]):,} "
    f"labelled images, tested on {len(fine_tuning[1][0]):,}"
)

# %% [markdown]
# ## Pretraining: the `cifar_fast` recipe on the first five classes

# %%
pretrained = training.train(
    "ResNet20",
    pretraining,
    recipe="cifar_fast",
    epochs=PRETRAIN_EPOCHS,
    batch_size=PRETRAIN_BATCH,
    output="runs/07_pretrain",
    verbose=2,
)
print(f"pretrained: {pretrained.test['accuracy']:.1%} test accuracy on the first five classes")

# %% [markdown]
# ## Fine-tuning on the other five, against training from scratch
#
# The pretrained classifier knows the wrong five classes: a new one starts from scratch (glorot kernel, zero
# bias), the backbone keeps its weights. `freeze="stage1"` keeps the stem and the first stage fixed, their
# BatchNormalization in inference mode (its statistics are the pretraining images'); the rest learns.


# %%
def backbone_with_a_new_head():
    model = keras.saving.load_model("runs/07_pretrain/final.keras")
    head = model.get_layer("predictions")
    head.set_weights(
        [keras.initializers.GlorotUniform(seed=0)(head.kernel.shape).numpy(), np.zeros(head.bias.shape, "float32")]
    )
    return model


runs = {  # label: (output folder, what train() gets)
    "from scratch": ("runs/07_scratch", dict(model="ResNet20")),
    "fine-tuned, nothing frozen": ("runs/07_fine_tuned", dict(model=backbone_with_a_new_head())),
    "fine-tuned, stem + stage 1 frozen": (
        "runs/07_fine_tuned_frozen",
        dict(model=backbone_with_a_new_head(), freeze="stage1"),
    ),
}
results = {}
for label, (folder, settings) in runs.items():
    history = training.train(
        settings.pop("model"),
        fine_tuning,
        recipe="cifar_fast",
        epochs=FINE_TUNE_EPOCHS,
        batch_size=FINE_TUNE_BATCH,
        output=folder,
        verbose=0,
        **settings,
    )
    results[label] = (history.test["accuracy"], folder)
    print(f"{label}: {history.test['accuracy']:.1%} test accuracy")

# %%
figure, axis = plt.subplots(figsize=(7, 4))
for label, (accuracy, folder) in results.items():
    curve = training.read_history(pathlib.Path(folder) / "history.csv")["val_accuracy"]
    axis.plot(
        range(1, len(curve) + 1), curve, marker="o" if len(curve) < 3 else None, label=f"{label} ({accuracy:.1%})"
    )
axis.set(
    xlabel="epoch", ylabel="test accuracy (new classes)", title=f"ResNet-20, {len(fine_tuning[0][0])} labelled images"
)
axis.legend()
figure.savefig("fine_tuning.png", dpi=100, bbox_inches="tight")

# %% [markdown]
# ## The backbone's feature maps by stride
#
# Without its top a model has `pyramid_outputs` (keras-hub's name; level k has stride 2^k, so a CIFAR net's
# levels are P0, P1, P2), and `keras_resnet.features` makes the model a detector or a segmenter reads.

# %%
backbone = keras_resnet.ResNet20(include_top=False)
extractor = keras_resnet.features(backbone, levels=("P1", "P2"))
maps = extractor(fine_tuning[1][0][:2])
for info in extractor.feature_info:
    print(info, tuple(maps[info.level].shape))
