"""The `keras-resnet` command and the README's promises."""

import pathlib
import re
import subprocess
import sys

import pytest

from keras_resnet import cli

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_models_lists_parameters_and_flops(capsys):
    assert cli.main(["models", "ResNet20", "ResNet50"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"ResNet20\s+cifar_resnet\s+32x32x3\s+271,098\s+269,722\s+0\.041G", out)
    assert re.search(r"ResNet50\s+resnet\s+224x224x3\s+25,610,152\s+25,557,032\s+3\.8\d\dG", out)


def test_errors_are_one_sentence_and_exit_2(capsys):
    assert cli.main(["models", "ResNet5O"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean" in err and "ResNet50" in err and err.count("\n") == 1


def test_help_explains_every_command():
    out = subprocess.run([sys.executable, "-m", "keras_resnet", "models", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "FLOPs" in out.stdout


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    install, tests = blocks[0], blocks[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests.strip() in ci
    assert '-e ".[cpu,test]"' in install and '-e ".[cpu,test]"' in ci
    # The first command's main job is `keras-resnet train` on the bundled digits, with valid flags.
    train = install.split("&& .venv/bin/keras-resnet ")[1].split()
    args = cli.parser().parse_args(train)
    assert (args.command, args.dataset) == ("train", "digits") and "\n" not in install


@pytest.mark.slow
def test_models_command_builds_every_model(capsys):
    import keras_resnet

    assert cli.main(["models"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [row.split()[0] for row in rows] == keras_resnet.available_models()
