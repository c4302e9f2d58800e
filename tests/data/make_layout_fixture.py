"""Write tests/data/layout_v0.{keras,npz}: a model saved by the flat-module layout (before the subpackages).

The file holds what a user's `.keras` holds after training with this package: the residual blocks, the
preprocessing layer, a compiled optimizer with the recipe's learning-rate schedule and one step of state.
tests/test_layout.py loads it with today's code and checks the same outputs. It was written at commit 092d6e9
with `python tests/data/make_layout_fixture.py`; running it again only rewrites it with the current code.
"""

from pathlib import Path

import keras
import numpy as np

import keras_resnet
from keras_resnet import optimizer, recipes

HERE = Path(__file__).parent

keras.utils.set_random_seed(0)
model = keras_resnet.build(
    "cifar_resnet",
    depth=8,
    input_shape=(16, 16, 3),
    classes=4,
    preprocessing={"mean": [125.3, 123.0, 113.9], "std": [63.0, 62.1, 66.7]},
)
optimizer.compile_model(model, recipes.get_recipe("cifar", epochs=2), steps_per_epoch=2, global_batch=4)
images = np.random.default_rng(0).uniform(0, 255, (4, 16, 16, 3)).astype("float32")
model.train_on_batch(images, np.array([0, 1, 2, 3]))
model.save(HERE / "layout_v0.keras")
np.savez(HERE / "layout_v0.npz", images=images, outputs=model.predict(images, verbose=0))
