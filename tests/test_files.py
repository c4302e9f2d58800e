"""Model files and state files as a user meets them: every broken one is one sentence naming it, from the API
and from every command that reads one; written files are whole or absent."""

import pathlib
import subprocess
import sys
import zipfile

import keras
import pytest

import keras_resnet
from keras_resnet import cli
from keras_resnet.models import load_model_file
from keras_resnet.utils import files

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "r8.keras"
    keras_resnet.build("cifar_resnet", depth=8, input_shape=(8, 8, 1), classes=3).save(path)
    return path


def broken_files(folder, good):
    """Each way a model file is found broken, and the words its error must hold."""
    data = good.read_bytes()
    cases = {
        "empty.keras": (b"", "is empty (0 bytes)"),
        "garbage.keras": (b"this is not a model" * 10, "not a zip archive"),
        "cut.keras": (data[: len(data) // 2], "not a zip archive"),
        "model.txt": (data, "is not a .keras file"),
    }
    paths = {}
    for name, (content, words) in cases.items():
        (folder / name).write_bytes(content)
        paths[name] = (folder / name, words)
    (folder / "folder.keras").mkdir()
    paths["folder.keras"] = (folder / "folder.keras", "is a folder, not a file")
    with zipfile.ZipFile(folder / "noconfig.keras", "w") as archive:
        archive.writestr("metadata.json", "{}")
    paths["noconfig.keras"] = (folder / "noconfig.keras", "holds no config.json")
    paths["missing.keras"] = (folder / "missing.keras", "does not exist")
    return paths


def test_every_broken_model_file_is_one_sentence_naming_it(tmp_path, good):
    for name, (path, words) in broken_files(tmp_path, good).items():
        with pytest.raises(ValueError) as raised:
            load_model_file(path)
        message = str(raised.value)
        assert message.startswith(f"model file {str(path)!r} ") and words in message and "\n" not in message, (
            name,
            message,
        )
    assert load_model_file(good).name == "cifar_resnet8"


@pytest.mark.parametrize("command", ["export", "lesion", "paths", "convert", "verify"])
def test_every_command_that_reads_a_model_file_says_what_is_wrong(command, tmp_path, good, capsys):
    path, words = broken_files(tmp_path, good)["cut.keras"]
    argv = {
        "export": ["export", str(path), "--base", str(tmp_path / "served")],
        "lesion": ["lesion", str(path), "--dataset", "digits"],
        "paths": ["paths", str(path)],
        "convert": ["convert", "ResNet20", str(path), str(tmp_path / "out.keras")],
        "verify": ["verify", str(tmp_path / "served"), "--model", str(path)],
    }[command]
    if command == "verify":  # an export to verify against the broken model file
        from keras_resnet.serving import export

        export.export_saved_model(good, tmp_path / "served")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"keras-resnet {command}: ") and words in err and err.count("\n") == 1, err


def test_a_weights_file_that_does_not_fit_is_a_short_sentence(tmp_path, good):
    with pytest.raises(ValueError) as raised:
        keras_resnet.ResNet20(input_shape=(8, 8, 1), classes=3, weights=good)
    assert "does not fit ResNet20" in str(raised.value) and len(str(raised.value)) < 700  # not every array's repr


def test_convert_writes_through_a_hidden_name_and_never_leaves_a_visible_partial(tmp_path, monkeypatch):
    source, out = tmp_path / "r20.keras", tmp_path / "out.keras"
    keras_resnet.ResNet20(input_shape=(8, 8, 1), classes=3).save(source)
    written = []
    save = keras.Model.save
    monkeypatch.setattr(
        keras.Model, "save", lambda self, path, *a, **k: written.append(pathlib.Path(path)) or save(self, path, *a, **k)
    )
    keras_resnet.factory.convert("ResNet20", source, out, input_shape=(8, 8, 1), classes=3)
    assert written[-1].parent == tmp_path and files.is_partial(written[-1].name)  # hidden while it is written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.keras", "r20.keras"]
    assert load_model_file(out).name == "ResNet20"


def test_atomic_write_refuses_a_write_the_disk_cannot_hold_before_it_starts(tmp_path):
    target = tmp_path / "big.bin"
    with (
        pytest.raises(files.WriteError) as raised,
        files.atomic_write(target, needs=files.free_bytes(tmp_path) * 2) as partial,
    ):
        partial.write_bytes(b"never")
    message = str(raised.value)
    assert message.startswith(f"could not write {target} (it needs about ") and " MB free on its disk)" in message
    assert list(tmp_path.iterdir()) == []


def test_two_writers_of_one_file_at_once_each_write_their_own_whole_file(tmp_path):
    # Before: one fixed temporary name per target, so the second writer truncated and renamed the file the
    # first was still writing, whose second half then landed in the target: neither writer's content.
    import threading

    target = tmp_path / "state.json"
    first, second = b"a" * 1_000_000, b"b" * 1_000_000
    halfway, second_done = threading.Event(), threading.Event()

    def write_first():
        with files.atomic_write(target) as partial, open(partial, "wb") as file:
            file.write(first[:500_000])
            file.flush()
            halfway.set()
            second_done.wait(timeout=60)
            file.write(first[500_000:])

    writer = threading.Thread(target=write_first)
    writer.start()
    halfway.wait(timeout=60)
    with files.atomic_write(target) as partial:
        partial.write_bytes(second)
    assert target.read_bytes() == second
    second_done.set()
    writer.join()
    assert target.read_bytes() == first  # the last rename wins, and it is a whole file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


# Before: utils/files.py imported `fcntl` at its top for the output folder's lock, and the model functions import
# utils/files.py (to save), so `import keras_resnet; ResNet50()` failed where `fcntl` does not exist (Windows).
NO_FCNTL = r"""
import importlib.abc, sys

class NoFcntl(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "fcntl":
            raise ModuleNotFoundError("No module named 'fcntl'", name=name)

sys.modules.pop("fcntl", None)
sys.meta_path.insert(0, NoFcntl())
import keras_resnet
print(keras_resnet.ResNet20(input_shape=(8, 8, 3), classes=2).count_params())
"""


def test_a_model_builds_where_fcntl_does_not_exist():
    done = subprocess.run([sys.executable, "-c", NO_FCNTL], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [str(keras_resnet.ResNet20(input_shape=(8, 8, 3), classes=2).count_params())]
