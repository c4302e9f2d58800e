"""Bad inputs and faults a hostile or careless user brings (issue 34): each is refused early in one
sentence (or bounded), never a hang, a traceback, a claimed folder or a silent score. Real processes,
files and servers; docs/reliability.md lists each promise with its test.
"""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import keras_resnet
from keras_resnet import cli

ROOT = pathlib.Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}


def refused(capsys, argv, *words, code=2):
    """Run the CLI in this process: it must exit `code` with one line on stderr holding `words`."""
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "\x1b[" not in err, err
    assert all(word in err for word in words), err
    return err


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    """An untrained ResNet-20 for the 8x8 digits (10 classes), saved as a .keras file."""
    path = tmp_path_factory.mktemp("model") / "r20.keras"
    keras_resnet.ResNet20(input_shape=(8, 8, 1), classes=10).save(path)
    return path


@pytest.fixture(scope="module")
def exported(digits_model, tmp_path_factory):
    """`digits_model` exported for TF Serving: its version folder."""
    from keras_resnet.serving import export

    return export.export_saved_model(str(digits_model), tmp_path_factory.mktemp("exported") / "r20")


def test_a_batch_larger_than_any_recipe_is_refused_at_once_not_a_hang(tmp_path):
    # Before: "1 epochs of 1 steps of 100000000 images", then no progress for 11+ minutes.
    output = tmp_path / "run"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "keras_resnet",
            "train",
            "--model",
            "ResNet20",
            "--dataset",
            "digits",
            "--epochs",
            "1",
            "--batch-size",
            "100000000",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )
    assert run.returncode == 2 and "batch_size=100000000" in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert not output.exists()


def test_a_batch_larger_than_the_training_split_is_refused_before_the_folder_is_claimed(tmp_path, capsys):
    output = tmp_path / "run"
    argv = ["train", "--model", "ResNet20", "--dataset", "digits", "--epochs", "1", "--output", str(output)]
    refused(capsys, [*argv, "--batch-size", "5000"], "1,347 training images", "--batch-size 1347 or less")
    assert not output.exists()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["2000"], ["blocks=2000", "[0, 1000]"]),  # before: OverflowError traceback
        (["30000"], ["blocks=30000"]),  # before: still running after 2 minutes
        (["ResNet20", "--mass", "7"], ["mass=7.0"]),
        (["ResNet20", "--mass", "0"], ["mass=0.0"]),
        (["ResNet20", "--mass", "-1"], ["mass=-1.0"]),
        (["²"], ["Unknown model"]),  # before: int('²') traceback (str.isdigit accepts it)
    ],
)
def test_paths_refuses_too_many_blocks_and_a_mass_outside_0_1(argv, words, capsys):
    refused(capsys, ["paths", *argv], *words)


def test_paths_of_the_deepest_allowed_net_is_quick(capsys):
    assert cli.main(["paths", "1000"]) == 0
    assert "2^1000 = 1.072e+301 paths" in capsys.readouterr().out


def lesion_npz(path, x, y):
    np.savez(path, x=x, y=y)
    return str(path)


@pytest.mark.parametrize(
    "case, flags, words",
    [
        ("nan", [], ["image at index 0 holds NaN"]),  # before: scored silently, accuracy 0.1000
        ("labels 50-59", [], ["label 50 at index 0", "0 to 9 for 10 classes"]),  # before: accuracy 0.0000
        ("16x16 images", [], ["(16, 16, 1)", "takes (8, 8, 1)"]),  # before: a multi-line Keras error
        ("good", ["--batch-size", "0"], ["batch_size=0"]),  # before: accepted
        ("good", ["--batch-size", "-5"], ["batch_size=-5"]),  # before: "Invalid value in tensor used for shape"
        ("good", ["--draws", "-1"], ["draws=-1"]),  # before: printed nan
    ],
)
def test_lesion_refuses_bad_test_data_and_numbers_in_one_sentence(case, flags, words, digits_model, tmp_path, capsys):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 16, (20, 8, 8, 1)).astype("float32"), np.arange(20) % 10
    if case == "nan":
        x[:] = np.nan
    if case == "labels 50-59":
        y = y + 50
    if case == "16x16 images":
        x = rng.uniform(0, 16, (20, 16, 16, 1)).astype("float32")
    data = lesion_npz(tmp_path / "test.npz", x, y)
    refused(capsys, ["lesion", str(digits_model), "--dataset", data, *flags], *words)


def test_a_test_label_beyond_the_training_classes_is_refused_by_index():
    from keras_resnet.training import loop

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (30, 8, 8, 1)).astype("float32")
    y_test = np.arange(30) % 10
    y_test[7] = 12  # before: accepted silently (only the training split was checked)
    with pytest.raises(ValueError, match=r"test label 12 at index 7 .* 0 to 9 for 10 classes"):
        loop.train("ResNet20", ((x, np.arange(30) % 10), (x, y_test)), epochs=1, verbose=0)


