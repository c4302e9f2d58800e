"""Faults: a training run killed at random points (also mid-write), a full disk, a read-only output, a loss
that turns NaN, a killed export. Each test states its promise; docs/reliability.md lists them all.

A fault is real: the child process is SIGKILLed (it kills itself at a counted step or partway through
a checkpoint's write, so the moment does not depend on timing), or the kernel refuses a write
(RLIMIT_FSIZE). Only *when* it happens is chosen by the test.
"""

import contextlib
import csv
import json
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_resnet
from keras_resnet import cli
from keras_resnet.serving import export
from keras_resnet.training import data, loop
from keras_resnet.utils import files

ROOT = pathlib.Path(__file__).resolve().parents[1]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
EPOCHS, STEPS = 3, 4
TRAIN = [
    "train",
    "--model",
    "ResNet20",
    "--dataset",
    "digits",
    "--epochs",
    str(EPOCHS),
    "--steps-per-epoch",
    str(STEPS),
    "--batch-size",
    "16",
    "--verbose",
    "2",
]

# Runs `keras-resnet train` with one fault planted (argv[1], JSON):
#   {"kill": "step", "at": n}             SIGKILL after the n-th training step
#   {"kill": "write", "file": s, "at": n} SIGKILL partway through writing a file whose name holds s:
#                                         at the n-th close of such a .keras zip (its entries are on disk,
#                                         its directory is not) or after the n-th array of such an .h5
#   {"fsize": bytes, "after_epoch": e}    from the end of epoch e on, no file may grow beyond `bytes`
#   {"fill": path, "leave": bytes, "after_epoch": e}  at the end of epoch e, fill the disk holding `path`
#                                         with the file `path` until only `bytes` are free (a real full disk)
FAULTY = r"""
import json, os, resource, signal, sys, zipfile
import h5py
from keras_resnet import cli
from keras_resnet.training import loop

fault, seen = json.loads(sys.argv[1]), [0]

def reached():
    seen[0] += 1
    return seen[0] == fault["at"]

def after(cls, name, hook):
    original = getattr(cls, name)
    def patched(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        hook(self, *args)
        return result
    setattr(cls, name, patched)

def die(flush):
    flush()
    os.kill(os.getpid(), signal.SIGKILL)

if fault.get("kill") == "step":
    after(loop.TerminateOnNaN, "on_batch_end", lambda self, *a: reached() and die(lambda: None))
if fault.get("kill") == "write":
    close = zipfile.ZipFile.close
    def zip_close(self):
        if self.fp is not None and fault["file"] in str(self.filename) and reached():  # open: not a second close
            die(self.fp.flush)
        close(self)
    zipfile.ZipFile.close = zip_close
    after(h5py.Group, "create_dataset",
          lambda self, *a: fault["file"] in self.file.filename and reached() and die(self.file.flush))
if "fsize" in fault:
    def limit(self, epoch, logs=None):
        if epoch + 1 == fault["after_epoch"]:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (fault["fsize"], resource.RLIM_INFINITY))
    after(loop.BackupAndRestore, "on_epoch_end", limit)
if "fill" in fault:
    def fill(self, epoch, logs=None):
        if epoch + 1 == fault["after_epoch"]:
            stat = os.statvfs(os.path.dirname(fault["fill"]))
            with open(fault["fill"], "wb") as ballast:
                os.posix_fallocate(ballast.fileno(), 0, stat.f_bavail * stat.f_frsize - fault["leave"])
    after(loop.BackupAndRestore, "on_epoch_end", fill)
sys.exit(cli.main(sys.argv[2:]))
"""


def run_with_fault(fault, output):
    return subprocess.run(
        [sys.executable, "-c", FAULTY, json.dumps(fault), *TRAIN, "--output", str(output)],
        env=ENV,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=500,
    )


def history_epochs(output):
    """The epoch column of history.csv, every row (read_history would hide a repeated epoch)."""
    with open(output / "history.csv", newline="") as file:
        return [int(row["epoch"]) for row in csv.DictReader(file)]


