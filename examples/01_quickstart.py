# %% [markdown]
# # 01 Quick start: a ResNet-50 in one line
#
# `keras_resnet.ResNet50(weights=None)` builds He et al.'s 50-layer ImageNet network with the
# keras.applications signature. This notebook prints its summary, draws its architecture (stages,
# blocks and widths) and runs a prediction on a real photograph that ships with scikit-learn, so
# nothing is downloaded.

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image

import keras_resnet

# %%
keras.utils.set_random_seed(0)  # the same random weights on every run
model = keras_resnet.ResNet50(weights=None)
print(
    f"{model.name}: {model.count_params():,} parameters, "
    f"{keras_resnet.flops(model) / 1e9:.2f}G multiply-adds per 224x224 image"
)
model.summary()

# %% [markdown]
# Every residual block is one Keras layer (`stage2_block3`...), so the summary reads like the paper's
# Table 1. Any other member of the family is one call away: `keras_resnet.available_models()` lists
# the names, `keras_resnet.build("cifar_resnet", depth=272)` builds any valid depth.

# %%
print(len(keras_resnet.available_models()), "models, for example", keras_resnet.available_models()[:6])
print("families:", keras_resnet.available_families())

# %% [markdown]
# ## The architecture
#
# One bar per layer of the graph after the input: its output channels (log scale) and, by colour, the
# spatial size it works at. The four stages of bottleneck blocks (3, 4, 6, 3 blocks; 256 to 2048
# channels, 56x56 down to 7x7) are plain to see. `keras.utils.plot_model(model, show_shapes=True)`
# draws the graph itself where the graphviz program is installed; this figure needs only matplotlib.

# %%
layers = [layer for layer in model.layers[1:] if len(layer.output.shape) == 4]
channels = [layer.output.shape[-1] for layer in layers]
sizes = [layer.output.shape[1] for layer in layers]
ordered = sorted(set(sizes), reverse=True)
colours = {size: plt.cm.viridis(i / (len(ordered) - 1)) for i, size in enumerate(ordered)}
figure, axis = plt.subplots(figsize=(11, 4))
axis.bar(range(len(layers)), channels, color=[colours[size] for size in sizes])
axis.set_xticks(range(len(layers)), [layer.name for layer in layers], rotation=90, fontsize="small")
axis.set(yscale="log", ylabel="output channels", title=f"{model.name}: layers after the input")
for size, colour in colours.items():
    axis.bar(0, 0, color=colour, label=f"{size}x{size}")
axis.legend(title="feature map", fontsize="small")
figure.tight_layout()
figure.savefig("resnet50_architecture.png", dpi=100)
plt.show()

# %% [markdown]
# ## Predict
#
# The model takes raw float images (like keras.applications' ResNets, without their preprocessing
# function). Untrained weights give meaningless classes; `weights="imagenet"` downloads
# keras.applications' file (md5 checked), converts it once and caches it, and offline says in one
# sentence where to place the file by hand (docs/weights.md).

# %%
photo = load_sample_image("china.jpg")  # 427x640 RGB, bundled with scikit-learn
image = keras.ops.convert_to_numpy(keras.ops.image.resize(photo.astype("float32"), (224, 224)))
probabilities = model.predict(image[None] / 255.0, verbose=0)[0]
top = np.argsort(probabilities)[::-1][:5]
print("top-5 classes:", top.tolist(), "probabilities:", ", ".join(f"{p:.4f}" for p in probabilities[top]))
print(f"sum {probabilities.sum():.4f}; uniform would be {1 / probabilities.size:.4f} each")

# %%
try:
    pretrained = keras_resnet.ResNet50(weights="imagenet")
    print("loaded keras.applications' ImageNet weights (downloaded or cached)")
except ValueError as error:
    print(error)
