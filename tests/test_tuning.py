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
import numpy as np
import pytest

from keras_resnet import cli, tuning
from keras_resnet.training import data

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Tiny trials: 8x8 digits, depth 8-20, two short epochs (lr 0.4 at batch 32 is the recipe's 0.1 per 128 images).
QUICK = dict(epochs=2, batch_size=32, steps_per_epoch=25, lrs=[0.4], verbose=0)


def read_csv(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def test_search_trains_what_fits_the_budget_and_rejects_the_rest_untrained(tmp_path):
    # Two configurations, depth 8 (75,482 parameters) and depth 14 (over the budget): the random tuner
    # tries both and then stops, since its space is exhausted.
    # In this process (workers=0): the budget logic is the same; a process per trial has its own test below.
    summary = tuning.search(
        "digits",
        tmp_path,
        families=["cifar_resnet"],
        depths=[8, 14],
        max_trials=3,
        max_params=80_000,
        workers=0,
        **QUICK,
    )
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
        (8, 8, 1),
        10,
        families=["cifar_resnet", "preact_resnet"],
        depths=[8, 9, 11, 20],
        stochastic_depths=[1.0, 0.5],
        lrs=[0.2, 0.4],
        batch_size=32,
    )
    return keras_tuner.Hyperband(
        hypermodel, objective="val_accuracy", max_epochs=2, factor=2, directory=directory, seed=1
    )


def test_each_family_searches_only_its_own_depths(tmp_path):
    tuner = hyperband(tmp_path)
    # 9 is neither 6n+2 nor 9n+2; 11 is a bottleneck depth of cifar_resnet, 8 a basic one of preact_resnet.
    assert tuner.hypermodel.depths == {"cifar_resnet": [8, 11, 20], "preact_resnet": [8, 11, 20]}
    assert tuner.hypermodel.options["cifar_resnet", 11] == {"block": "bottleneck"}
    assert tuner.hypermodel.options["preact_resnet", 8] == {"block": "basic"}
    space = {hp.name: hp for hp in tuner.oracle.hyperparameters.space}
    assert set(space) == {
        "family",
        "cifar_resnet_depth",
        "preact_resnet_depth",
        "stochastic_depth",
        "lr",
        "weight_decay",
    }
    for family in ("cifar_resnet", "preact_resnet"):
        (condition,) = space[f"{family}_depth"].conditions
        assert condition.name == "family" and condition.values == [family]
    assert not space["lr"].conditions and space["weight_decay"].get_config()["value"] == 1e-4  # the recipe's, fixed


def test_attention_and_stem_are_hyperparameters_when_asked(tmp_path):
    hypermodel = tuning.ResNetHyperModel(
        (64, 64, 3),
        10,
        families=["cifar_resnet", "resnet"],
        depths=[8, 18],
        attentions=["none", "se", "eca"],
        stem_types=["default", "deep"],
    )
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
        (
            "digits",
            dict(families=["resnet"], depths=[18]),
            r"none of depths=\[18\] builds a cifar_resnet for \(8, 8, 1\).*nearest valid: 14, 20",
        ),
        ("digits", dict(depths=[8], cardinalities=[4, 8]), "cardinality choices were given but none of families"),
        ("digits", dict(depths=[8], max_params=1000), "every configuration is over budget"),
        (
            "digits",
            dict(depths=[8], stochastic_depths=[0.0]),
            r"stochastic_depths=\(0.0,\) must be a list of numbers in \(0, 1\]",
        ),
        ("digits", dict(depths=[8], lrs=[]), "lrs is empty"),
        ("digits", dict(depths=[8], tuner="grid"), "tuner='grid' is not one of"),
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
        sys.executable,
        "-u",
        "-m",
        "keras_resnet",
        "tune",
        "--dataset",
        "digits",
        "--output",
        str(tmp_path),
        "--tuner",
        "bayesian",
        "--max-trials",
        "2",
        "--family",
        "cifar_resnet",
        "--depth",
        "8",
        "14",
        "--lr",
        "0.02",
        "0.05",
        "0.1",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--steps-per-epoch",
        "10",
        "--verbose",
        "2",
    ]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
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
    assert [row["trial"] for row in table] == ["0", "1"] and {row["status"] for row in table} == {"completed"}
    assert (tmp_path / "best.keras").exists() and "best: trial" in second.stdout