def assert_every_checkpoint_loads(output):
    hidden = sorted(p.name for p in output.rglob(".*") if p.is_file() and p.name != files.LOCK)
    assert not hidden, f"partial files left behind: {hidden}"
    for path in output.glob("*.keras"):
        model = keras.saving.load_model(path)
        assert all(np.isfinite(w).all() for w in model.get_weights()), path
    model = keras.saving.load_model(output / "last.keras")
    model.optimizer.build(model.trainable_variables)
    backups = sorted((output / "backup").iterdir())
    assert 1 <= len(backups) <= 2, backups
    for path in backups:
        model.load_weights(path)


def draw(kind, seed):
    """A seeded random fault of `kind` and the number of epochs complete when it strikes."""
    rng = random.Random(seed)
    if kind == "step":
        step = rng.randint(1, EPOCHS * STEPS)
        return {"kill": "step", "at": step}, (step - 1) // STEPS  # killed before its epoch's end ran
    epoch = rng.randint(1, EPOCHS)  # the epoch whose end-of-epoch write is cut short
    if kind == "last.keras":
        return {"kill": "write", "file": ".last-partial.keras", "at": epoch}, epoch - 1
    return {"kill": "write", "file": f"-epoch{epoch}-partial.weights.h5", "at": rng.randint(1, 80)}, epoch - 1


DRAWS = [("step", 0), ("last.keras", 1), ("backup", 2)]
MORE_DRAWS = [(kind, seed) for seed in range(3, 9) for kind in ("step", "last.keras", "backup")]


# Promise: a run SIGKILLed at any point, also while it writes a checkpoint, is resumed by the same command
# from the last complete epoch; no checkpoint on disk is corrupt; every epoch is in the history once and
# the run ends with as many epochs as an uninterrupted one.
@pytest.mark.parametrize("kind, seed", DRAWS + [pytest.param(*d, marks=pytest.mark.slow) for d in MORE_DRAWS])
def test_sigkill_at_a_random_point_then_the_same_command_resumes(kind, seed, tmp_path, capsys):
    fault, complete = draw(kind, seed)
    output = tmp_path / "run"
    killed = run_with_fault(fault, output)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-2000:]
    if kind != "step":  # the kill struck mid-write: the half-written file is there, hidden, and unreadable
        partial = next(output.rglob("*-partial*"))
        with pytest.raises(Exception):  # noqa: B017  whatever h5py or zipfile make of a cut file
            if partial.suffix == ".keras":
                keras.saving.load_model(partial)
            else:
                keras_resnet.build("ResNet20", input_shape=(8, 8, 1), classes=10).load_weights(partial)

    assert cli.main([*TRAIN, "--output", str(output)]) == 0
    out = capsys.readouterr().out
    started = [line for line in out.splitlines() if line.startswith("Epoch ")]
    assert started[0].startswith(f"Epoch {complete + 1}/{EPOCHS}"), (fault, started)  # the last complete epoch
    assert history_epochs(output) == list(range(EPOCHS))
    assert json.loads((output / "results.json").read_text())["epochs"] == EPOCHS
    assert_every_checkpoint_loads(output)


# Promise: when the disk fills (here: the kernel refuses to let a file grow) the run stops at the first
# failed write with one message naming the file, and the last good checkpoints stay whole and load.
def test_a_full_disk_stops_at_the_first_failed_write_keeping_the_last_checkpoint(tmp_path):
    output = tmp_path / "run"
    full = run_with_fault({"fsize": 100_000, "after_epoch": 1}, output)
    assert full.returncode == 1, full.stdout[-2000:] + full.stderr[-2000:]
    message = full.stderr.strip().splitlines()[-1]
    assert message.startswith(f"keras-resnet train: could not write {output / 'last.keras'} (File too large; "), message
    assert "run the same command again (it resumes" in message
    assert history_epochs(output) == [0]
    assert_every_checkpoint_loads(output)
    assert int(keras.saving.load_model(output / "last.keras").optimizer.iterations.numpy()) == STEPS  # epoch 1's


