"""`keras-resnet bench`: the quick suite writes every section with real, finite timings and verdicts."""

import json
import math
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_resnet
from keras_resnet import cli, specs
from keras_resnet.bench import baselines, benchmark, peers

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The whole quick suite, run once through the command line: (report, markdown)."""
    output = tmp_path_factory.mktemp("bench")
    assert cli.main(["bench", "--quick", "--repeats", "1", "--output", str(output)]) == 0
    return json.loads((output / "bench-quick.json").read_text()), (output / "bench-quick.md").read_text()


def test_quick_bench_writes_every_section_with_verdicts(quick_run):
    report, markdown = quick_run

    assert report["machine"]["cores"] >= 1 and report["machine"]["tensorflow"] and report["machine"]["cpu"]
    # The peer section needs torch and timm, which this interpreter may lack (then it says so in one note).
    skipped = {"peer"} if benchmark.torch_ready(sys.executable) else set()
    assert {c["section"] for c in report["comparisons"]} == set(benchmark.SECTIONS) - skipped
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
    assert stochastic["path"] == "cond"  # TensorFlow skips a dropped branch on every device
    timed_rows = [r for r in report["rows"] if r["unit"] in ("images/s", "seconds", "seconds per epoch")]
    # --repeats reaches every section (1 here, the default is 3); the first steps are capped (QUICK.first_step:
    # one fresh process per variant).
    assert all(
        r["n"] == 1 for r in timed_rows if not r["benchmark"].startswith("first step") and r["section"] != "first_step"
    )

    assert markdown.startswith("Machine: ") and report["machine"]["cpu"] in markdown
    for comparison in report["comparisons"]:
        assert f"| {comparison['section']} | {comparison['benchmark']}" in markdown
        assert f"{comparison['ratio']:.2f} |" in markdown
    assert "could not run" not in markdown


def test_quick_first_step_times_every_phase_of_both_variants_in_fresh_processes(quick_run):
    report, _ = quick_run
    (name, _), batch = benchmark.QUICK.first_step[0], benchmark.QUICK.first_step_batch
    rows = {(r["benchmark"], r["variant"]): r for r in report["rows"] if r["section"] == "first_step"}
    phases = (*baselines.PHASES, *baselines.TOTALS)
    for phase in phases:
        for variant in (f"keras_resnet {name}", f"flat functional {name}"):
            row = rows[f"{name} batch {batch} on TensorFlow, fresh process: {phase}", variant]
            assert row["unit"] == "seconds" and row["n"] == 1 and 0 < row["min"] <= row["max"] < 600

    def seconds(phase, variant):
        return rows[f"{name} batch {batch} on TensorFlow, fresh process: {phase}", variant]["median"]

    for variant in (f"keras_resnet {name}", f"flat functional {name}"):
        assert seconds("total", variant) == pytest.approx(sum(seconds(p, variant) for p in baselines.PHASES))
        assert seconds("first train step", variant) > seconds("compile", variant)  # it traces; compile does not
    comparisons = [c for c in report["comparisons"] if c["section"] == "first_step"]
    assert len(comparisons) == len(phases) + 2 and all(c["verdict"] == "no target" for c in comparisons)
    prebuilt = rows[
        f"{name} batch {batch} on TensorFlow, fresh process, optimizer built at compile: first train step",
        f"keras_resnet {name}, optimizer built at compile",
    ]
    assert 0 < prebuilt["min"] <= prebuilt["max"] < 600
    assert any(note.startswith("first_step: each measurement is a fresh process") for note in report["notes"])
    full = {model for model, _ in benchmark.FULL.first_step}  # the goals name models and phases the full run has
    assert all(
        model in full and phase in phases and target > 0 and why
        for (model, phase), (target, why) in benchmark.FIRST_STEP_TARGETS.items()
    )


# PreAct-164 is PreAct-11's bottleneck blocks 18 times over (11 s on 2 cores): the slow run checks it.
@pytest.mark.parametrize(
    "family, depth",
    [("cifar_resnet", 20), ("preact_resnet", 11), pytest.param("preact_resnet", 164, marks=pytest.mark.slow)],
)
def test_flat_twins_have_our_layers_weights_and_parameters(family, depth, images):
    ours, flat = keras_resnet.build(family, depth=depth), baselines.FLAT_TWINS[family](depth)

    def shapes(weights):
        return sorted(tuple(w.shape) for w in weights)

    assert flat.count_params() == ours.count_params()
    assert shapes(flat.trainable_weights) == shapes(ours.trainable_weights)
    assert shapes(flat.non_trainable_weights) == shapes(ours.non_trainable_weights)
    assert flat.output_shape == ours.output_shape
    # The same computation: every weight set from its shape alone (kernels scaled by their fan-in, BN vectors
    # positive), so both graphs hold the same values and their pooled features agree in both modes.
    for model in (ours, flat):
        for w in model.weights:
            rng = np.random.default_rng(list(w.shape))
            fan_in = math.prod(w.shape[:-1])
            w.assign(rng.normal(0, fan_in**-0.5, w.shape) if len(w.shape) > 1 else rng.uniform(0.5, 1.5, w.shape))

    def pooled(model):
        return keras.Model(model.input, model.get_layer(index=-2).output)

    x = images((32, 32, 3), n=2)
    for training in (False, True):
        np.testing.assert_allclose(
            pooled(flat)(x, training=training), pooled(ours)(x, training=training), rtol=1e-5, atol=1e-6
        )


# Building the 1001-layer flat graph takes 20-30 s on 2 cores: the slow run checks it. The default run checks the
# same twin code on PreAct-11 (above) and deep_call's deeper stack (below).
@pytest.mark.slow
def test_flat_preact_resnet_1001_has_the_parameters_of_ours():
    # Its flat graph recurses past Python's default limit: deep_call gives it the stack it needs.
    flat = baselines.deep_call(lambda: baselines.flat_preact_resnet(1001))
    assert flat.count_params() == sum(specs.resolve("PreActResNet1001").parameters()) == 10_476_922


def test_baselines_are_named_by_the_twin_they_have():
    assert baselines.baseline_name("PreActResNet1001") == "flat functional PreActResNet1001"
    assert baselines.baseline_name("PreActResNet110") == "keras.applications.PreActResNet110"  # basic blocks: no twin
    assert baselines.baseline_name("ResNet50") == "keras.applications.ResNet50"


def test_deep_call_returns_and_raises_what_the_function_does():
    assert baselines.deep_call(lambda: sys.getrecursionlimit()) == 100_000

    def depth(n):  # Python frames 30 times past the default limit, as a 1000-layer flat graph's build
        return 0 if n == 0 else 1 + depth(n - 1)

    assert baselines.deep_call(lambda: depth(30_000)) == 30_000
    with pytest.raises(KeyError, match="inside"):
        baselines.deep_call(lambda: {}["inside"])
    assert sys.getrecursionlimit() < 100_000


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--only", "first_step", "--jax-python", "/nonexistent/python"], "does not start"),
        (["--only", "first_step", "--jax-python", sys.executable], "cannot run keras_resnet on JAX"),
        (["--only", "build", "--jax-python", sys.executable], "first_step, stochastic_depth and peer sections only"),
    ],
)
def test_bench_refuses_a_jax_python_it_cannot_use_before_any_work(argv, message, tmp_path, capsys):
    if (
        message == "cannot run keras_resnet on JAX"
        and subprocess.run([sys.executable, "-c", "import jax"]).returncode == 0
    ):
        pytest.skip("this interpreter has jax")
    assert cli.main(["bench", *argv, "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_quick_first_step_on_jax_too(tmp_path):
    jax_python = ROOT / ".venv-jax" / "bin" / "python"
    if not jax_python.exists():
        pytest.skip("no JAX environment (python3 -m venv .venv-jax && .venv-jax/bin/pip install -e '.[jax]')")
    report = benchmark.run(["first_step"], repeats=1, quick=True, output=str(tmp_path), jax_python=str(jax_python))
    benchmarks = {c["benchmark"] for c in report["comparisons"]}
    assert not [c for c in report["comparisons"] if c["verdict"] == "could not run"]
    for phase in (*baselines.PHASES, *baselines.TOTALS):
        for where in ("on TensorFlow", "on JAX", "JAX vs TensorFlow"):
            assert any(b.endswith(f": {phase}") and where in b for b in benchmarks), (where, phase)
    assert all(r["min"] > 0 and math.isfinite(r["max"]) for r in report["rows"])
    assert any("JAX: " in note and "jax " in note for note in report["notes"])


@pytest.mark.slow
def test_quick_stochastic_depth_on_jax_too(tmp_path):
    jax_python = ROOT / ".venv-jax" / "bin" / "python"
    if not jax_python.exists():
        pytest.skip("no JAX environment (python3 -m venv .venv-jax && .venv-jax/bin/pip install -e '.[jax]')")
    report = benchmark.run(
        ["stochastic_depth"], repeats=1, quick=True, output=str(tmp_path), jax_python=str(jax_python)
    )
    name, batch, count = benchmark.QUICK.stochastic_depth
    on_tf, on_jax = report["comparisons"]
    assert on_tf["benchmark"] == f"{name} 32x32 batch {batch}, epoch = {count} steps"
    assert on_jax["benchmark"] == f"{on_tf['benchmark']}, on JAX"
    for comparison in (on_tf, on_jax):
        assert comparison["verdict"] in ("met", "missed") and comparison["ratio"] > 0 and comparison["target"] == 0.8
    assert on_tf["path"] == "cond" and on_jax["path"] in ("cond", "select")  # "select": JAX on a CPU
    assert len(report["rows"]) == 4 and all(r["n"] == 1 and 0 < r["min"] < math.inf for r in report["rows"])


def test_peer_section_without_torch_is_skipped_in_one_note(quick_run):
    report, markdown = quick_run
    missing = benchmark.torch_ready(sys.executable)
    notes = [note for note in report["notes"] if note.startswith("peer: skipped")]
    if missing is None:
        pytest.skip("this interpreter has torch and timm: test_quick_peer_against_timm measures it")
    assert len(notes) == 1 and "pip install -e '.[torch]' timm" in notes[0] and notes[0] in markdown


def test_our_side_of_a_peer_row_trains_and_infers_the_named_model():
    answer = peers.keras_seconds(dict(name="ResNet20", batch=4, steps=2, calls=2, mixed=False))
    assert answer["parameters"] == 271_098 and answer["backend"] == keras.backend.backend()
    assert len(answer["train"]) == 2 and len(answer["inference"]) == 2
    assert all(0 < rate < math.inf for rate in answer["train"] + answer["inference"])


def test_op_kind_names_the_layer_type_of_either_frameworks_ops():
    kinds = {
        "_MklNativeConv2DBackpropFilter": "convolution",
        "aten::convolution_backward": "convolution",
        "_MklNativeFusedBatchNormGradV3": "normalisation",
        "aten::native_batch_norm_backward": "normalisation",
        "SplitV": "split and concatenation",
        "aten::cat": "split and concatenation",
        "ReluGrad": "activation",
        "aten::threshold_backward": "activation",
        "ResourceApplyKerasMomentum": "optimizer",
        "_MklMatMul": "matrix multiply",
        "AddN": "elementwise",
        "SparseSoftmaxCrossEntropyWithLogits": "other",
    }
    assert {op: peers.op_kind(op) for op in kinds} == kinds


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's profiler")
def test_keras_profile_says_where_a_step_and_an_inference_go_by_layer_type():
    profile = peers.keras_profile(dict(name="ResNet20", batch=8, steps=1, calls=2, mixed=False))
    train, inference = profile["train"], profile["inference"]
    assert next(iter(train)) == "convolution" and list(train.values()) == sorted(train.values(), reverse=True)
    assert train["normalisation"] > 0 and train["optimizer"] > 0  # the fused kernel, and SGD's update
    assert "optimizer" not in inference and 0 < sum(inference.values()) < sum(train.values())


TORCH_PYTHON = ROOT / ".venv-torch" / "bin" / "python"


@pytest.mark.slow
def test_quick_peer_against_timm(tmp_path):
    if benchmark.torch_ready(str(TORCH_PYTHON)):
        pytest.skip(
            "no PyTorch environment (python3 -m venv .venv-torch && .venv-torch/bin/pip install -e '.[torch]' timm)"
        )
    report = benchmark.run(["peer"], repeats=1, quick=True, output=str(tmp_path), torch_python=str(TORCH_PYTHON))
    comparisons = [c for c in report["comparisons"] if c["section"] == "peer"]
    assert [c["benchmark"].split()[0] for c in comparisons] == ["train", "inference"]
    assert all(c["verdict"] in ("met", "missed") and c["ratio"] > 0 for c in comparisons)
    # a miss is explained by both sides' profiles
    assert all("profiled, ms of op time" in c["why"] for c in comparisons if c["verdict"] == "missed")
    # the plain-PyTorch twin has our parameters, BatchNorm statistics included
    assert len(set(comparisons[0]["parameters"].values())) == 1
    assert any(note.startswith("peer: torch ") for note in report["notes"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ResNet56", "ResNeXt29_8x64d", "ResNet50", "ResNeXt50_32x4d", "DenseNet121"])
def test_each_peer_has_our_parameter_count(name):
    if benchmark.torch_ready(str(TORCH_PYTHON)):
        pytest.skip("no PyTorch environment")
    peer, options = peers.PEERS[name]
    code = "import sys; from keras_resnet import peers; print(peers.torch_parameters(peers.torch_model(sys.argv[1])))"
    env = {**benchmark._child_env("torch")}
    answer = subprocess.run([str(TORCH_PYTHON), "-c", code, peer], env=env, capture_output=True, text=True, check=True)
    assert int(answer.stdout.split()[-1]) == keras_resnet.build(name, **options).count_params()


def test_bench_rejects_an_unknown_section(tmp_path, capsys):
    assert cli.main(["bench", "--only", "train,speed", "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "speed" in err and "stochastic_depth" in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_bench_help_explains_every_flag():
    out = subprocess.run([sys.executable, "-m", "keras_resnet", "bench", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for flag in ("--only", "--repeats", "--output", "--quick", "--jax-python", "--torch-python"):
        assert flag in out.stdout
    parser = cli.parser()
    bench = parser._subparsers._group_actions[0].choices["bench"]
    assert all(action.help for action in bench._actions)
    help_text = " ".join(out.stdout.split())
    assert all(section in help_text for section in benchmark.SECTIONS)


@pytest.mark.parametrize("repeats", [0, -1])
def test_bench_rejects_repeats_below_one(tmp_path, repeats):
    with pytest.raises(ValueError, match=rf"repeats={repeats} must be a whole number of at least 1: 3 or more"):
        benchmark.run(["pipeline"], repeats=repeats, quick=True, output=str(tmp_path))
