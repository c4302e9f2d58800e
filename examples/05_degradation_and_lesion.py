# %% [markdown]
# # 05 Why residual networks work, measured: degradation, lesions, paths, stochastic depth
#
# `keras_resnet.research.analysis` runs the experiments of the literature on scikit-learn's bundled 8x8 digits
# (real images, nothing downloaded), in about 10 minutes on two CPU cores; `KERAS_RESNET_QUICK=1`
# shrinks the data and epochs to a smoke test.
#
# 1. Degradation (He et al. 2015, Fig. 1/6): PlainNet20/56 and ResNet20/56 trained by one recipe. In the
#    paper the deeper plain net has the higher training and test error, the deeper residual net the lower.
# 2. Lesion study (Veit et al. 2016): in the paper removing one residual block barely hurts a ResNet,
#    removing one layer of a plain net ruins it, and removing k random blocks degrades a ResNet smoothly.
# 3. Paths: the Binomial(n, 1/2) path lengths of ResNet-110 and, on the trained ResNet-56, the gradient
#    magnitude per path length and its product with the path counts (the "effective" short paths).
# 4. Stochastic depth (Huang et al. 2016): test accuracy with and without scaling branches by survival
#    probability.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import matplotlib.pyplot as plt

import keras_resnet
from keras_resnet.research import analysis

QUICK = os.environ.get("KERAS_RESNET_QUICK") == "1"
EPOCHS = 1 if QUICK else 10
DEEP = 32 if QUICK else 56  # the deep twins: ResNet-56 / PlainNet-56 (quick: 32)
OUT = "runs/05_degradation_and_lesion"
os.makedirs(OUT, exist_ok=True)


def show(name):
    """Display a PNG the analysis wrote."""
    plt.figure(figsize=(11, 4))
    plt.imshow(plt.imread(os.path.join(OUT, name)))
    plt.axis("off")
    plt.show()


(x_train, y_train), (x_test, y_test) = analysis.digits()
if QUICK:
    (x_train, y_train), (x_test, y_test) = (x_train[:256], y_train[:256]), (x_test[:128], y_test[:128])
data = ((x_train, y_train), (x_test, y_test))

# %% [markdown]
# ## 1. Degradation
#
# Thin lines: training error, bold: test error.

# %%
print(f"{len(x_train)} training and {len(x_test)} test digits, {EPOCHS} epochs each")
runs = analysis.degradation(
    ["PlainNet20", f"PlainNet{DEEP}", "ResNet20", f"ResNet{DEEP}"],
    data,
    epochs=EPOCHS,
    plot=os.path.join(OUT, "degradation.png"),
    log_dir=os.path.join(OUT, "logs"),
)
for name, run in runs.items():
    print(f"{name:<11} final training error {run.train_error[-1]:6.2%}   test error {run.test_error[-1]:6.2%}")
show("degradation.png")

# %% [markdown]
# ## 2. Lesion study
#
# Single blocks of the 20-layer nets (both train well), k random blocks of all three.

# %%
lesions = {}
for name in ("ResNet20", "PlainNet20", f"ResNet{DEEP}"):
    model = runs[name].model
    most = min(3 if QUICK else 10, len(analysis.removable_blocks(model)))  # PlainNet20 has 7 shape-keeping blocks
    lesions[name] = analysis.lesion(model, (x_test, y_test), max_removed=most, draws=2 if QUICK else 5)
    single = list(lesions[name].single.values())
    curve = ", ".join(f"{k}: {sum(a) / len(a):.3f}" for k, a in lesions[name].random.items())
    print(
        f"{name}: none removed {lesions[name].baseline:.3f}; one removed: mean {sum(single) / len(single):.3f}, "
        f"worst {min(single):.3f}; k random removed: {curve}"
    )
print(lesions["ResNet20"].table())
analysis.plot_lesion(lesions, os.path.join(OUT, "lesion.png"))
show("lesion.png")

# %% [markdown]
# ## 3. Paths
#
# A net of n blocks has C(n, k) paths of length k. The gradient along one path falls fast with its
# length, so the gradient is carried by short paths although paths are long on average.

# %%
paths = analysis.path_lengths("ResNet110")
low, high = paths.interval(0.95)
print(
    f"ResNet110: {paths.n} blocks, mean path length {paths.mean:g} (std {paths.std:.2f}), "
    f"{sum(paths.probabilities[low : high + 1]):.1%} of paths have length {low}..{high}"
)
analysis.plot_paths(paths, os.path.join(OUT, "paths_resnet110.png"))
gradients = analysis.gradient_by_path_length(
    runs[f"ResNet{DEEP}"].model,
    (x_test[:128], y_test[:128]),
    samples=2 if QUICK else 4,
    plot=os.path.join(OUT, "gradients.png"),
)
total = gradients.total
share = [t / sum(total) for t in total]
top = sorted(range(len(share)), key=share.__getitem__, reverse=True)[:5]
print(
    f"ResNet{DEEP} ({gradients.paths.n} blocks): gradient per path at lengths "
    + ", ".join(f"{gradients.lengths[i]}: {gradients.gradient[i]:.2e}" for i in range(0, len(gradients.lengths), 5))
)
print(
    f"the gradient is carried mostly by paths of length {sorted(gradients.lengths[k] for k in top)} "
    f"(paths average {gradients.paths.mean:g})"
)
show("gradients.png")

# %% [markdown]
# ## 4. Stochastic depth
#
# ResNet56 (quick: ResNet32) with p_L = 0.5, trained by the same recipe. The package's zero-initialised
# branches here: with the papers' initialisation this 56-layer net trains too slowly in a few epochs on
# 1,347 digits for its accuracies to say anything.

# %%
keras.utils.set_random_seed(0)
model = keras_resnet.build(f"ResNet{DEEP}", input_shape=x_train.shape[1:], classes=10, stochastic_depth=0.5)
analysis.fit(model, data, epochs=EPOCHS)
check = analysis.stochastic_depth_scaling(model, (x_test, y_test))
print(
    f"test accuracy with branches scaled by survival probability {check['scaled']:.3f}, unscaled "
    f"{check['unscaled']:.3f}"
)