def test_a_run_refused_for_its_freeze_option_claims_nothing(tmp_path, capsys):
    # Before: one clear sentence, but the folder already held the lock and config.json, so the corrected
    # command was refused as "a different train run".
    output = tmp_path / "run"
    argv = ["train", "--model", "ResNet20", "--dataset", "digits", "--epochs", "1", "--output", str(output)]
    refused(capsys, [*argv, "--freeze", "stage9"], "freeze='stage9' is not a part of ResNet20", "stage3")
    assert not output.exists()


def test_a_claim_whose_run_fails_before_writing_is_given_back(tmp_path):
    from keras_resnet.utils import files

    new, used = tmp_path / "new", tmp_path / "used"
    used.mkdir()
    for output in (new, used):
        with pytest.raises(ValueError, match="late"), files.claim(output, "train", {"a": 1}, ["history.csv"]):
            raise ValueError("late")
    assert not new.exists() and sorted(p.name for p in used.iterdir()) == [files.LOCK]
    with files.claim(used, "train", {"a": 2}, ["history.csv"]):  # the corrected run takes the folder
        (used / "history.csv").write_text("epoch\n")
    with pytest.raises(ValueError, match="late"), files.claim(used, "train", {"a": 2}, ["history.csv"]):
        raise ValueError("late")
    assert (used / files.CONFIG).exists()  # a resumed run's claim is kept: it holds that run's files


def test_a_non_ascii_digit_folder_in_a_model_folder_is_not_a_version(digits_model, tmp_path, capsys):
    from keras_resnet.serving import export

    target = tmp_path / "base" / "r20"
    (target / "²").mkdir(parents=True)  # before: every export failed, "invalid literal for int(): '²'"
    assert export.versions(target) == []
    assert cli.main(["export", str(digits_model), "--base", str(tmp_path / "base"), "--name", "r20"]) == 0
    assert export.versions(target) == [1]


def test_an_export_never_writes_through_a_symlinked_model_folder(digits_model, tmp_path, capsys):
    elsewhere, base = tmp_path / "elsewhere", tmp_path / "base"
    elsewhere.mkdir()
    base.mkdir()
    (base / "r20").symlink_to(elsewhere)
    refused(
        capsys, ["export", str(digits_model), "--base", str(base), "--name", "r20"], "symbolic link", "remove the link"
    )
    assert list(elsewhere.iterdir()) == []  # before: version 1 was written there, outside --base


@pytest.mark.slow  # two searches of two trials, a process per trial: about 80 s
def test_a_finished_search_run_again_trains_nothing_and_says_so(tmp_path):
    # Before: "Search: Running Trial #2" again; keras-tuner saves oracle.json before it removes the ended
    # trial from its ongoing ones, so a reload sent the last finished trial for a retry.
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
        "0.05",
        "0.1",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--steps-per-epoch",
        "2",
        "--verbose",
        "2",
    ]
    first = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    trials = sorted((tmp_path / "search").glob("trial_*/trial.json"))
    before = [(path.read_bytes(), path.stat().st_mtime_ns) for path in trials]
    second = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Running Trial" not in second.stdout and "had finished (2 trials ended)" in second.stdout, second.stdout
    assert '"ongoing_trials": {}' in (tmp_path / "search" / "oracle.json").read_text()
    assert [(path.read_bytes(), path.stat().st_mtime_ns) for path in trials] == before


def test_verify_refuses_an_export_that_writes_a_file_before_running_it(exported, tmp_path, capsys):
    import shutil

    import tensorflow as tf

    from keras_resnet.serving import export

    real = exported
    marker = tmp_path / "written-by-the-export"

    class Hostile(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 1], tf.float32, name="images")])
        def serve(self, images):
            with tf.control_dependencies([tf.io.write_file(str(marker), "pwned")]):
                probabilities = tf.fill([tf.shape(images)[0], 10], 0.1)
            return {"probabilities": probabilities, "classes": tf.argmax(probabilities, axis=-1)}

    hostile = tmp_path / "base" / "r20" / "1"
    tf.saved_model.save(Hostile(), str(hostile), signatures={"serving_default": Hostile().serve})
    shutil.copytree(os.path.join(real, export.EXTRA), hostile / export.EXTRA)  # it passes for one of ours
    assert export.io_ops(real) == [] and export.io_ops(hostile) == ["WriteFile"]
    # Before: the graph ran (its "only core TF ops" check passed it) and the file was written.
    refused(capsys, ["verify", str(hostile.parent)], "WriteFile", "nothing was run", "--trusted")
    assert not marker.exists()


