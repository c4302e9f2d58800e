# %% [markdown]
# # 03 Keras Tuner: cardinality against depth
#
# Is cardinality worth more than depth (Xie et al. 2017)? `keras_resnet.tuning.search` runs a real
# Keras Tuner search over CIFAR ResNeXt depths (9n+2) and cardinalities C (the number of groups of the
# bottleneck's 3x3 convolution; C=1 is a plain bottleneck ResNet), each trial trained with the CIFAR
# recipe and scored on a held-out 10% of the training split; only the best model meets the test split.
#
# Data: scikit-learn's bundled digits (real 8x8 images, always available), so a trial takes seconds.
# `KERAS_RESNET_QUICK=1` makes the search tiny (two trials of a few steps).

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import matplotlib.pyplot as plt

from keras_resnet import tuning

QUICK = os.environ.get("KERAS_RESNET_QUICK") == "1"
SPACE = dict(
    families=["cifar_resnext"],
    depths=[11] if QUICK else [11, 20, 29],
    cardinalities=[2, 4] if QUICK else [1, 2, 4, 8],
    bottleneck_widths=[4],
)

# %% [markdown]
# ## The search
#
# `search` writes keras-tuner's state, TensorBoard logs, `results.csv`, `results.png` and `best.keras`
# into its output; running it again resumes (finished trials are kept). `max_params=` or `max_flops=`
# would reject oversize models before they train.

# %%
summary = tuning.search(
    "digits",
    "runs/03_tuner_search",
    tuner="random",
    max_trials=2 if QUICK else 12,
    overwrite=True,
    epochs=1 if QUICK else 8,
    batch_size=32,
    lrs=[0.2],
    steps_per_epoch=4 if QUICK else None,
    verbose=0,
    **SPACE,
)
for row in summary["rows"]:
    accuracy = "-" if row["val_accuracy"] is None else f"{row['val_accuracy']:.3f}"
    print(
        f"trial {row['trial']}: depth {row['depth']:>2}, cardinality {row['cardinality']:>2}: "
        f"{row['params']:>9,} parameters, {row['flops'] / 1e6:6.1f}M FLOPs, validation accuracy {accuracy} "
        f"({row['status']})"
    )
best = summary["best"]
print(
    f"best: depth {best['depth']}, cardinality {best['cardinality']}; test accuracy {summary['test_accuracy']:.3f}, "
    f"saved as {summary['model']}"
)

# %% [markdown]
# ## Accuracy against cost
#
# Each point is a trial, labelled with its depth.

# %%
plt.figure(figsize=(11, 4))
plt.imshow(plt.imread(summary["plot"]))
plt.axis("off")
plt.show()