@contextlib.contextmanager
def read_only(folder):
    """Make `folder` read-only, also for root (who ignores permissions but not the immutable flag)."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", folder]).returncode:
            pytest.skip("root cannot make a read-only folder here (no chattr +i)")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", folder], check=True)
    else:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)


# Promise: an output that cannot be written is refused before any data is read or any model is built.
@pytest.mark.parametrize("case", ["read-only folder", "a file in the way"])
def test_an_unwritable_output_is_refused_before_training(case, tmp_path, capsys):
    (tmp_path / "ro").mkdir()
    (tmp_path / "file").write_text("")
    output = tmp_path / "ro" / "run" if case == "read-only folder" else tmp_path / "file" / "run"
    with read_only(tmp_path / "ro") if case == "read-only folder" else contextlib.nullcontext():
        assert cli.main([*TRAIN, "--output", str(output)]) == 2
    err = capsys.readouterr()
    assert "Epoch" not in err.out
    reason = "Permission denied" if os.geteuid() else "Operation not permitted"
    reason = reason if case == "read-only folder" else "Not a directory"
    assert err.err.strip() == (
        f"keras-resnet train: output {output} is not writable ({reason}): choose another output (--output) "
        "or make it writable"
    )


# Promise: a loss that turns non-finite after good epochs stops the run with a message naming the epoch and
# step; the last good checkpoints are kept, load, and hold the finite weights of the last good epoch's end.
def test_a_loss_turning_nan_after_a_good_epoch_keeps_that_epochs_checkpoints(tmp_path):
    output = tmp_path / "run"
    # Epoch 1 trains normally; at the second epoch's start a x1e30 'step' of the schedule blows the weights up.
    recipe = dict(epochs=2, steps_per_epoch=3, batch_size=16, milestones=(0.5,), gamma=1e30, weight_decay=0.0)
    with pytest.raises(FloatingPointError, match=r"^training stopped at epoch 2, step \d: the loss became nan;"):
        loop.train("ResNet20", "digits", output=output, verbose=0, **recipe)
    assert history_epochs(output) == [0]
    assert_every_checkpoint_loads(output)
    assert [p.name for p in (output / "backup").iterdir()] == ["step3-epoch1.weights.h5"]
    last = keras.saving.load_model(output / "last.keras")
    assert int(last.optimizer.iterations.numpy()) == 3
    # The weights are epoch 1's end: they give the test loss that epoch logged.
    source = data.load("digits")
    test = data.pipeline(source.test, training=False, batch_size=16)  # raw pixels: the model normalises
    loss, _ = last.evaluate(test, verbose=0)
    np.testing.assert_allclose(loss, loop.read_history(output / "history.csv")["val_loss"][0], rtol=1e-4)


# Promise: an export killed partway never shows a version to a server, and the next export works and
# clears the dead export's hidden folder, while another live export's folder is left alone.
def test_a_killed_export_leaves_no_version_and_its_leftovers_are_cleared(tmp_path):
    model = keras_resnet.build("cifar_resnet", depth=8, input_shape=(8, 8, 3), classes=3)
    model.save(tmp_path / "r8.keras")
    base = tmp_path / "r8"
    # Killed right after the SavedModel is written into the hidden folder, before it is renamed to a version.
    code = (
        "import os, signal, sys; from keras_resnet import export; "
        "export._write_warmup = lambda *a: os.kill(os.getpid(), signal.SIGKILL); "
        "export.export_saved_model(sys.argv[1], sys.argv[2])"
    )
    killed = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r8.keras"), str(base)], env=ENV, cwd=ROOT)
    assert killed.returncode == -signal.SIGKILL
    left = os.listdir(base)
    assert export.versions(base) == [] and len(left) == 1 and left[0].startswith(".tmp-")
    assert (base / left[0] / "saved_model.pb").exists()  # it was well under way
    live = base / export._staging_name()  # this process is alive: its folder must survive
    live.mkdir()
    assert export.export_saved_model(model, base).endswith(os.sep + "1")
    assert sorted(os.listdir(base)) == sorted(["1", live.name])


# Promise: a step can break the weights behind a finite loss (the loss is computed before the update); such
# weights are refused, by name, before any checkpoint or backup would keep them.
def test_non_finite_weights_behind_a_finite_loss_never_reach_a_checkpoint(tmp_path):
    model = keras_resnet.build("cifar_resnet", depth=8, input_shape=(8, 8, 1), classes=3)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    kernel = model.get_layer("predictions").kernel
    kernel.assign(np.where(np.arange(kernel.shape[1]) == 1, np.inf, kernel.numpy()))
    stop, backup = (
        loop.TerminateOnNaN(""),
        loop.BackupAndRestore(tmp_path, tmp_path / "history.csv", save_freq=2),
    )
    for callback in (stop, backup):
        callback.set_model(model)
    stop.on_batch_end(4, {"loss": 0.5})
    with pytest.raises(
        FloatingPointError,
        match="^training stopped at the end of epoch 2, step 5: weight predictions/kernel is not finite",
    ):
        stop.on_epoch_end(1)
    backup.on_epoch_begin(0)
    backup.on_train_batch_end(0)
    with pytest.raises(
        FloatingPointError, match="^training stopped at a backup in epoch 1, step 2: weight predictions/kernel"
    ):
        backup.on_train_batch_end(1)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------ the output folder

CLAIM = r"""
import json, sys
from keras_resnet.utils import files
with files.claim(sys.argv[1], sys.argv[2], {}, ()):
    print("held", flush=True)
    sys.stdin.readline()
