"""Keras Tuner searches: real searches on the bundled digits, budgets, a resume after SIGKILL, bad input."""

import csv
import json
import os
import pathlib
import signal
import subprocess
import sys

import keras
import keras_tuner
import pytest

import keras_resnet
from keras_resnet import cli, data, tuning

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Tiny trials: 8x8 digits, depth 8-20, two short epochs (lr 0.4 at batch 32 is the recipe's 0.1 per 128 images).
QUICK = dict(epochs=2, batch_size=32, steps_per_epoch=25, lrs=[0.4], verbose=0)


def read_csv(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def test_search_trains_what_fits_the_budget_and_rejects_the_rest_untrained(tmp_path):
    # Two configurations, depth 8 (75,482 parameters) and depth 14 (over the budget): the random tuner
    # tries both and then stops, since its space is exhausted.
    summary = tuning.search("digits", tmp_path, families=["cifar_resnet"], depths=[8, 14], max_trials=3, max_params=80_000, **QUICK)
    rows = {row["depth"]: row for row in summary["rows"]}
    assert sorted(rows) == [8, 14] and summary["over_budget"] == 1
    trained, rejected = rows[8], rows[14]
    assert trained["status"] == "completed" and trained["params"] <= 80_000 < rejected["params"]
    assert rejected["status"] == tuning.OVER_BUDGET and rejected["val_accuracy"] is None
    assert rejected["flops"] > trained["flops"] > 0
    assert trained["val_accuracy"] > 0.25  # 10 classes: 50 steps learned something
    # The rejected trial never trained: keras-tuner saved no weights for it; the trained one has its checkpoint.
    assert not list((tmp_path / "search" / f"trial_{rejected['trial']}").glob("*.weights.h5"))
    assert list((tmp_path / "search" / f"trial_{trained['trial']}").glob("*.weights.h5"))

    table = read_csv(tmp_path / "results.csv")
    assert [(int(r["depth"]), r["status"], int(r["params"])) for r in table] == [
        (r["depth"], r["status"], r["params"]) for r in summary["rows"]
    ]
    assert (tmp_path / "results.png").read_bytes().startswith(b"\x89PNG")
    assert list((tmp_path / "logs").iterdir())  # TensorBoard, one folder per trial
    best = keras.saving.load_model(summary["model"])
    assert best.count_params() == trained["params"] and best.input_shape == (None, 8, 8, 1)
    assert 0.2 < summary["test_accuracy"] <= 1.0


def hyperband(directory):
    """The issue's notebook path: the HyperModel handed to keras_tuner.Hyperband."""
    hypermodel = tuning.ResNetHyperModel(
        (8, 8, 1), 10, families=["cifar_resnet", "preact_resnet"], depths=[8, 9, 11, 20],
        stochastic_depths=[1.0, 0.5], lrs=[0.2, 0.4], batch_size=32,
    )
    return keras_tuner.Hyperband(hypermodel, objective="val_accuracy", max_epochs=2, factor=2, directory=directory, seed=1)


def test_each_family_searches_only_its_own_depths(tmp_path):
    tuner = hyperband(tmp_path)
    # 9 is neither 6n+2 nor 9n+2; 11 is a bottleneck depth of cifar_resnet, 8 a basic one of preact_resnet.
    assert tuner.hypermodel.depths == {"cifar_resnet": [8, 11, 20], "preact_resnet": [8, 11, 20]}
    assert tuner.hypermodel.options["cifar_resnet", 11] == {"block": "bottleneck"}
    assert tuner.hypermodel.options["preact_resnet", 8] == {"block": "basic"}
    space = {hp.name: hp for hp in tuner.oracle.hyperparameters.space}
    assert set(space) == {"family", "cifar_resnet_depth", "preact_resnet_depth", "stochastic_depth", "lr", "weight_decay"}
    for family in ("cifar_resnet", "preact_resnet"):
        (condition,) = space[f"{family}_depth"].conditions
        assert condition.name == "family" and condition.values == [family]
    assert not space["lr"].conditions and space["weight_decay"].get_config()["value"] == 1e-4  # the recipe's, fixed


def test_attention_and_stem_are_hyperparameters_when_asked(tmp_path):
    hypermodel = tuning.ResNetHyperModel((64, 64, 3), 10, families=["cifar_resnet", "resnet"], depths=[8, 18],
                                         attentions=["none", "se", "eca"], stem_types=["default", "deep"])  # fmt: skip
    tuner = keras_tuner.RandomSearch(hypermodel, objective="val_accuracy", max_trials=30, directory=tmp_path, seed=0)
    space = {hp.name: hp for hp in tuner.oracle.hyperparameters.space}
    assert space["attention"].values == ["none", "se", "eca"] and space["stem_type"].values == ["default", "deep"]
    assert space["stem_type"].conditions[0].values == ["resnet"]  # the CIFAR stem has no deep form
    seen = set()
    for _ in range(30):
        hyperparameters = tuner.oracle.hyperparameters.copy()
        hyperparameters.values = tuner.oracle._random_values()  # a sample of the space as the oracle draws them
        hp = hyperparameters.values
        plan, params, _ = hypermodel.measure(hyperparameters)
        attention = {block.attention for block in plan.blocks}
        assert attention == {None if hp["attention"] == "none" else hp["attention"]}
        if plan.family == "resnet":
            assert plan.stem.kind == ("deep" if hp["stem_type"] == "deep" else "imagenet")
        seen.add((plan.family, hp["attention"], plan.stem.kind))
        assert params == sum(plan.parameters())
    assert len(seen) > 6
    with pytest.raises(ValueError, match=r"attention choices \['cbam'\] are not known"):
        tuning.ResNetHyperModel((32, 32, 3), 10, attentions=["cbam"])
    with pytest.raises(ValueError, match="stem_type choices were given but none of"):
        tuning.ResNetHyperModel((32, 32, 3), 10, families=["cifar_resnet"], stem_types=["deep"])


@pytest.mark.slow
def test_hyperband_search_with_our_own_pipelines(tmp_path):
    tuner = hyperband(tmp_path)
    source = data.load("digits")
    stats = source.stats()
    train = data.pipeline(source.train.skip(150), training=True, batch_size=32, stats=stats, flip=False)
    val = data.pipeline(source.train.take(150), training=False, batch_size=32, stats=stats)
    tuner.search(train, validation_data=val, steps_per_epoch=15, verbose=0)

    trials = list(tuner.oracle.trials.values())
    assert len(trials) >= 3 and all(t.status == "COMPLETED" for t in trials)
    for trial in trials:
        values = trial.hyperparameters.values
        depths = [name for name in values if name.endswith("_depth")]
        assert depths == [f"{values['family']}_depth"]  # only the chosen family's depth is active
    assert any(t.hyperparameters.values["tuner/epochs"] == 2 for t in trials)
    assert max(t.score for t in trials) > 0.2


def test_family_only_knobs_are_conditional():
    family = "cifar_resnext"
    hypermodel = tuning.ResNetHyperModel((32, 32, 3), 10, families=["cifar_resnet", family], depths=[11, 20, 29])
    hp = keras_tuner.HyperParameters()
    hypermodel.configure(hp)
    space = {hp.name: hp for hp in hp.space}
    for knob in ("cardinality", "bottleneck_width"):
        (condition,) = space[knob].conditions
        assert condition.name == "family" and family in condition.values and "cifar_resnet" not in condition.values


@pytest.mark.parametrize(
    "dataset, settings, message",
    [
        ("digits", dict(families=["cifar_resnot"]), r"families \['cifar_resnot'\] are not known"),
        ("digits", dict(families=[]), "families is empty"),
        ("digits", dict(depths=[9, 10]), r"none of depths=\[9, 10\] builds a cifar_resnet .*6n\+2"),
        ("digits", dict(families=["resnet"], depths=[18]), "none of depths=.* builds a resnet"),
        ("digits", dict(depths=[8], cardinalities=[4, 8]), "cardinality choices were given but none of families"),
        ("digits", dict(depths=[8], max_params=1000), "every configuration is over budget"),
        ("digits", dict(depths=[8], stochastic_depths=[0.0]), r"stochastic_depths=\(0.0,\) must be a list of numbers in \(0, 1\]"),
        ("digits", dict(depths=[8], lrs=[]), "lrs is empty"),
        ("digits", dict(depths=[8], tuner="grid"), "tuner='grid' is not known"),
        ("./no-such-folder", dict(depths=[8]), "does not exist"),
    ],
)
def test_bad_input_fails_before_any_trial(tmp_path, dataset, settings, message):
    with pytest.raises(ValueError, match=message):
        tuning.search(dataset, tmp_path / "search", **settings)
    assert not (tmp_path / "search").exists()


# Two fresh TensorFlow processes and three tiny trials: about a minute.
def test_a_killed_search_resumes_without_rerunning_finished_trials(tmp_path):
    command = [
        sys.executable, "-u", "-m", "keras_resnet", "tune", "--dataset", "digits", "--output", str(tmp_path),
        "--tuner", "bayesian", "--max-trials", "3", "--family", "cifar_resnet", "--depth", "8", "14",
        "--lr", "0.02", "0.05", "0.1", "--epochs", "1", "--batch-size", "32", "--steps-per-epoch", "10", "--verbose", "2",
    ]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in first.stdout:
        seen.append(line)
        if "Running Trial #2" in line:  # trial 1 is finished and saved; kill the search inside trial 2
            first.send_signal(signal.SIGKILL)
            break
    first.wait()
    assert first.returncode == -signal.SIGKILL, "".join(seen)
    finished = tmp_path / "search" / "trial_0" / "trial.json"
    assert json.loads(finished.read_text())["status"] == "COMPLETED"
    before = finished.read_bytes(), finished.stat().st_mtime_ns

    second = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Reloading Tuner" in second.stdout and "Running Trial #1" not in second.stdout
    assert (finished.read_bytes(), finished.stat().st_mtime_ns) == before  # trial 1 was not run again
    table = read_csv(tmp_path / "results.csv")
    assert [row["trial"] for row in table] == ["0", "1", "2"] and {row["status"] for row in table} == {"completed"}
    assert (tmp_path / "best.keras").exists() and "best: trial" in second.stdout


def test_tune_help_explains_every_flag(capsys):
    assert cli.main(["tune", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--tuner", "--max-trials", "--family", "--depth", "--cardinality", "--bottleneck-width", "--widen",
                 "--stochastic-depth", "--lr", "--weight-decay", "--max-params", "--max-flops", "--output", "--overwrite"):
        assert f"  {flag} " in out, flag