def test_tune_uses_no_more_worker_processes_than_cores(tmp_path):
    import signal

    from keras_resnet.utils import checks

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
        "999",
        "--max-trials",
        "4",
        "--depth",
        "8",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "1",
    ]
    # Before: 4 training processes at once on 2 cores, no cap and no word about it.
    run = subprocess.Popen(
        command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        lines = []
        for line in run.stdout:
            lines.append(line)
            if line.startswith("tune: ") and "search of up to" in line:
                break
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # the search and any trial process it started
        run.wait()
    text = "".join(lines)
    most = checks.WORKERS_PER_CORE * checks.cores()
    assert f"workers=999 is more than this machine's {checks.cores()} CPU core(s)" in text, text
    assert f"in {most} worker process" in text, text


def test_a_search_batch_larger_than_its_training_part_is_refused_before_the_folder_is_claimed(tmp_path, capsys):
    output = tmp_path / "search"
    refused(
        capsys,
        ["tune", "--dataset", "digits", "--output", str(output), "--batch-size", "5000", "--workers", "0"],
        "1,212 training images",
        "--batch-size 1212 or less",
    )
    assert not output.exists()


def many_frames_gif(path, frames, size):
    """A real GIF of `frames` frames of `size` x `size` pixels: one PIL-encoded frame, its image block repeated."""
    import io

    from PIL import Image

    one = io.BytesIO()
    Image.new("P", (size, size), 1).save(one, format="GIF", palette=bytes(range(256)) * 3)
    data = one.getvalue()
    start = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)  # past the global colour table
    path.write_bytes(data[:start] + data[start:-1] * frames + b";")
    return path


def test_a_gif_of_many_large_frames_decodes_one_frame_in_bounded_memory(exported, tmp_path):
    import resource

    import tensorflow as tf

    serve = tf.saved_model.load(exported).signatures["serving_bytes"]
    big = many_frames_gif(tmp_path / "many.gif", 600, 2000)  # 2.8 MB; before: 13 s and +2.3 GB for one request
    first = serve(image_bytes=tf.constant([many_frames_gif(tmp_path / "one.gif", 1, 2000).read_bytes()]))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    served = serve(image_bytes=tf.constant([big.read_bytes()]))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 300, grown_mb  # this process's peak never grew by the frames' 2.3 GB
    np.testing.assert_allclose(served["probabilities"], first["probabilities"], atol=1e-6)  # the first frame's answer


def crafted_keras_file(source, path, filters):
    """A copy of the `.keras` file `source` whose stage-3 blocks ask for `filters` filters (the weights are kept)."""
    import json
    import zipfile

    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w") as crafted:
        for entry in original.infolist():
            data = original.read(entry)
            if entry.filename == "config.json":
                config = json.loads(data)
                for layer in config["config"]["layers"]:
                    if layer["name"].startswith("stage3_block"):
                        layer["config"]["filters"] = filters
                    if "build_config" in layer and layer["name"] == "predictions":  # it then takes that many channels
                        layer["build_config"]["input_shape"] = [None, filters]
                data = json.dumps(config).encode()
            crafted.writestr(entry, data)
    return path


@pytest.mark.parametrize("filters", [12000, 10**9])
def test_a_keras_file_asking_for_a_huge_model_is_refused_before_building(filters, digits_model, tmp_path, capsys):
    import resource

    from keras_resnet.models import load_model_file

    crafted = crafted_keras_file(digits_model, tmp_path / "crafted.keras", filters)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Before: export and load_model built it: 6 GB of memory, then a TensorFlow OOM traceback.
    with pytest.raises(ValueError, match=r"asks for a model of [\d,]+ parameters .* holds \d\.\d MB of weights"):
        load_model_file(crafted)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 200
    refused(capsys, ["export", str(crafted), "--base", str(tmp_path / "base")], "asks for a model of", "original file")
    assert not (tmp_path / "base").exists()
    load_model_file(digits_model)  # a whole file still loads, and nothing left pending is allocated later
    import keras

    with keras.StatelessScope():
        pass


@pytest.mark.slow  # 100,000 steps of the walk: ~7 s
def test_a_gif_whose_first_frame_takes_too_many_blocks_fails_only_its_request(exported, tmp_path):
    import tensorflow as tf

    from keras_resnet.utils import checks

    serve = tf.saved_model.load(exported).signatures["serving_bytes"]
    good = many_frames_gif(tmp_path / "one.gif", 1, 8).read_bytes()
    start = 13 + (3 << ((good[10] & 7) + 1) if good[10] & 0x80 else 0)
    comment = b"\x21\xfe" + b"\x01x" * checks.GIF_BLOCKS + b"\x00"  # a comment of one-byte sub-blocks first
    with pytest.raises(tf.errors.InvalidArgumentError, match="image too complex"):
        serve(image_bytes=tf.constant([good[:start] + comment + good[start:]]))
    assert serve(image_bytes=tf.constant([good]))["probabilities"].shape == (1, 10)  # it serves again
