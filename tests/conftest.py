import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


@pytest.fixture
def images():
    """A function returning `n` random channels-last images of a given shape (0-1 floats)."""

    def make(shape, n=4):
        return np.random.default_rng(0).random((n, *shape), dtype=np.float32)

    return make
