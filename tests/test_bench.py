"""`keras-resnet bench`: the quick suite writes every section with real, finite timings and verdicts."""

import json
import math
import subprocess
import sys

import pytest

from keras_resnet import benchmark, cli


def test_quick_bench_writes_every_section_with_verdicts(tmp_path, capsys):
    assert cli.main(["bench", "--quick", "--repeats", "2", "--output", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bench-quick.json").read_text())
    markdown = (tmp_path / "bench-quick.md").read_text()

    assert report["machine"]["cores"] >= 1 and report["machine"]["tensorflow"] and report["machine"]["cpu"]
    assert {c["section"] for c in report["comparisons"]} == set(benchmark.SECTIONS)
    assert not [c for c in report["comparisons"] if c["verdict"] == "could not run"]
    for row in report["rows"]:
        assert row["n"] >= 1 and 0 < row["min"] <= row["median"] <= row["max"] and math.isfinite(row["max"])
    for comparison in report["comparisons"]:
        assert math.isfinite(comparison["ratio"]) and comparison["ratio"] > 0
        if comparison["target"] is None:
            assert comparison["verdict"] == "no target"
        else:
            assert comparison["verdict"] in ("met", "missed")
            assert (comparison["verdict"] == "missed") == bool(comparison["why"])
    stochastic = next(c for c in report["comparisons"] if c["section"] == "stochastic_depth")
    assert stochastic["target"] == 0.8 and 0.5 < stochastic["expected_depth_fraction"] < 1
    timed_rows = [r for r in report["rows"] if r["unit"] in ("images/s", "seconds", "seconds per epoch")]
    assert all(r["n"] == 2 for r in timed_rows if not r["benchmark"].startswith("first step"))

    assert markdown.startswith("Machine: ") and report["machine"]["cpu"] in markdown
    for comparison in report["comparisons"]:
        assert f"| {comparison['section']} | {comparison['benchmark']}" in markdown
        assert f"{comparison['ratio']:.2f} |" in markdown
    assert "could not run" not in markdown


def test_bench_rejects_an_unknown_section(tmp_path, capsys):
    assert cli.main(["bench", "--only", "train,speed", "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "speed" in err and "stochastic_depth" in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_bench_help_explains_every_flag():
    out = subprocess.run([sys.executable, "-m", "keras_resnet", "bench", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for flag in ("--only", "--repeats", "--output", "--quick"):
        assert flag in out.stdout
    parser = cli.parser()
    bench = parser._subparsers._group_actions[0].choices["bench"]
    assert all(action.help for action in bench._actions)
    help_text = " ".join(out.stdout.split())
    assert all(section in help_text for section in benchmark.SECTIONS)


@pytest.mark.parametrize("repeats", [0, -1])
def test_bench_rejects_repeats_below_one(tmp_path, repeats):
    with pytest.raises(ValueError, match="positive integer"):
        benchmark.run(["pipeline"], repeats=repeats, quick=True, output=str(tmp_path))
