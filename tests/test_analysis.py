"""keras_resnet.research.analysis: path lengths, lesions, gradient per path length, stochastic depth, degradation."""

import math
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_resnet
from keras_resnet import cli
from keras_resnet.research import analysis

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The shared data sit in ../shared/data of the checkout (or of a folder above a worktree).
CIFAR = next((p / "shared/data/cifar10_jpeg" for p in ROOT.parents if (p / "shared/data/cifar10_jpeg").is_dir()), ROOT)


@pytest.fixture(scope="module")
def digits():
    return analysis.digits()


@pytest.fixture(scope="module")
def trained(digits):
    """ResNet-20 with stochastic depth (p_L = 0.5), trained 3 epochs on the digits: ~90% test accuracy."""
    keras.utils.set_random_seed(0)
    model = keras_resnet.ResNet20(input_shape=(8, 8, 1), classes=10, stochastic_depth=0.5, zero_init_residual=False)
    analysis.fit(model, digits, epochs=3)
    return model


def untrained(name, **options):
    keras.utils.set_random_seed(1)
    return keras_resnet.build(name, input_shape=(8, 8, 1), classes=10, **options)


def without(model, name):
    """A functional model on the same layers that leaves the layer `name` out of the chain."""
    x = inputs = keras.Input(model.input_shape[1:])
    for layer in analysis.chain(model):
        x = x if layer.name == name else layer(x)
    return keras.Model(inputs, x)


@pytest.mark.parametrize("n", [0, 1, 9, 54, 200])
def test_path_length_counts_are_the_binomial_coefficients(n):
    paths = analysis.path_lengths(n)
    assert paths.counts == [math.comb(n, k) for k in range(n + 1)]
    assert sum(paths.counts) == 2**n and math.isclose(sum(paths.probabilities), 1.0)
    assert math.isclose(sum(k * p for k, p in enumerate(paths.probabilities)), paths.mean)
    low, high = paths.interval(0.95)
    assert sum(paths.probabilities[low : high + 1]) >= 0.95
    assert low == 0 or sum(paths.probabilities[low + 1 : high]) < 0.95  # and no narrower range does


def test_path_lengths_of_resnet110_are_binomial_54():
    paths = analysis.path_lengths("ResNet110")
    assert paths.n == 54 and paths.interval(0.95) == (20, 34)  # Veit et al.: "95% ... between 19 and 35"
    assert analysis.path_lengths(untrained("PlainNet20")).n == 0
    with pytest.raises(ValueError, match="number of blocks"):
        analysis.path_lengths(-3)


