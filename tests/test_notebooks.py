"""The example notebooks: each one runs top to bottom in quick mode, and what is committed is clean.

Each `examples/NN_*.ipynb` is generated from its jupytext percent-format twin `examples/NN_*.py` (the
source of truth; regenerate with `jupytext --to ipynb --set-kernel python3 examples/0*_*.py`).
"""

import json
import os
import pathlib
import sys
import time

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("[0-9][0-9]_*.ipynb"))
# The offline data sets (CIFAR-10 for 02) beside the checkout, as in tests/test_analysis.py.
SHARED_DATA = next((p / "shared/data" for p in ROOT.parents if (p / "shared/data").is_dir()), None)
HAS_CIFAR = SHARED_DATA is not None and (SHARED_DATA / "cifar10_jpeg/cifar10_jpeg_q75.tar.gz").is_file()
# What each notebook must leave in its working directory (beside running without an error).
WRITES = {
    "01_quickstart": ["resnet50_architecture.png"],
    "02_train_cifar": ["runs/02_train_cifar/curves.png", "runs/02_train_cifar/final.keras"]
    # Where the offline CIFAR-10 copy is, 02 must have trained on it (not fallen back to the digits).
    + (["data/cifar10_subset/test/truck/0000.jpg"] if HAS_CIFAR else []),
    "03_tuner_search": ["runs/03_tuner_search/results.png", "runs/03_tuner_search/best.keras"],
    "04_export_and_serve": [
        "saved_models/digits_resnet20/1/saved_model.pb",
        "saved_models/digits_resnet20/2/saved_model.pb",
        "saved_models/models.config",
    ],
    "05_degradation_and_lesion": [
        f"runs/05_degradation_and_lesion/{png}"
        for png in ("degradation.png", "lesion.png", "paths_resnet110.png", "gradients.png")
    ],
    "06_cifar10_results": [],  # reads the shipped weights and committed results; writes nothing
    "07_fine_tuning": ["fine_tuning.png", "runs/07_pretrain/final.keras", "runs/07_fine_tuned_frozen/final.keras"],
}


# About 60-100 s on two busy cores (four models trained, lesioned and probed): left to `-m slow`, as the
# script it replaced was; the other four together take about 2.5 minutes of one worker.
HEAVY = {"05_degradation_and_lesion"}


def test_the_notebooks_are_there_each_with_its_script_twin():
    assert [path.stem for path in NOTEBOOKS] == sorted(WRITES)
    for notebook in NOTEBOOKS:
        script = jupytext.read(notebook.with_suffix(".py"))
        committed = nbformat.read(notebook, as_version=4)

        def pairs(nb):
            return [(cell.cell_type, cell.source) for cell in nb.cells]

        assert pairs(committed) == pairs(script), (
            f"{notebook.name} differs from {notebook.with_suffix('.py').name}: regenerate it with "
            "`jupytext --to ipynb --set-kernel python3 examples/0*_*.py`"
        )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_notebook_has_no_outputs(notebook):
    committed = nbformat.read(notebook, as_version=4)
    nbformat.validate(committed)
    dirty = [
        i
        for i, cell in enumerate(committed.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count)
    ]
    assert not dirty, f"{notebook.name}: cells {dirty} hold outputs; strip them before committing"
    assert committed.metadata.kernelspec.name == "python3"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """A kernelspec that starts this interpreter's ipykernel, so the notebooks see this environment."""
    folder = tmp_path_factory.mktemp("jupyter")
    spec = folder / "kernels" / "keras-resnet-tests"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "tests", "language": "python"}))
    return folder


@pytest.mark.parametrize(
    "notebook",
    [pytest.param(p, marks=[pytest.mark.slow] if p.stem in HEAVY else []) for p in NOTEBOOKS],
    ids=lambda path: path.stem,
)
def test_notebook_runs_top_to_bottom_in_quick_mode(notebook, kernel, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", str(kernel))
    monkeypatch.setenv("KERAS_RESNET_QUICK", "1")
    if SHARED_DATA is not None:  # 02 falls back to the digits without it
        monkeypatch.setenv("KERAS_RESNET_DATA", str(SHARED_DATA))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="keras-resnet-tests", resources={"metadata": {"path": str(tmp_path)}}
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        failed = next(
            (
                i
                for i, cell in enumerate(nb.cells)
                if any(o.get("output_type") == "error" for o in cell.get("outputs", []))
            ),
            "?",
        )
        pytest.fail(f"{notebook.name}, cell {failed}, failed:\n{error}", pytrace=False)
    print(f"{notebook.name}: {time.perf_counter() - start:.1f}s")
    missing = [path for path in WRITES[notebook.stem] if not (tmp_path / path).is_file()]
    assert not missing, f"{notebook.name} ran but did not write {missing}"
    assert not list(EXAMPLES.glob("runs")) and not list(EXAMPLES.glob("saved_models"))
