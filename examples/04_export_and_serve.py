# %% [markdown]
# # 04 Export for TF Serving and query it as the server would
#
# A ResNet-20 trained briefly on scikit-learn's digits is exported with `keras_resnet.serving.export` into TF
# Serving's layout (`saved_models/<name>/<version>/`), loaded back the way the server loads it, and
# queried through both signatures: `serving_default` (float pixels 0-255) and `serving_bytes` (encoded
# PNG/JPEG bytes, REST `{"b64": ...}`). Versions are numbered and never overwritten.
# `KERAS_RESNET_QUICK=1` trains for a few steps only.

# %%
import io
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import PIL.Image
import tensorflow as tf

from keras_resnet import training
from keras_resnet.serving import export
from keras_resnet.training import data

QUICK = os.environ.get("KERAS_RESNET_QUICK") == "1"
MODEL_DIR = "saved_models/digits_resnet20"

# %% [markdown]
# ## Train, then export
#
# `train` puts the training set's per-channel mean and standard deviation into the model (its first
# layer, "preprocessing"), so the export adds nothing: clients send raw 0-255 pixels and get what
# `model.predict` gives on them. The run's test images and answers travel with the export for `verify`.
# Each export adds the next integer version.

# %%
source = data.load("digits")
training.train(
    "ResNet20",
    "digits",
    epochs=1 if QUICK else 10,
    steps_per_epoch=4 if QUICK else None,
    output="runs/04_train",
    overwrite=True,
    verbose=2,
)
labels = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
options = dict(labels=labels, top_k=3)
first = export.export_saved_model("runs/04_train/final.keras", MODEL_DIR, **options)
second = export.export_saved_model("runs/04_train/final.keras", MODEL_DIR, **options)
print(first, second, "versions:", export.versions(MODEL_DIR))
try:
    export.export_saved_model("runs/04_train/final.keras", MODEL_DIR, version=1, **options)
except ValueError as error:
    print("refused:", error)
with open(export.write_models_config("saved_models")) as config:
    print(config.read())

# %% [markdown]
# ## Query the SavedModel as TF Serving does
#
# TF Serving loads the latest version with the `serve` tag and calls a signature by name with named
# inputs; no Keras and no keras_resnet code is involved. `tf.saved_model.load` does the same here.

# %%
served = tf.saved_model.load(export.version_dir(MODEL_DIR))
print("signatures:", list(served.signatures))
x_test = np.stack([image for image, _ in source.test.take(6).as_numpy_iterator()])
y_test = [int(label) for _, label in source.test.take(6).as_numpy_iterator()]
outputs = served.signatures["serving_default"](images=tf.constant(x_test, tf.float32))
print("serving_default classes:", outputs["classes"].numpy().tolist(), "true:", y_test)


def png(image):
    """An image as PNG bytes, what a client reads from a file."""
    buffer = io.BytesIO()
    PIL.Image.fromarray(image.squeeze()).save(buffer, format="PNG")
    return buffer.getvalue()


outputs = served.signatures["serving_bytes"](image_bytes=tf.constant([png(image) for image in x_test]))
for labels_k, scores_k, truth in zip(outputs["top_k_labels"].numpy(), outputs["top_k_scores"].numpy(), y_test):
    print(
        f"true {labels[truth]:>5}: "
        + ", ".join(f"{label.decode()} {score:.2f}" for label, score in zip(labels_k, scores_k))
    )

# %% [markdown]
# ## Verify the export the way the server loads it
#
# `verify` loads the version in a fresh process where importing keras or keras_resnet fails, with the
# `tf.compat.v1` Session loader and the signatures' tensor names (TF Serving's C++ path), compares both
# signatures with the trained model's answers on the run's test images, classifies the whole test split
# through both signatures beside the accuracy the run recorded, checks that a corrupt image fails only
# its own request, and prints `saved_model_cli show --all` and a ready `curl` request for the REST API
# (`examples/serve_rest.py` sends the same request for image files).

# %%
report = export.verify(MODEL_DIR, dataset="digits")
print(report)
assert report.ok, "the export does not serve what the Keras model computes"