def test_tune_help_explains_every_flag(capsys):
    assert cli.main(["tune", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in (
        "--tuner",
        "--max-trials",
        "--family",
        "--depth",
        "--cardinality",
        "--bottleneck-width",
        "--widen",
        "--stochastic-depth",
        "--lr",
        "--weight-decay",
        "--max-params",
        "--max-flops",
        "--output",
        "--overwrite",
    ):
        assert f"  {flag} " in out, flag


def test_an_imagenet_family_on_small_images_searches_its_cifar_form_with_its_named_knobs():
    # `tune --family resnext --dataset digits` failed: "none of depths=[20, 29, 56] builds a resnext for (8, 8, 1)".
    hypermodel = tuning.ResNetHyperModel((8, 8, 1), 10, families=["resnext"])
    assert hypermodel.families == ("cifar_resnext",)
    assert hypermodel.note == (
        "8x8 images are small for an ImageNet stem: searching cifar_resnext for resnext (the papers' CIFAR form)"
    )
    # Depth 29, as the family's named models (ResNeXt29_8x64d, _16x64d); their 64 channels a group are sized
    # for 32x32 images: on 8x8 ones the ImageNet template's 4 channels a group, over cardinalities 4 to 32.
    assert hypermodel.depths == {"cifar_resnext": [29]}
    assert hypermodel.knobs == {"bottleneck_width": (4,), "cardinality": (4, 8, 16, 32)}
    cifar = tuning.ResNetHyperModel((32, 32, 3), 10, families=["cifar_resnext"])
    assert cifar.knobs == {"bottleneck_width": (64,), "cardinality": (8, 16)}
    # Each family its own named depths (at most three, none of the 1000-layer ones); large images keep the family.
    default = tuning.ResNetHyperModel((32, 32, 3), 10, families=["cifar_resnet", "preact_resnet"])
    assert default.depths == {"cifar_resnet": [20, 32, 44], "preact_resnet": [110, 164]} and default.note == ""
    wide = tuning.ResNetHyperModel((64, 64, 3), 10, families=["wide_resnet"])
    assert (
        wide.families == ("wide_resnet",)
        and wide.depths == {"wide_resnet": [50, 101]}
        and wide.knobs == {"widen": (2,)}
    )
    assert tuning.ResNetHyperModel((8, 8, 1), 10, families=["resnet"], depths=[8]).families == ("cifar_resnet",)


def test_results_png_labels_every_searched_knob():
    rows = [
        dict(
            trial=str(i),
            family="cifar_resnext",
            depth=29,
            cardinality=c,
            bottleneck_width=64,
            lr=lr,
            status="completed",
            params=1000 * (i + 1),
            flops=5000 * (i + 1),
            val_accuracy=0.5,
        )
        for i, (c, lr) in enumerate([(8, 0.1), (16, 0.1), (8, 0.05)])
    ]
    assert tuning.point_labels(rows) == ["29 c8 lr0.1", "29 c16 lr0.1", "29 c8 lr0.05"]


def test_tune_help_lists_each_recipe_and_the_process_flags(capsys):
    assert cli.main(["tune", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "cifar_fast: 30 epochs, batch 256, lr 0.2, cosine" in out and "wrn: 200 epochs" in out
    for flag in ("--workers", "--cpu-devices", "--recipe"):
        assert f" {flag} " in out, flag


def test_worker_processes_need_a_data_set_by_name(tmp_path):
    x, y = np.zeros((20, 8, 8, 1), "uint8"), np.arange(20) % 10
    with pytest.raises(
        ValueError, match="worker processes load the data set by name: pass a name or a folder, or workers=0"
    ):
        tuning.search((x, y), tmp_path / "search", depths=[8])
    with pytest.raises(ValueError, match=r"workers=-1 must be a whole number of at least 0"):
        tuning.search("digits", tmp_path / "search", workers=-1)
    assert not (tmp_path / "search").exists()


# The promise: a chief and 2 workers on 127.0.0.1, 4 short trials on the digits, a process per trial.
def test_a_chief_and_two_workers_run_a_search_a_process_per_trial(tmp_path, capsys):
    summary = tuning.search(
        "digits",
        tmp_path,
        workers=2,
        families=["resnet_v2", "cifar_resnet"],
        depths=[8],
        lrs=[0.2, 0.4],
        max_trials=4,
        epochs=1,
        batch_size=32,
        steps_per_epoch=8,
        verbose=1,
    )
    out = capsys.readouterr().out
    assert "tune: 8x8 images are small for an ImageNet stem: searching preact_resnet for resnet_v2" in out
    rows = summary["rows"]
    assert len(rows) == 4 and {row["status"] for row in rows} == {"completed"}, rows
    assert {(row["family"], row["lr"]) for row in rows} == {
        (f, lr) for f in ("preact_resnet", "cifar_resnet") for lr in (0.2, 0.4)
    }
    assert {row["worker"] for row in rows} == {"worker0", "worker1"}  # both workers ran trials
    pids = {
        json.loads((tmp_path / "search" / f"trial_{row['trial']}" / "worker.json").read_text())["pid"] for row in rows
    }
    assert len(pids) == 4 and os.getpid() not in pids  # a fresh process per trial, none of them this one
    assert all(row["peak_rss_mb"] > 100 for row in rows)
    table = read_csv(tmp_path / "results.csv")
    assert [r["worker"] for r in table] == [row["worker"] for row in rows]
    assert (tmp_path / "results.png").read_bytes().startswith(b"\x89PNG")
    # best.keras, written once by the chief, loads in a fresh process without a warning (no optimizer in it).
    loaded = subprocess.run(
        [
            sys.executable,
            "-W",
            "always",
            "-c",
            "import keras_resnet, keras, sys; "
            f"m = keras.saving.load_model({str(tmp_path / 'best.keras')!r}); print(m.count_params())",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert loaded.returncode == 0 and int(loaded.stdout) == summary["best"]["params"], loaded.stderr
    assert "Warning" not in loaded.stderr and "optimizer" not in loaded.stderr, loaded.stderr


def _lines_until(process, pattern, seen):
    import re

    for line in process.stdout:
        seen.append(line)
        found = re.search(pattern, line)
        if found:
            return found
    raise AssertionError("".join(seen))


# Killing a worker's process mid-trial loses that trial only (it runs again); killing the chief takes its workers
# with it, and the same command resumes the search.
@pytest.mark.slow
def test_a_killed_worker_loses_its_trial_only_and_a_killed_chief_resumes(tmp_path):
    command = [
        sys.executable,
        "-u",
        "-m",
        "keras_resnet",
        "tune",
        "--dataset",
        "digits",
        "--output",
        str(tmp_path),
        "--workers",
        "2",
        "--max-trials",
        "4",
        "--depth",
        "8",
        "14",
        "--lr",
        "0.2",
        "0.4",
        "--epochs",
        "2",
        "--batch-size",
        "32",
        "--steps-per-epoch",
        "20",
        "--verbose",
        "2",
        "--strategy",
        "mirrored",
        "--cpu-devices",
        "2",
    ]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    chief = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    seen = []
    try:
        started = _lines_until(chief, r"tune: trial (\d+) on (worker\d) \(pid (\d+)\)", seen)
        victim, pid = started[1], int(started[3])
        _lines_until(chief, r"Epoch 1/2", seen)  # a worker is training
        os.kill(pid, signal.SIGKILL)
        _lines_until(
            chief, rf"the process running trial {victim} on {started[2]} ended with exit status -9; it runs again", seen
        )
        _lines_until(chief, r"tune: trial 3 on", seen)  # ids have as many digits as max_trials
        workers = [int(p) for p in __import__("re").findall(r"\(pid (\d+)\)", "".join(seen))]
        chief.send_signal(signal.SIGKILL)
        chief.wait()
    finally:
        chief.kill()
    for _ in range(50):  # the chief's workers follow it within a second or two
        alive = [
            p
            for p in workers
            if os.path.exists(f"/proc/{p}") and "zombie" not in pathlib.Path(f"/proc/{p}/status").read_text().lower()
        ]
        if not alive:
            break
        __import__("time").sleep(0.2)
    assert not alive, alive
    again = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "Reloading Tuner" in again.stdout
    rows = read_csv(tmp_path / "results.csv")
    assert len(rows) == 4 and {row["status"] for row in rows} == {"completed"}, rows
    record = json.loads((tmp_path / "search" / f"trial_{victim}" / "worker.json").read_text())
    assert record["pid"] != pid and record["peak_rss_mb"] > 0  # the killed trial ran again, in another process
    assert {row["worker"] for row in rows} <= {"worker0", "worker1"}
    assert keras.saving.load_model(tmp_path / "best.keras").output_shape == (None, 10)


# The cluster path on one machine: a chief from keras-tuner's variables with no local workers, and a worker
# "machine" that joins it from the same variables, running the same command.
@pytest.mark.slow
def test_a_chief_and_a_remote_worker_join_from_keras_tuners_variables(tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "keras_resnet",
        "tune",
        "--dataset",
        "digits",
        "--output",
        str(tmp_path),
        "--max-trials",
        "2",
        "--depth",
        "8",
        "--lr",
        "0.2",
        "0.4",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--steps-per-epoch",
        "5",
        "--verbose",
        "0",
    ]
    cluster = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KERASTUNER_ORACLE_IP": "127.0.0.1",
        "KERASTUNER_ORACLE_PORT": str(port),
    }
    chief = subprocess.Popen(
        [*command, "--workers", "0"],
        cwd=ROOT,
        env={**cluster, "KERASTUNER_TUNER_ID": "chief"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    worker = subprocess.run(
        command,
        cwd=ROOT,
        env={**cluster, "KERASTUNER_TUNER_ID": "gpu-host-1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    out, err = chief.communicate(timeout=300)
    assert worker.returncode == 0 and "gpu-host-1 ran 2 trials; the chief writes the results" in worker.stdout, (
        worker.stderr[-3000:]
    )
    assert chief.returncode == 0 and "best: trial" in out, err[-3000:]
    rows = read_csv(tmp_path / "results.csv")
    assert [row["worker"] for row in rows] == ["gpu-host-1", "gpu-host-1"] and {r["status"] for r in rows} == {
        "completed"
    }
