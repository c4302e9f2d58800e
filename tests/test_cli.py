"""The `keras-resnet` command and the README's promises."""

import contextlib
import datetime
import io
import pathlib
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def numeric_flags():
    """(command, flag, dest, action) of every numeric flag of every command."""
    commands = next(a for a in cli.parser()._actions if a.dest == "command").choices
    return [
        (name, action.option_strings[0], action.dest, action)
        for name, command in commands.items()
        for action in command._actions
        if action.option_strings and action.type in (int, float)
    ]


def test_every_numeric_flag_has_a_rule_in_the_one_table():
    from keras_resnet.utils import checks

    found = numeric_flags()
    assert len(found) > 25
    missing = [(command, flag) for command, flag, dest, _ in found if dest.replace("-", "_") not in checks.LIMITS]
    assert not missing, missing


@pytest.mark.parametrize(
    "flags, argument",
    [
        (["--steps-per-epoch", "-3"], "steps_per_epoch=-3 must be a whole number of at least 1"),  # hung forever
        (["--lr-batch", "0"], "lr_batch=0 must be a whole number of at least 1"),  # ZeroDivisionError
        (["--steps-per-epoch", "0"], "steps_per_epoch=0 must be"),
        (["--backup-every", "0"], "backup_every=0 must be"),
        (["--milestones", "0.5", "1.5"], "milestones=[0.5, 1.5] must be a list of numbers in (0, 1)"),
        (["--momentum", "1"], "momentum=1.0 must be a number in [0, 1)"),
        (["--lr", "nan"], "lr=nan must be a number above 0"),
    ],
)
def test_bad_numbers_are_one_sentence_before_any_work(flags, argument, tmp_path, capsys):
    train = ["train", "--model", "ResNet20", "--dataset", "digits", "--output", str(tmp_path / "run")]
    assert cli.main([*train, *flags]) == 2
    err = capsys.readouterr().err
    assert err == f"keras-resnet train: {argument}" + err.split(argument, 1)[1] and err.count("\n") == 1, err
    assert not (tmp_path / "run").exists()  # refused before the output, the data or a model


# The property test over the command line: any value of any numeric flag of `train` is refused in one sentence
# naming that flag, or passes to the next check (here a file in the way of --output, refused in one sentence
# too). Never a hang, never a traceback, and no training is needed to tell.
@pytest.mark.timeout(600)
@settings(
    max_examples=60,
    deadline=datetime.timedelta(seconds=30),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_any_numeric_flag_value_is_accepted_or_named(tmp_path_factory, data):
    from keras_resnet.utils import checks

    blocked = tmp_path_factory.mktemp("flags") / "file"
    blocked.write_text("")
    flags = [(flag, dest, action) for command, flag, dest, action in numeric_flags() if command == "train"]
    flag, dest, action = data.draw(st.sampled_from(flags))
    number = st.integers(-10, 10**6) if action.type is int else st.floats(allow_nan=True, allow_infinity=True, width=32)
    if action.nargs is None:  # one value, given as --flag=value: argparse would take "-1e+16" for an option
        values = [data.draw(number)]
        argv = [f"{flag}={values[0]}"]
    else:  # a list: argparse reads negative decimals ("-0.5"), not "-1e+16" or "-inf", as values
        values = data.draw(st.lists(st.floats(-1e6, 1e6, width=32), min_size=1, max_size=3))
        argv = [flag, *(f"{v:f}" for v in values)]
    argv = ["train", "--model", "ResNet20", "--dataset", "digits", "--output", str(blocked / "run"), *argv]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = cli.main(argv)
    err = stderr.getvalue()
    assert code == 2 and err.count("\n") == 1, (argv, err)
    given_value = [action.type(f"{v:f}") for v in values] if action.nargs == "*" else action.type(values[0])
    if action.choices is not None and given_value not in action.choices:
        assert f"argument {flag}: invalid choice" in err, (argv, err)  # argparse's own check, one line too
        return
    try:
        checks.check(dest, given_value)
        # A valid value reaches the next check: the output (or, for --cpu-devices, a TensorFlow already started).
        assert "is not writable" in err or f"{dest}={given_value}" in err, (argv, err)
    except ValueError:
        assert f"keras-resnet train: {dest}=" in err, (argv, err)


def _failing(code):
    """A sub-command `fail` whose work runs `code` (real library calls), for the exit status it gives."""

    def add(commands):
        commands.add_parser("fail").set_defaults(run=lambda args: exec(code))

    return add


@pytest.mark.parametrize(
    "code, origin",
    [
        ("import tensorflow as tf; tf.constant([[1], [2, 3]])", "tensorflow"),  # a ValueError raised in TensorFlow
        ("import keras; keras.layers.Dense(-1)", "keras"),  # a ValueError raised in Keras
        ("import tensorflow as tf; tf.reshape(tf.zeros([6]), [4])", "tensorflow (InvalidArgumentError)"),
    ],
)
def test_a_failure_inside_a_library_exits_1_in_one_line_not_2_as_a_bad_argument(code, origin, monkeypatch, capsys):
    # Before: every ValueError, even TensorFlow's, was "a bad argument" (exit 2); its other errors a traceback.
    monkeypatch.setattr(cli, "COMMANDS", [*cli.COMMANDS, _failing(code)])
    assert cli.main(["fail"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"keras-resnet fail: failed inside {origin}") and err.count("\n") == 1, err


def test_a_refused_argument_exits_2_in_one_sentence(capsys):
    assert cli.main(["paths", "ResNet20", "--mass", "2"]) == 2
    assert capsys.readouterr().err == "keras-resnet paths: mass=2.0 must be a number in (0, 1].\n"