"""


def hold(output, kind="train"):
    """A second process holding `output` (as a run of `kind` does) until its stdin closes or it is killed."""
    child = subprocess.Popen(
        [sys.executable, "-c", CLAIM, str(output), kind],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=ENV,
        text=True,
    )
    assert child.stdout.readline().strip() == "held"
    return child


# Promise: --overwrite removes only what a run of this package wrote; a folder holding anything else (a thesis,
# the working directory) is refused, naming one such file, and nothing is removed.
def test_overwrite_never_removes_a_file_a_run_did_not_write(tmp_path, capsys):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "thesis.txt").write_text("x")
    assert cli.main([*TRAIN, "--output", str(folder), "--overwrite"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"keras-resnet train: output {folder} holds thesis.txt, which a keras_resnet train run did not write: "
        "choose an empty or new folder (--output); nothing was removed"
    )
    assert (folder / "thesis.txt").read_text() == "x"
    # A real run's folder with a user's file put inside: still refused, the run's files kept too.
    run = tmp_path / "run"
    config = {"model": "ResNet20"}
    with files.claim(run, "train", config, loop.RUN_FILES):
        (run / "history.csv").write_text("epoch,loss\n0,1.0\n")
    (run / "notes.md").write_text("mine")
    with (
        pytest.raises(ValueError, match="holds notes.md, which a keras_resnet train run did not write"),
        files.claim(run, "train", {"model": "ResNet32"}, loop.RUN_FILES, overwrite=True),
    ):
        pass
    assert sorted(p.name for p in run.iterdir()) == [files.LOCK, "config.json", "history.csv", "notes.md"]
    # Without the foreign file, --overwrite replaces the other run: its files go, the folder is this run's.
    (run / "notes.md").unlink()
    with files.claim(run, "train", {"model": "ResNet32"}, loop.RUN_FILES, overwrite=True):
        pass
    assert sorted(p.name for p in run.iterdir()) == [files.LOCK, "config.json"]
    assert json.loads((run / "config.json").read_text())["model"] == "ResNet32"
    # A search's folder is not a training run's, even with --overwrite.
    with (
        pytest.raises(ValueError, match="holds a keras_resnet train run, not a keras_resnet tune one"),
        files.claim(run, "tune", {}, ("search",), overwrite=True),
    ):
        pass


# Promise: two runs into one output never both run: the second is refused at once, naming the holder's pid, for
# train and tune alike; the lock dies with its process (a SIGKILL leaves nothing that blocks the next run).
@pytest.mark.parametrize("command", ["train", "tune"])
def test_a_second_run_into_a_held_output_is_refused_naming_the_holder(command, tmp_path, capsys):
    output = tmp_path / "run"
    holder = hold(output, command)
    try:
        args = (
            TRAIN
            if command == "train"
            else [
                "tune",
                "--dataset",
                "digits",
                "--max-trials",
                "1",
                "--depth",
                "8",
                "--epochs",
                "1",
                "--steps-per-epoch",
                "1",
                "--verbose",
                "0",
            ]
        )
        assert cli.main([*args, "--output", str(output)]) == 2
        assert (
            capsys.readouterr()
            .err.strip()
            .endswith(
                f"output {output} is in use by another keras-resnet {command} (pid {holder.pid}): wait for it to "
                "finish "
                "or choose another output"
            )
        )
    finally:
        holder.kill()
        holder.wait()
    with files.claim(output, command, {}, ()):  # the kernel released the dead holder's lock
        pass


# Promise: state files are written atomically; a damaged one (empty or cut, as an older version or a crash
# left it) is named in the error, and --overwrite replaces it; a history cut mid-row resumes.
def test_damaged_state_files_are_named_and_overwrite_replaces_them(tmp_path, capsys):
    output = tmp_path / "run"
    assert cli.main([*TRAIN, "--epochs", "1", "--output", str(output)]) == 0
    capsys.readouterr()
    (output / "config.json").write_text('{"model": "Res')
    assert cli.main([*TRAIN, "--epochs", "1", "--output", str(output)]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith(f"keras-resnet train: {output / 'config.json'} is damaged (empty, cut short or not JSON")
        and err.count("\n") == 0
    )
    assert cli.main([*TRAIN, "--epochs", "1", "--output", str(output), "--overwrite"]) == 0
    assert json.loads((output / "config.json").read_text())["epochs"] == 1
    # A kill mid-row of the history: the cut row is left out and its epoch runs again.
    shutil.rmtree(output)
    assert cli.main([*TRAIN, "--output", str(output)]) == 0
    history = (output / "history.csv").read_text()
    lines = history.splitlines(keepends=True)
    (output / "history.csv").write_text("".join(lines[:-1]) + lines[-1][:9])  # the last epoch's row cut
    (output / "backup" / f"step{EPOCHS * STEPS}-epoch{EPOCHS}.weights.h5").unlink()  # killed before the last backup
    assert cli.main([*TRAIN, "--output", str(output)]) == 0
    assert history_epochs(output) == list(range(EPOCHS))


# ----------------------------------------------------------------------------------- a real full disk


@pytest.fixture
def small_disk(tmp_path):
    """A real 16 MB disk (tmpfs): writes past it fail with ENOSPC, as on a full drive."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)]).returncode:
        pytest.skip("a real small disk needs root and tmpfs (mount -t tmpfs)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def fill_disk(disk, leave):
    with open(disk / "ballast", "wb") as ballast:
        os.posix_fallocate(ballast.fileno(), 0, files.free_bytes(disk) - leave)


FULL_DISK = re.compile(
    r"could not write (?P<path>\S+) \((?P<reason>[^;]+); (?P<free>[\d.]+) MB free on its disk\): free disk space"
)


# Promise: on a real full disk, training stops with one sentence naming the file and the free space (exit 1,
# never HDF5's segfault); every checkpoint written before loads, and once space is freed the same command resumes.
@pytest.mark.slow
def test_a_real_full_disk_stops_training_cleanly_and_the_next_run_resumes(small_disk):
    output = small_disk / "run"
    full = run_with_fault({"fill": str(small_disk / "ballast"), "leave": 600_000, "after_epoch": 1}, output)
    assert full.returncode == 1, full.stdout[-2000:] + full.stderr[-2000:]
    message = full.stderr.strip().splitlines()[-1]
    found = FULL_DISK.search(message)
    assert message.startswith("keras-resnet train: could not write") and found, message
    assert found["path"] == str(output / "last.keras") and float(found["free"]) <= 0.7
    assert history_epochs(output) == [0]
    assert_every_checkpoint_loads(output)
    (small_disk / "ballast").unlink()
    again = subprocess.run(
        [sys.executable, "-m", "keras_resnet", *TRAIN, "--output", str(output)],
        env=ENV,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=500,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert [line for line in again.stdout.splitlines() if line.startswith("Epoch ")][0].startswith(f"Epoch 2/{EPOCHS}")
    assert history_epochs(output) == list(range(EPOCHS))


# Promise: export and convert on a real full disk: one sentence naming the target and the free space (exit 1),
# no version and no partial file left behind; after space is freed the same command works.
@pytest.mark.slow
@pytest.mark.parametrize("command", ["export", "convert"])
def test_a_real_full_disk_stops_export_and_convert_cleanly(command, small_disk, tmp_path):
    model = tmp_path / "r20.keras"
    keras_resnet.ResNet20(input_shape=(8, 8, 1), classes=10).save(model)
    argv = (
        ["export", str(model), "--base", str(small_disk / "served"), "--name", "r20"]
        if command == "export"
        else [
            "convert",
            "ResNet20",
            str(model),
            str(small_disk / "out.keras"),
            "--input-shape",
            "8,8,1",
            "--classes",
            "10",
        ]
    )
    fill_disk(small_disk, 300_000)

    def run():
        return subprocess.run(
            [sys.executable, "-m", "keras_resnet", *argv],
            env=ENV,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )

    full = run()
    assert full.returncode == 1, full.stderr[-2000:]
    message = full.stderr.strip().splitlines()[-1]
    assert message.startswith(f"keras-resnet {command}: could not write") and FULL_DISK.search(message), message
    left = sorted(p.name for p in small_disk.rglob("*") if p.name != "ballast" and p.is_file())
    assert left == [], left
    (small_disk / "ballast").unlink()
    assert run().returncode == 0
    if command == "export":
        assert export.versions(small_disk / "served" / "r20") == [1]
    else:
        assert keras.saving.load_model(small_disk / "out.keras").name == "ResNet20"


# Promise: a search on a real full disk stops before keras-tuner's checkpoint write (HDF5 would crash the
# process), with one sentence naming the folder and the free space, exit 1; after space is freed the same
# command resumes the search and finishes it.
@pytest.mark.slow
def test_a_real_full_disk_stops_a_search_cleanly_and_the_next_run_resumes(small_disk):
    output = small_disk / "search"
    argv = [
        sys.executable,
        "-m",
        "keras_resnet",
        "tune",
        "--dataset",
        "digits",
        "--max-trials",
        "2",
        "--depth",
        "8",
        "14",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "2",
        "--verbose",
        "0",
        "--output",
        str(output),
    ]
    fill_disk(small_disk, 1_000_000)
    full = subprocess.run(argv, env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=500)
    assert full.returncode == 1, full.stdout[-2000:] + full.stderr[-2000:]
    message = full.stderr.strip().splitlines()[-1]
    assert message.startswith("keras-resnet tune: could not write") and FULL_DISK.search(message), message
    assert FULL_DISK.search(message)["path"] == str(output / "search")
    (small_disk / "ballast").unlink()
    again = subprocess.run(argv, env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=500)
    assert again.returncode == 0, again.stderr[-2000:]
    with open(output / "results.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 2 and all(row["val_accuracy"] for row in rows), rows
    assert keras.saving.load_model(output / "best.keras").output_shape == (None, 10)