def test_lesion_equals_a_model_built_without_the_branch(images):
    model = untrained("ResNet20", zero_init_residual=False)  # non-zero branches: a lesion shows
    removed = ["stage2_block1", "stage3_block3"]  # a zero-padding and an identity shortcut
    config = model.get_config()
    for layer in config["layers"]:
        if layer["config"]["name"] in removed:
            layer["config"]["active"] = False
    built_without = keras.Model.from_config(config)
    built_without.set_weights(model.get_weights())
    x = images((8, 8, 1), n=16)
    lesioned = analysis.lesioned_model(model)
    lesioned.set_mask(names_off=removed)
    out = lesioned.predict(x, verbose=0)
    np.testing.assert_allclose(out, built_without.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert np.abs(out - model.predict(x, verbose=0)).max() > 1e-3
    # An identity shortcut then a ReLU of a ReLU's output: the lesioned block drops out of the chain.
    lesioned.set_mask(names_off=["stage1_block2"])
    np.testing.assert_allclose(
        lesioned.predict(x, verbose=0), without(model, "stage1_block2").predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_lesions_reuse_one_trace_and_plain_blocks_pass_their_input(images):
    model = untrained("PlainNet20")
    assert "stage2_block1" not in analysis.removable_blocks(model)  # it changes the shape
    lesioned = analysis.lesioned_model(model)
    x = images((8, 8, 1), n=16)
    np.testing.assert_allclose(lesioned.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    traces = lesioned.traces
    for name in ("stage1_block1", "stage2_block2", "stage3_block3"):
        lesioned.set_mask(names_off=[name])
        np.testing.assert_allclose(
            lesioned.predict(x, verbose=0), without(model, name).predict(x, verbose=0), rtol=1e-5, atol=1e-6
        )
    assert lesioned.traces == traces


def test_lesion_study_table_and_plot(trained, digits, tmp_path):
    test = digits[1]
    result = analysis.lesion(trained, test, max_removed=3, draws=2, plot=tmp_path / "lesion.png")
    assert result.baseline == pytest.approx(trained.evaluate(*test, verbose=0)[1], abs=1e-6)
    assert result.baseline > 0.8
    assert list(result.single) == [f"stage{s}_block{b}" for s in (1, 2, 3) for b in (1, 2, 3)]
    assert [len(a) for a in result.random.values()] == [2, 2, 2]
    assert len(result.rows()) == 1 + 9 + 3 and "stage3_block3" in result.table()
    assert (tmp_path / "lesion.png").stat().st_size > 10_000
    with pytest.raises(ValueError, match="choose from"):
        analysis.lesion(trained, test, blocks=["stage9_block1"])


def test_gradient_per_path_is_finite_and_decreases_with_length(trained, digits, tmp_path):
    x, y = digits[1]
    result = analysis.gradient_by_path_length(trained, (x[:64], y[:64]), samples=4, plot=tmp_path / "g.png")
    gradient = np.array(result.gradient)
    assert result.lengths == list(range(10)) and np.all(np.isfinite(gradient)) and np.all(gradient > 0)
    assert np.corrcoef(result.lengths, np.log(gradient))[0, 1] < -0.8  # roughly exponential decay
    assert gradient[:3].mean() > 10 * gradient[-3:].mean()
    assert len(result.total) == 10 and (tmp_path / "g.png").exists()
    with pytest.raises(ValueError, match="no shortcuts"):
        analysis.gradient_by_path_length(untrained("PlainNet20"), (x[:4], y[:4]))


def test_stochastic_depth_unscaled_equals_the_net_without_stochastic_depth(trained, digits):
    check = analysis.stochastic_depth_scaling(trained, digits[1])
    assert check["scaled"] == pytest.approx(trained.evaluate(*digits[1], verbose=0)[1], abs=1e-6)
    twin = keras_resnet.ResNet20(input_shape=(8, 8, 1), classes=10)  # survival 1: branches added in full
    for layer in twin.layers:
        layer.set_weights(trained.get_layer(layer.name).get_weights()[: len(layer.get_weights())])
    x, y = digits[1]
    assert check["unscaled"] == pytest.approx(np.mean(np.argmax(twin.predict(x, verbose=0), axis=1) == y), abs=1e-6)
    with pytest.raises(ValueError, match="no stochastic depth"):
        analysis.stochastic_depth_scaling(untrained("ResNet20"), digits[1])


@pytest.mark.slow
def test_degradation_returns_curves_and_the_figure(digits, tmp_path):
    (x, y), (xt, yt) = digits
    runs = analysis.degradation(
        ["PlainNet20", "ResNet20"],
        ((x[:256], y[:256]), (xt[:64], yt[:64])),
        epochs=2,
        plot=tmp_path / "fig1.png",
        log_dir=tmp_path / "logs",
    )
    for run in runs.values():
        assert len(run.train_error) == len(run.test_error) == 2 and all(0 <= e <= 1 for e in run.test_error)
    assert not runs["ResNet20"].model.get_layer("stage1_block1").zero_init  # the papers' initialisation
    assert (tmp_path / "fig1.png").stat().st_size > 10_000 and (tmp_path / "logs" / "ResNet20").is_dir()
    with pytest.raises(ValueError, match="Unknown model"):
        analysis.degradation(["ResNet21"], digits, epochs=1)


def test_cli_lesion_and_paths(tmp_path, capsys):
    model = untrained("ResNet20", zero_init_residual=False)
    model.save(tmp_path / "model.keras")
    args = ["lesion", str(tmp_path / "model.keras"), "--dataset", "digits", "--max-removed", "2", "--draws", "1"]
    assert cli.main([*args, "--png", str(tmp_path / "lesion.png")]) == 0
    out = capsys.readouterr().out
    assert "stage3_block3" in out and "2 random" in out and (tmp_path / "lesion.png").exists()
    assert cli.main(["paths", "ResNet20"]) == 0
    out = capsys.readouterr().out
    assert "9 residual blocks" in out and "126" in out  # C(9, 4)
    assert cli.main(["lesion", str(tmp_path / "missing.keras"), "--dataset", "digits"]) == 2
    assert cli.main(["lesion", str(tmp_path / "model.keras"), "--dataset", "nothing_here"]) == 2
    assert "neither 'digits'" in capsys.readouterr().err


def test_cli_help_explains_the_analysis_commands(capsys):
    for command in ("lesion", "paths"):
        assert cli.main([command, "--help"]) == 0
        assert "--png" in capsys.readouterr().out


def test_cli_lesion_reads_a_folder_in_a_fresh_process(tmp_path):
    # The path a user takes: a saved model, then `keras-resnet lesion --dataset <folder>` in a new process; the
    # folder's 12x12 RGB images are brought to the model's 8x8 grey input by the data loader's reader.
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (tmp_path / "images" / label).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype="uint8")).save(
                tmp_path / "images" / label / f"{i}.png"
            )
    untrained("ResNet20", zero_init_residual=False).save(tmp_path / "model.keras")
    command = ["lesion", str(tmp_path / "model.keras"), "--dataset", str(tmp_path / "images"), "--max-removed", "1"]
    result = subprocess.run(
        [sys.executable, "-m", "keras_resnet.cli", *command, "--draws", "1"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "stage3_block3" in result.stdout and "1 random (mean of 1)" in result.stdout, result.stdout


@pytest.mark.slow
@pytest.mark.skipif(CIFAR == ROOT, reason="needs ../shared/data/cifar10_jpeg")
def test_lesion_reads_a_folder_of_class_subfolders(tmp_path):
    import tarfile

    archive = next(CIFAR.glob("*.tar.gz"))
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if "/test/" in f"/{m.name}" and m.name.endswith("000.jpg")][:20]
        tar.extractall(tmp_path, members=members, filter="data")
    folder = next(p.parent.parent for p in tmp_path.rglob("*.jpg"))
    x, y = analysis.load_test_data(folder, (32, 32, 3))
    assert x.shape[1:] == (32, 32, 3) and x.min() >= 0 and 1 < x.max() <= 255 and len(set(y)) > 1
    result = analysis.lesion(keras_resnet.ResNet20(classes=10), (x, y), max_removed=1, draws=1)
    assert len(result.single) == 9


@pytest.mark.slow
def test_single_lesions_hurt_a_trained_plain_net_more_than_a_residual_net(digits):
    drops = {}
    for name in ("ResNet20", "PlainNet20"):
        keras.utils.set_random_seed(0)
        model = keras_resnet.build(name, input_shape=(8, 8, 1), classes=10, zero_init_residual=False)
        analysis.fit(model, digits, epochs=8)
        result = analysis.lesion(model, digits[1], max_removed=1, draws=1)
        drops[name] = result.baseline - np.median(list(result.single.values()))
    assert drops["PlainNet20"] > drops["ResNet20"] + 0.2
