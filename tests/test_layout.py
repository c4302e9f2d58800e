"""The move to subpackages: old import paths warn and still work for a release, and files written by the
flat layout load with the same outputs."""

import importlib
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest

import keras_resnet
from keras_resnet import _moved

DATA = pathlib.Path(__file__).parent / "data"
# The flat modules the brief's users wrote, with a name each one must still give.
OLD_PATHS = {
    "export": "export_saved_model",
    "zoo": "build",
    "data": "load",
    "analysis": "degradation",
    "checks": "check",
    "optimizer": "RecipeSchedule",
    "pretrained": "available_weights",
}


@pytest.mark.parametrize("old", sorted(_moved.MOVED))
def test_an_old_module_path_warns_and_is_the_new_module(old):
    new = importlib.import_module(f"keras_resnet.{_moved.MOVED[old]}")
    sys.modules.pop(f"keras_resnet.{old}", None)
    with pytest.warns(DeprecationWarning, match=rf"keras_resnet\.{old} moved to keras_resnet\.{_moved.MOVED[old]}"):
        module = importlib.import_module(f"keras_resnet.{old}")
    assert module is new
    assert module.__spec__.name == new.__name__  # the new module keeps its own identity
    if old in OLD_PATHS:
        assert getattr(module, OLD_PATHS[old]) is getattr(new, OLD_PATHS[old])


def test_importing_the_old_flops_module_leaves_the_function_in_its_place():
    # The import system binds a loaded submodule on its package; `flops` is also the package's function.
    sys.modules.pop("keras_resnet.flops", None)
    with pytest.warns(DeprecationWarning):
        import keras_resnet.flops  # noqa: F401
    assert keras_resnet.flops is importlib.import_module("keras_resnet.models.flops").flops
    assert callable(keras_resnet.flops)


def test_the_warning_points_at_the_users_line_and_shows_by_default():
    script = "import keras_resnet.zoo\nfrom keras_resnet import export\nimport keras_resnet\nkeras_resnet.paths\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    lines = [line for line in result.stderr.splitlines() if "DeprecationWarning" in line]
    assert [line.split(": ")[0] for line in lines] == ["<string>:1", "<string>:2", "<string>:4"], result.stderr


def test_the_same_named_packages_keep_their_functions():
    from keras_resnet import training, tuning, weights

    assert training.train is importlib.import_module("keras_resnet.training.loop").train
    assert tuning.search is importlib.import_module("keras_resnet.tuning.tuner").search
    assert weights.load is importlib.import_module("keras_resnet.weights.convert").load
    assert keras_resnet.zoo.build is keras_resnet.build
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the current paths do not warn
        from keras_resnet.serving import export  # noqa: F401
        from keras_resnet.training import data, loop, optimizer, recipes  # noqa: F401


def test_a_model_file_written_by_the_flat_layout_loads_with_the_same_outputs():
    """layout_v0.keras was saved by the code before the move (tests/data/make_layout_fixture.py): blocks, the
    preprocessing layer and an optimizer with the recipe's schedule, whose module was keras_resnet.optimizer."""
    import keras

    expected = np.load(DATA / "layout_v0.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # loading needs none of the old paths
        model = keras.saving.load_model(DATA / "layout_v0.keras")
    schedule = model.optimizer.learning_rate if hasattr(model.optimizer, "learning_rate") else None
    assert type(model.optimizer._learning_rate).__module__ == "keras_resnet.training.optimizer", schedule
    np.testing.assert_allclose(model.predict(expected["images"], verbose=0), expected["outputs"], rtol=1e-5, atol=1e-6)
    model.train_on_batch(expected["images"], np.array([0, 1, 2, 3]))  # the restored optimizer steps on
