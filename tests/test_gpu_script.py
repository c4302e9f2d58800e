"""benchmarks/gpu.py, the GPU check, at tiny sizes on the CPU: every part writes numbers or says why it has none."""

import json
import math
import os
import pathlib
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from keras_resnet.bench import peers

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu.py"
JAX_PYTHON = ROOT / ".venv-jax" / "bin" / "python"
TORCH_PYTHON = ROOT / ".venv-torch" / "bin" / "python"
FLAGS = ("--parts", "--minutes", "--seconds-a", "--seconds-c", "--tiny", "--output", "--cifar", "--wheels")
FLAGS += ("--backend", "--python", "--torch-python")


def gpu_script(*args, python=sys.executable):
    """Run the script with `args`; its report as a dict and its Markdown."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    answer = subprocess.run([str(python), str(SCRIPT), *args], env=env, capture_output=True, text=True)
    assert answer.returncode == 0, answer.stdout[-2000:] + answer.stderr[-2000:]
    output = pathlib.Path(args[args.index("--output") + 1])
    return json.loads((output / "gpu.json").read_text()), (output / "gpu.md").read_text()


def check_rows(part, numbers):
    """Each row has finite, positive `numbers`, or a status other than ok and a reason."""
    assert part["rows"]
    for row in part["rows"]:
        if row["status"] == "ok":
            assert all(0 < row[key] < math.inf for key in numbers), row
        else:
            assert row["status"] in ("skipped", "failed", "timed out") and row["why"], row


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    """A CIFAR-like folder: train/ and test/ with 3 classes of random 32x32 JPEGs."""
    from PIL import Image

    root = tmp_path_factory.mktemp("cifar")
    rng = np.random.default_rng(0)
    for split, count in (("train", 5), ("test", 3)):
        for name in ("cat", "dog", "ship"):
            (root / split / name).mkdir(parents=True)
            for index in range(count):
                pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / name / f"{index:04d}.jpg")
    return root


@pytest.fixture(scope="module")
def cifar_tarball(cifar, tmp_path_factory):
    """The same folder as a .tar.gz with a top folder, as an archive of it usually is."""
    path = tmp_path_factory.mktemp("tarball") / "cifar.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        archive.add(cifar, arcname="cifar10")
    return path


def test_help_explains_every_flag_and_imports_nothing_heavy():
    answer = subprocess.run(
        [sys.executable, "-X", "importtime", str(SCRIPT), "--help"], capture_output=True, text=True, check=True
    )
    assert all(flag in answer.stdout for flag in FLAGS)
    assert "pip download" in answer.stdout and "keras" in answer.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in answer.stderr.splitlines() if "|" in line}
    assert not imported & {"keras", "keras_resnet", "numpy", "jax", "torch", "tensorflow"}


def test_a_failed_part_and_rows_out_of_time_say_why_and_the_next_part_runs(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    args = ("--tiny", "--parts", "b,c", "--cifar", str(empty), "--seconds-c", "3", "--backend", "tensorflow")
    report, markdown = gpu_script(*args, "--output", str(tmp_path / "out"))
    b, c = report["parts"]["b"], report["parts"]["c"]
    assert b["status"] == "failed" and "no train/ and test/" in b["why"] and b["why"] in markdown
    assert [row["status"] for row in c["rows"]] == ["timed out", "skipped"]
    assert "within 3 s" in c["rows"][0]["why"] and "time limit was spent" in c["rows"][1]["why"]
    assert c["status"] == "incomplete" and c["limit_s"] == 3 and c["seconds"] < 30


def test_without_keras_or_wheels_the_report_says_how_to_get_them(tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    args = ("--tiny", "--parts", "c", "--wheels", str(tmp_path / "no-wheels"), "--output", str(tmp_path / "out"))
    report, markdown = gpu_script(*args, "--python", str(bare / "bin" / "python"))
    assert any("has no keras" in note and "pip download" in note for note in report["notes"])
    rows = report["parts"]["c"]["rows"]
    assert rows and all(row["status"] == "skipped" and "No module named" in row["why"] for row in rows)


def test_our_peer_row_takes_an_image_side_and_times_no_inference():
    answer = peers.keras_seconds(dict(name="ResNet20", batch=2, steps=2, calls=0, mixed=False, side=16))
    assert answer["parameters"] == 271_098 and answer["inference"] == []
    assert len(answer["train"]) == 2 and all(0 < rate < math.inf for rate in answer["train"])


@pytest.mark.slow
def test_tiny_run_on_jax_without_torch_says_why_the_timm_rows_are_missing(tmp_path, cifar):
    if not JAX_PYTHON.exists():
        pytest.skip("no JAX environment (python3 -m venv .venv-jax && .venv-jax/bin/pip install -e '.[jax]')")
    report, markdown = gpu_script("--tiny", "--cifar", str(cifar), "--output", str(tmp_path), python=JAX_PYTHON)
    assert list(report["parts"]) == ["a", "b", "c"] and report["tiny"]
    a, b, c = (report["parts"][key] for key in "abc")
    check_rows(a, ("images_per_s", "min", "max"))
    ours, *timm = a["rows"]
    assert ours["status"] == "ok" and ours["backend"] == "jax" and ours["side"] == 32
    assert [row["variant"] for row in timm] == ["eager", "compiled"]
    missing = ("No module named 'torch'", "No module named 'timm'")
    assert all(row["status"] == "skipped" and row["why"].endswith(missing) for row in timm) and not a["ratios"]
    # Training without TensorFlow is not there yet: then the probe says so; once it is, the run has numbers.
    check_rows(b, ("minutes",))
    assert b["status"] == "ok" or b["why"] in markdown
    check_rows(c, ("build", "first train step", "to first train step"))
    assert [row["model"] for row in c["rows"]] == ["ResNet20", "ResNet32"]
    assert all(row["status"] == "ok" and row["backend"] == "jax" for row in c["rows"])


@pytest.mark.slow
def test_tiny_throughput_against_timm_eager_and_compiled(tmp_path):
    if not (JAX_PYTHON.exists() and TORCH_PYTHON.exists()):
        pytest.skip("needs .venv-jax and .venv-torch (pip install -e '.[torch]' timm)")
    args = ("--tiny", "--parts", "a", "--torch-python", str(TORCH_PYTHON), "--output", str(tmp_path))
    report, markdown = gpu_script(*args, python=JAX_PYTHON)
    a = report["parts"]["a"]
    check_rows(a, ("images_per_s", "min", "max"))
    assert a["status"] == "ok", a["rows"]
    ours, eager, compiled = a["rows"]
    assert eager["label"] == "timm resnet50 (PyTorch, eager)" and "torch.compile(aot_eager)" in compiled["label"]
    assert eager["device"] == "cpu" and ours["parameters"] == eager["parameters"] == compiled["parameters"]
    assert [(r["against"], r["ours / timm"] > 0) for r in a["ratios"]] == [("eager", True), ("compiled", True)]
    assert "ours / timm compiled" in markdown


@pytest.mark.slow
def test_tiny_cifar_run_picks_its_epochs_from_a_probe_and_reports_accuracy(tmp_path, cifar_tarball):
    args = ("--tiny", "--parts", "b", "--backend", "tensorflow", "--cifar", str(cifar_tarball))
    args += ("--output", str(tmp_path))
    report, markdown = gpu_script(*args)
    b = report["parts"]["b"]
    assert b["status"] == "ok", b
    probe, main = b["rows"]
    assert probe["epochs"] == 1 and 1 <= main["epochs"] <= 2 and main["estimated_epoch_seconds"] > 0
    assert all(0 <= row["test accuracy"] <= 1 and row["minutes"] > 0 for row in b["rows"])
    assert (
        f"the paper's recipe in {main['epochs']} epochs" in markdown and 0 < main["minutes in train"] <= main["minutes"]
    )
