"""Side-by-side benchmarks behind `keras-resnet bench` (TensorFlow-only module).

Every speed claim is a ratio of medians measured against what a user would otherwise pick
(keras.applications, or the same network as a flat functional graph, `keras_resnet.bench.baselines`) on the
same machine: the compared variants take turns (ABAB...), every measurement is repeated, and each row
keeps its min / median / max. Most sections measure in one process; peak memory and the first_step
section measure each variant in a fresh process (first_step: a fresh process per measurement, also of a
JAX interpreter when one is given). Peak memory: on a CPU the growth of the peak resident set above the
process's own after imports, on a GPU TensorFlow's peak allocation. Where a GPU is visible the same code
trains under `loop.make_strategy("auto")` and its mixed precision is float16 (bfloat16 on a CPU).

    report = keras_resnet.bench.benchmark.run(["train", "build"], repeats=3, output="bench-results")
    keras_resnet.bench.benchmark.run(["first_step"], jax_python=".venv-jax/bin/python")  # TF and JAX, in turns
"""

import dataclasses
import datetime
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from keras_resnet import specs
from keras_resnet.bench import baselines, peers
from keras_resnet.bench.baselines import baseline_name, build_model, flat_twin
from keras_resnet.serving import export
from keras_resnet.training import data, loop
from keras_resnet.utils import checks

SECTIONS = ("train", "inference", "build", "first_step", "stochastic_depth", "pipeline", "startup", "peer")
# (row label, XLA, mixed precision): explicit, because Keras' jit_compile="auto" turns XLA on for GPUs.
CONFIGS = {"float32": (False, False), "XLA": (True, False), "mixed precision": (False, True)}
BUILD_WHY = (
    "TensorFlow variable creation and Keras sublayer construction, the same in both builds, are about 75% of the "
    "time; grouping layers into blocks saves only the functional graph's per-node bookkeeping"
)
# The backends whose fresh processes the first_step section times: Keras' backend name and `jit_compile`,
# explicit as everywhere in the suite: TensorFlow's graph with Grappler (Keras' own choice on a CPU; on a GPU
# it would pick XLA), and jax.jit, JAX's one compiled mode.
FIRST_STEP_BACKENDS = {"TensorFlow": ("tensorflow", False), "JAX": ("jax", True)}
TRACE_WHY = (
    "the training graph has the same ops in both (13,274 for ResNet-110 at batch 8): Python tracing of the "
    "forward pass, its gradient and the optimizer (traced twice: Keras creates the optimizer's slots inside the "
    "first trace) is ~70% of a TensorFlow first step and Grappler ~20%, both per op; blocks as layers shrink "
    "only the functional graph's node count"
)
# (model, phase) -> (target ratio to the baseline, why a miss): the goals of the first_step section.
FIRST_STEP_TARGETS = {
    ("ResNet50", "build"): (
        1.0,
        "He-normal initialisation (the paper's truncated normal) costs ~3.4x per weight "
        "what keras.applications' Glorot-uniform does",
    ),
    ("ResNet50", "to first train step"): (1.0, TRACE_WHY),
    ("ResNet1202", "build"): (0.5, BUILD_WHY),
    ("ResNet1202", "to first train step"): (0.25, TRACE_WHY),
    ("PreActResNet1001", "to first train step"): (0.25, TRACE_WHY),
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """The sizes of one run. `FULL` is what the issue asks; `QUICK` keeps every section, tiny, for tests."""

    train: tuple  # (model, image side, batch, timed steps per repeat, configs, measure memory)
    inference: tuple  # (model, image side, batch sizes)
    build: tuple  # models whose build and first training step are timed
    first_step_batch: int  # the first step is tracing and compiling; a small batch keeps compute out of it
    first_step_repeats: int  # at most this many first steps per model (a 1000-layer net's takes minutes)
    first_step: tuple  # (model, most repeats) whose phases up to the first step are timed in fresh processes
    stochastic_depth: tuple  # (model, batch, steps per "epoch")
    pipeline: tuple  # (model, images in memory, batch, timed batches, timed training steps)
    startup: tuple  # CLI commands (argument lists) whose start-up is timed against `import tensorflow`
    peer: tuple  # (model of `peers.PEERS`, batch, timed training steps, timed single-image calls, bfloat16)
    peer_jax: tuple  # models of `peer` also timed on Keras' JAX backend where a JAX interpreter is given


FULL = Settings(
    train=(("ResNet50", 224, 32, 1, tuple(CONFIGS), True), ("ResNet56", 32, 128, 2, tuple(CONFIGS), True)),
    inference=("ResNet50", 224, (1, 32)),
    build=("ResNet50", "ResNet152", "ResNet1202", "PreActResNet1001"),
    first_step_batch=8,
    first_step_repeats=1,
    first_step=(("ResNet50", 3), ("ResNet110", 3), ("ResNet1202", 1), ("PreActResNet1001", 1)),
    # 20 steps: how many blocks one step keeps is itself random (~3 of 54 blocks' spread), so a few
    # steps' time measures the draws as much as the layer.
    stochastic_depth=("ResNet110", 128, 20),
    pipeline=("ResNet20", 50000, 128, 40, 3),
    startup=(("--help",), ("models",), ("paths", "ResNet110")),
    # One row of every family and refinement at the batch of 16 a 2-core CPU trains at; the CIFAR nets at
    # 32x32, ResNeXt-29 (5.4 GFLOPs an image) at a smaller batch; bfloat16 rows for the two grouped/dense 50s.
    peer=(
        *((name, 16, 3, 5, False) for name in peers.PEERS if specs.resolve(name).input_shape[0] == 224),
        ("ResNet50", 16, 3, 5, True),
        ("ResNeXt50_32x4d", 16, 3, 5, True),
        ("ResNet56", 128, 3, 5, False),
        ("ResNeXt29_8x64d", 32, 3, 5, False),
    ),
    peer_jax=("ResNet50", "ResNeXt50_32x4d"),
)
QUICK = Settings(
    train=(("ResNet20", 32, 8, 1, ("float32",), True),),
    inference=("ResNet20", 32, (1, 4)),
    build=("ResNet20",),
    first_step_batch=2,
    first_step_repeats=1,
    first_step=(("ResNet20", 1),),  # one fresh process per variant: each imports TensorFlow (~5 s)
    stochastic_depth=("ResNet20", 16, 3),
    pipeline=("ResNet20", 2000, 16, 10, 2),
    startup=(("--help",),),
    peer=(("ResNet20", 4, 1, 1, False),),
    peer_jax=("ResNet20",),
)


def summary(samples):
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples)}


def timed(function):
    """Seconds one call of `function` takes."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def interleave(measures, repeats):
    """{name: [measurement]}: each repeat calls every measure once, in turn, so load drifts hit all alike."""
    samples = {name: [] for name in measures}
    for _ in range(repeats):
        for name, measure in measures.items():
            samples[name].append(measure())
    return samples


def machine():
    """What the numbers were measured on: CPU model, cores, memory, versions, devices, load."""
    cpu = platform.processor() or platform.machine()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as file:
            cpu = next((line.split(":", 1)[1].strip() for line in file if line.startswith("model name")), cpu)
    gpus = [
        tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
        for gpu in tf.config.list_physical_devices("GPU")
    ]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "devices": gpus or ["CPU"],
        "mixed_precision": loop.mixed_precision_policy(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }


def describe(info):
    return (
        f"{info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB, {info['platform']}, Python {info['python']}, "
        f"TensorFlow {info['tensorflow']}, Keras {info['keras']} ({info['backend']} backend), devices: "
        f"{', '.join(info['devices'])}, mixed precision {info['mixed_precision']}, load average at start "
        f"{info['load_average'][0]}"
    )


def compiled(name, variant, side, batch, xla=False, mixed=False, strategy=None, **options):
    """A model ready to train (SGD with momentum) under `strategy` (default: "auto") and one random batch."""
    with loop.dtype_policy(mixed), (strategy or loop.make_strategy("auto")).scope():
        model = build_model(name, variant, side, **options)
        if mixed:
            model.get_layer("predictions").dtype_policy = "float32"  # softmax and loss in float32
        model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy", jit_compile=xla)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.random((batch, side, side, 3), dtype=np.float32))
    y = tf.constant(rng.integers(0, model.output_shape[-1], batch))
    return model, x, y


def release():
    """Free the models built so far: a 1202-layer net's traced training graph holds gigabytes."""
    keras.backend.clear_session()
    gc.collect()


def steps(model, x, y, count):
    for _ in range(count):
        model.train_on_batch(x, y)  # returns the loss as a number: waits for the device


def _status_kib(field):
    with open("/proc/self/status") as file:
        return int(next(line.split()[1] for line in file if line.startswith(field + ":")))


def peak_memory_mb(spec):
    """Run in a fresh process: MB one training variant (`spec`, arguments of `compiled`) adds at its peak.

    On a GPU TensorFlow's peak allocation. On Linux the peak resident set (VmHWM) is restarted after the
    imports, whose own transient peak would otherwise hide a small model's; elsewhere ru_maxrss growth.
    """
    if tf.config.list_physical_devices("GPU"):
        model, x, y = compiled(**spec)
        steps(model, x, y, 2)
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")

        def peak():
            return _status_kib("VmHWM") * 1024

        before = _status_kib("VmRSS") * 1024
    except OSError:
        scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is in bytes on macOS, in KiB on Linux

        def peak():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale

        before = peak()
    model, x, y = compiled(**spec)
    steps(model, x, y, 2)
    return (peak() - before) / 2**20


def _child_env(backend):
    """The environment of a fresh benchmark process: this checkout first on the path, Keras on `backend`."""
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
        "KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        # Two processes may share a GPU: each allocates only what it uses.
        "TF_FORCE_GPU_ALLOW_GROWTH": "true",
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
    }


def _start(function, argument, python=None, backend="tensorflow"):
    """A fresh process of `python` (default: this interpreter) that prints `function(argument)` as JSON.

    `function` is a module-level function of keras_resnet taking and returning JSON-able values; the
    process imports only its module, with Keras on `backend`. `_answer` reads what it printed.
    """
    code = (
        "import importlib, json, sys; module, name = sys.argv[1].rsplit('.', 1); "
        "print(json.dumps(getattr(importlib.import_module(module), name)(json.loads(sys.argv[2]))))"
    )
    argv = [python or sys.executable, "-c", code, f"{function.__module__}.{function.__name__}", json.dumps(argument)]
    return subprocess.Popen(argv, env=_child_env(backend), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _answer(child, what):
    """What a `_start`ed process printed last, decoded; a RuntimeError naming `what` if it failed."""
    out, err = child.communicate()
    if child.returncode:
        lines = err.strip().splitlines() or [f"exit status {child.returncode}"]
        raise RuntimeError(f"{what} could not be measured: {lines[-1]}")
    return json.loads(out.strip().splitlines()[-1])


def _memory_in_fresh_processes(specs):
    """{name: MB} for each spec, each in its own process (started together; memory is per process)."""
    children = {name: _start(peak_memory_mb, spec) for name, spec in specs.items()}
    return {name: float(_answer(child, f"memory of {name}")) for name, child in children.items()}


class Report:
    """Rows (one per measured variant) and comparisons (two rows, a ratio of medians and a target)."""

    def __init__(self, mode, repeats):
        """`mode` says what was run (e.g. "`keras-resnet bench` (full)")."""
        self.mode, self.repeats = mode, repeats
        self.machine = machine()
        self.rows, self.comparisons, self.notes = [], [], []
        self.start = time.perf_counter()

    def progress(self, text):
        print(f"[{time.perf_counter() - self.start:6.0f} s] {text}", flush=True)

    def add(self, section, benchmark, variant, unit, samples):
        row = {"section": section, "benchmark": benchmark, "variant": variant, "unit": unit, **summary(samples)}
        self.rows.append(row)
        return row

    def compare(self, section, benchmark, samples, unit, target=None, higher_is_better=True, why="", **extra):
        """Add both variants of `samples` ({ours: [...], baseline: [...]}) and the ratio of their medians.

        `why` explains a missed target; a miss inside the two variants' min-max spread is also called noise.
        """
        (ours, mine), (baseline, theirs) = samples.items()
        first = self.add(section, benchmark, ours, unit, mine)
        second = self.add(section, benchmark, baseline, unit, theirs)
        ratio = first["median"] / second["median"]
        verdict = "no target"
        if target is not None:
            verdict = "met" if (ratio >= target if higher_is_better else ratio <= target) else "missed"
        noise = ""
        if verdict == "missed" and first["min"] <= second["max"] and second["min"] <= first["max"]:
            noise = (
                f"within this run's noise: the min-max ranges overlap ({first['min']:.3g}-{first['max']:.3g} vs "
                f"{second['min']:.3g}-{second['max']:.3g} {unit})"
            )
        comparison = {
            "section": section,
            "benchmark": benchmark,
            "ours": ours,
            "baseline": baseline,
            "unit": unit,
            "ratio": ratio,
            "target": target,
            "higher_is_better": higher_is_better,
            "verdict": verdict,
            "noise": noise,
            "why": "",
            **extra,
        }
        if verdict == "missed":
            self.explain(comparison, why)
        self.comparisons.append(comparison)
        self.progress(f"{benchmark}: {ours} / {baseline} = {ratio:.2f} ({verdict})")
        return comparison

    def explain(self, comparison, why):
        """Give a missed comparison its reason (also one measured after it, such as a profile), after its noise."""
        comparison["why"] = ". ".join(part for part in (comparison["noise"], why) if part) or "not explained"

    def failed(self, section, benchmark, error):
        """A benchmark that cannot run here says so instead of stopping the others."""
        reason = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
        self.comparisons.append(
            {"section": section, "benchmark": benchmark, "verdict": "could not run", "why": reason[:300]}
        )
        self.progress(f"{benchmark}: could not run ({reason[:120]})")

    def to_json(self):
        return {
            "mode": self.mode,
            "repeats": self.repeats,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - self.start, 1),
            "machine": self.machine,
            "rows": self.rows,
            "comparisons": self.comparisons,
            "notes": self.notes,
        }

    def write(self, stem):
        """Write `<stem>.json` and `<stem>.md`."""
        os.makedirs(os.path.dirname(stem) or ".", exist_ok=True)
        with open(stem + ".json", "w") as file:
            json.dump(self.to_json(), file, indent=2)
        with open(stem + ".md", "w") as file:
            file.write(self.to_markdown())
        self.progress(f"wrote {stem}.json and {stem}.md")

    def to_markdown(self):
        def number(value):
            return f"{value:.3g}" if isinstance(value, float) else str(value)

        def spread(row):
            return f"{number(row['median'])} ({number(row['min'])}-{number(row['max'])})"

        rows = {(row["benchmark"], row["variant"]): row for row in self.rows}
        lines = [
            f"Machine: {describe(self.machine)}.",
            "",
            f"{self.mode}, {self.repeats} interleaved repeats, "
            f"{self.to_json()['date']}, {self.to_json()['seconds']:.0f} s. Cells: median (min-max).",
            "",
            "| section | benchmark | ours | baseline | ratio | target | verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in self.comparisons:
            if c["verdict"] == "could not run":
                lines.append(f"| {c['section']} | {c['benchmark']} | - | - | - | - | could not run: {c['why']} |")
                continue
            ours, theirs = rows[c["benchmark"], c["ours"]], rows[c["benchmark"], c["baseline"]]
            target = "-" if c["target"] is None else f"{'>=' if c['higher_is_better'] else '<='} {c['target']}"
            lines.append(
                f"| {c['section']} | {c['benchmark']} ({c['unit']}) | {c['ours']}: {spread(ours)} | "
                f"{c['baseline']}: {spread(theirs)} | {c['ratio']:.2f} | {target} | {c['verdict']} |"
            )
        compared = {(c["benchmark"], c.get(v)) for c in self.comparisons for v in ("ours", "baseline")}
        alone = [row for row in self.rows if (row["benchmark"], row["variant"]) not in compared]
        if alone:
            lines += ["", "| section | benchmark | variant | median (min-max) |", "|---|---|---|---|"]
            lines += [
                f"| {r['section']} | {r['benchmark']} | {r['variant']} | {spread(r)} {r['unit']} |" for r in alone
            ]
        missed = [c for c in self.comparisons if c["verdict"] in ("missed", "could not run")]
        if missed:
            lines += ["", "Targets missed or not measured, and why:", ""]
            # The variant too: a row timed on two backends has the same benchmark name twice.
            lines += [f"- {c['benchmark']}{_on(c)}: {c['verdict']}; {c['why']}" for c in missed]
        if self.notes:
            lines += ["", "Notes:", ""] + [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def _on(comparison):
    """The label of our variant, in parentheses and after a space, where the comparison has one (a failure has none)."""
    return f" ({comparison['ours']})" if "ours" in comparison else ""


def bench_train(report, settings, repeats):
    """Training images/s of ours vs the baseline for each config; peak memory of the float32 config."""
    for name, side, batch, count, configs, memory in settings.train:
        for config in configs:
            xla, mixed = CONFIGS[config]
            benchmark = f"train {name} {side}x{side} batch {batch}, {config}"
            report.progress(f"{benchmark} ...")
            try:
                pair = {v: compiled(name, v, side, batch, xla=xla, mixed=mixed) for v in ("ours", "baseline")}
                for model, x, y in pair.values():
                    steps(model, x, y, 1)  # traces and compiles
                measures = {
                    label: lambda m=pair[v]: batch * count / timed(lambda: steps(*m, count))
                    for label, v in ((f"keras_resnet {name}", "ours"), (baseline_name(name), "baseline"))
                }
                report.compare(
                    "train",
                    benchmark,
                    interleave(measures, repeats),
                    "images/s",
                    1.0,
                    why="the same layers, FLOPs and kernels as the baseline; a gap outside the noise "
                    "would be the per-op cost of our block layers (not profiled in this run)",
                )
                del pair
                release()
            except Exception as error:  # noqa: BLE001 - e.g. XLA or 16-bit kernels missing on this hardware
                report.failed("train", benchmark, error)
        if memory:
            benchmark = f"train {name} {side}x{side} batch {batch}, float32, peak memory"
            report.progress(f"{benchmark} ...")
            spec = dict(name=name, side=side, batch=batch)
            try:
                mb = _memory_in_fresh_processes(
                    {
                        f"keras_resnet {name}": {**spec, "variant": "ours"},
                        baseline_name(name): {**spec, "variant": "baseline"},
                    }
                )
                unit = "MB (GPU peak)" if tf.config.list_physical_devices("GPU") else "MB (peak RSS growth)"
                report.compare("train", benchmark, {k: [v] for k, v in mb.items()}, unit, higher_is_better=False)
            except Exception as error:  # noqa: BLE001
                report.failed("train", benchmark, error)


def bench_inference(report, settings, repeats):
    """Images/s at each batch: Keras `predict_on_batch` and the exported SavedModel, ours vs keras.applications."""
    name, side, batches = settings.inference
    report.progress(f"inference {name} ...")
    models = {v: build_model(name, v, side) for v in ("ours", "baseline")}
    labels = {"ours": f"keras_resnet {name}", "baseline": baseline_name(name)}
    with tempfile.TemporaryDirectory() as base:
        # The same export around both networks: preprocessing in the graph, probabilities and top-k out.
        served = {
            v: tf.saved_model.load(export.export_saved_model(m, os.path.join(base, v), samples=1)).signatures[
                "serving_default"
            ]
            for v, m in models.items()
        }
        for batch in batches:
            pixels = tf.constant(np.random.default_rng(0).uniform(0, 255, (batch, side, side, 3)).astype(np.float32))
            scaled = pixels / 255  # the SavedModel scales inside its graph; the Keras model gets scaled pixels
            calls = {
                "Keras": {v: lambda m=m: m.predict_on_batch(scaled) for v, m in models.items()},
                "SavedModel": {v: lambda f=f: f(images=pixels)["probabilities"].numpy() for v, f in served.items()},
            }
            for kind, pair in calls.items():
                for call in pair.values():
                    call()  # traces
                measures = {labels[v]: lambda c=c: batch / timed(c) for v, c in pair.items()}
                report.compare(
                    "inference",
                    f"inference {name} {side}x{side} batch {batch}, {kind}",
                    interleave(measures, repeats),
                    "images/s",
                    1.0,
                    why="the same network as the baseline, with the same export around it; a gap outside "
                    "the noise would be the per-op cost of our block layers (not profiled in this run)",
                )


def bench_build(report, settings, repeats):
    """Build time and first-step time (compile, trace, one step) of each model, in this process; a net with a
    flat twin (`baselines.flat_twin`) against it, the others against keras.applications where it has them."""

    def run():
        for name in settings.build:
            benchmark = f"build {name}"
            report.progress(f"{benchmark} and first step ...")
            side = baselines.side(name)
            flat = flat_twin(name) is not None
            variants = ("ours", "baseline") if flat or hasattr(keras.applications, name) else ("ours",)
            labels = {"ours": f"keras_resnet {name}", "baseline": baseline_name(name)}
            builds = {labels[v]: [] for v in variants}
            firsts = {labels[v]: [] for v in variants}
            for repeat in range(repeats):
                for v in variants:
                    builds[labels[v]].append(timed(lambda v=v: build_model(name, v, side)))
                    if repeat < settings.first_step_repeats:
                        model, x, y = compiled(name, v, side, settings.first_step_batch)
                        firsts[labels[v]].append(timed(lambda: steps(model, x, y, 1)))
                        del model
                    release()
            if len(variants) == 2:
                report.compare(
                    "build", benchmark, builds, "seconds", 0.5 if flat else None, higher_is_better=False, why=BUILD_WHY
                )
                report.compare(
                    "build",
                    f"first step {name} batch {settings.first_step_batch}",
                    firsts,
                    "seconds",
                    higher_is_better=False,
                )
            else:
                report.add("build", benchmark, labels["ours"], "seconds", builds[labels["ours"]])
                report.add(
                    "build",
                    f"first step {name} batch {settings.first_step_batch}",
                    labels["ours"],
                    "seconds",
                    firsts[labels["ours"]],
                )

    baselines.deep_call(run)


def bench_first_step(report, settings, repeats, jax_python=None):
    """Seconds of each phase up to a model's first training step and prediction, every measurement a fresh
    process (`baselines.first_step_seconds`), the variants taking turns: ours vs its baseline on TensorFlow
    and, with `jax_python`, on JAX too, with JAX vs TensorFlow for ours.

    Args:
        report: the `Report` the rows and comparisons go to.
        settings: `FULL` or `QUICK`; its `first_step` rows cap each model's repeats.
        repeats: measurements of each variant (at most a row's cap).
        jax_python: a Python interpreter with jax and keras_resnet, or None for TensorFlow only.
    """
    pythons = {"TensorFlow": sys.executable, **({"JAX": jax_python} if jax_python else {})}
    batch = settings.first_step_batch
    versions = set()
    for name, most in settings.first_step:
        report.progress(f"first step {name} ...")
        labels = {
            "ours": f"keras_resnet {name}",
            "baseline": baseline_name(name),
            baselines.OPTIMIZER_FIRST: f"keras_resnet {name}, optimizer built at compile",
        }
        # The optimizer built at compile (as keras_resnet.training.optimizer.compile_model does):
        # TensorFlow's double trace.
        variants = {
            b: ("ours", "baseline", *([baselines.OPTIMIZER_FIRST] if b == "TensorFlow" else [])) for b in pythons
        }
        measures = {
            (backend, variant): lambda b=backend, v=variant: _first_step(
                report, b, pythons[b], name, v, labels[v], batch
            )
            for backend in pythons
            for variant in variants[backend]
        }
        try:
            samples = interleave(measures, min(repeats, most))
        except Exception as error:  # noqa: BLE001 - e.g. a child out of memory; the other models still run
            report.failed("first_step", f"{name} batch {batch}, fresh process", error)
            continue

        def seconds(key, phase):
            return [sum(m[p] for p in baselines.TOTALS.get(phase, (phase,))) for m in samples[key]]

        phases = (*baselines.PHASES, *baselines.TOTALS)
        for backend in pythons:
            for phase in phases:
                target, why = FIRST_STEP_TARGETS.get((name, phase), (None, ""))
                pair = {labels[v]: seconds((backend, v), phase) for v in ("ours", "baseline")}
                report.compare(
                    "first_step",
                    f"{name} batch {batch} on {backend}, fresh process: {phase}",
                    pair,
                    "seconds",
                    target,
                    higher_is_better=False,
                    why=why,
                )
        for phase in ("first train step", "to first train step"):
            pair = {labels[v]: seconds(("TensorFlow", v), phase) for v in (baselines.OPTIMIZER_FIRST, "baseline")}
            report.compare(
                "first_step",
                f"{name} batch {batch} on TensorFlow, fresh process, optimizer built at compile: {phase}",
                pair,
                "seconds",
                higher_is_better=False,
            )
        if "JAX" in pythons:
            for phase in phases:
                pair = {f"{labels['ours']} on {b}": seconds((b, "ours"), phase) for b in ("JAX", "TensorFlow")}
                report.compare(
                    "first_step",
                    f"{name} batch {batch}, JAX vs TensorFlow, fresh process: {phase}",
                    pair,
                    "seconds",
                    higher_is_better=False,
                )
        versions |= {f"{m['backend']} {m['version']}" for series in samples.values() for m in series}
    report.notes.append(
        f"first_step: each measurement is a fresh process ({', '.join(f'{b}: {p}' for b, p in pythons.items())}; "
        f"{', '.join(sorted(versions)) or 'none finished'}); imports are not timed; batch {batch}; TensorFlow "
        "without XLA (graph + Grappler), JAX under jax.jit."
    )


def _first_step(report, backend, python, name, variant, label, batch):
    """`baselines.first_step_seconds` of one variant in a fresh process of `python` on `backend`."""
    keras_backend, xla = FIRST_STEP_BACKENDS[backend]
    what = f"the first step of {label} on {backend}"
    report.progress(f"  {what} ...")
    spec = dict(name=name, variant=variant, batch=batch, xla=xla)
    answer = _answer(_start(baselines.first_step_seconds, spec, python=python, backend=keras_backend), what)
    if answer["backend"] != keras_backend:  # e.g. a Keras config file that overrides the environment
        raise RuntimeError(f"{what} ran on Keras' {answer['backend']} backend, not {keras_backend}")
    return answer


def bench_stochastic_depth(report, settings, repeats, jax_python=None):
    """Seconds per "epoch" (a fixed number of steps) with survival p_L=0.5 vs constant depth.

    Args:
        report: the `Report` the rows and comparisons go to.
        settings: `FULL` or `QUICK` (its `stochastic_depth` model, batch and steps per epoch).
        repeats: interleaved epochs of each variant.
        jax_python: a Python interpreter with jax and keras_resnet: the pair is then also timed on Keras' JAX
            backend (jax.jit), in a fresh process of it. None: this process's backend only.
    """
    name, batch, count = settings.stochastic_depth
    spec = dict(name=name, batch=batch, steps=count, repeats=repeats)
    expected = statistics.mean(
        block.survival_prob for block in specs.resolve(name, stochastic_depth=0.5).residual_blocks
    )
    answers = {}
    if jax_python:  # first: the fresh process gets the GPU's memory before this one's TensorFlow takes it
        report.progress(f"stochastic depth {name} on JAX ...")
        try:
            answers["JAX"] = _answer(
                _start(baselines.stochastic_depth_seconds, spec, python=jax_python, backend="jax"),
                f"stochastic depth of {name} on JAX",
            )
        except RuntimeError as error:
            report.failed("stochastic_depth", f"{name} on JAX", error)
    report.progress(f"stochastic depth {name} ...")
    answers = {keras.backend.backend(): baselines.stochastic_depth_seconds(spec), **answers}
    release()
    for backend, answer in answers.items():
        skips = (
            f"a dropped block skips its branch (keras.ops.cond: tf.cond, jax.lax.cond), so the time should approach "
            f"the expected depth fraction {expected:.3f}; what is left is the stem, head, shortcuts and optimizer "
            "update of every weight, which stochastic depth does not skip"
        )
        computes = (
            "here a dropped block's branch is computed and discarded (keras_resnet.layers.stochastic_depth_path() "
            "is 'select': XLA on the CPU runs convolution gradients inside a conditional far slower), so no saving "
            "is expected"
        )
        report.compare(
            "stochastic_depth",
            f"{name} 32x32 batch {batch}, epoch = {count} steps{', on JAX' if backend == 'JAX' else ''}",
            {f"{name}, p_L=0.5": answer["p_L=0.5"], f"{name}, constant depth": answer["constant depth"]},
            "seconds per epoch",
            0.8,
            higher_is_better=False,
            expected_depth_fraction=expected,
            path=answer["path"],
            why=skips if answer["path"] == "cond" else computes,
        )


def bench_pipeline(report, settings, repeats):
    """Images/s the tf.data pipeline (CIFAR augmentation) delivers vs what training the model consumes."""
    name, images, batch, batches, count = settings.pipeline
    report.progress(f"pipeline vs {name} ...")
    pixels = np.random.default_rng(0).integers(0, 256, (images, 32, 32, 3), dtype="uint8")
    labels = np.arange(images) % 10
    source = data.load(((pixels, labels), (pixels[:100], labels[:100])))
    iterator = iter(data.pipeline(source.train, training=True, batch_size=batch, stats=source.stats(1000)))
    next(iterator)  # fills the buffers and starts the threads
    model, x, y = compiled(name, "ours", 32, batch)
    steps(model, x, y, 1)
    measures = {
        "tf.data pipeline": lambda: batch * batches / timed(lambda: [next(iterator) for _ in range(batches)]),
        f"{name} training": lambda: batch * count / timed(lambda: steps(model, x, y, count)),
    }
    report.compare(
        "pipeline",
        f"CIFAR augmentation batch {batch} vs {name} training",
        interleave(measures, repeats),
        "images/s",
        3.0,
        why="the pipeline cannot feed training: raise its parallelism or cache",
    )


def bench_startup(report, settings, repeats):
    """Seconds from start to exit of CLI commands that need no TensorFlow vs `python -c "import tensorflow"`,
    each a fresh process, interleaved: what a user waits for before the first line of `--help`."""
    report.progress("CLI start-up ...")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}

    def run(argv):
        return timed(lambda: subprocess.run(argv, env=env, check=True, capture_output=True))

    baseline = [sys.executable, "-c", "import tensorflow"]
    for command in settings.startup:
        measures = {
            f"keras-resnet {' '.join(command)}": lambda c=command: run([sys.executable, "-m", "keras_resnet", *c]),
            "import tensorflow": lambda: run(baseline),
        }
        report.compare(
            "startup",
            f"keras-resnet {' '.join(command)} start to exit",
            interleave(measures, repeats),
            "seconds",
            0.25,
            higher_is_better=False,
            why="the command imports TensorFlow (or Keras) where it needs neither",
        )


def torch_ready(python):
    """Why `python` cannot run the peer section (no torch or timm), or None where it can."""
    probe = "import torch, timm, keras_resnet.bench.peers"
    try:
        answer = subprocess.run([python, "-c", probe], env=_child_env("torch"), capture_output=True, text=True)
    except OSError as error:
        return f"it does not start: {error.strerror}"
    if answer.returncode:
        return (answer.stderr.strip().splitlines() or [f"exit status {answer.returncode}"])[-1]
    return None


def bench_peer(report, settings, repeats, torch_python=None, jax_python=None):
    """Ours against the peer users would otherwise pick (`keras_resnet.bench.peers`: timm on PyTorch, or the same
    CIFAR net in plain PyTorch), training and single-image inference, each measurement a fresh process,
    ours and the peer taking turns. Skipped, in one line, where `torch_python` has no torch or timm.

    Args:
        report: the `Report` the rows and comparisons go to.
        settings: `FULL` or `QUICK` (its `peer` rows).
        repeats: fresh processes of each side per row (each times its steps and calls after a warm-up).
        torch_python: a Python interpreter with torch, timm and keras_resnet (default: this one).
        jax_python: a Python interpreter with jax and keras_resnet: the rows of `settings.peer_jax` then also
            time ours on Keras' JAX backend (jax.jit), in turns with the others. None: TensorFlow only.
    """
    python = torch_python or sys.executable
    missing = torch_ready(python)
    if missing:
        line = f"peer: skipped: {python} cannot run timm ({missing}); install it with `pip install -e '.[torch]' timm`"
        report.notes.append(line)
        report.progress(line)
        return
    versions = set()
    for name, batch, count, calls, mixed in settings.peer:
        peer = peers.PEERS[name][0]
        precision = "bfloat16" if mixed else "float32"
        side = specs.resolve(name).input_shape[0]
        spec = dict(name=name, batch=batch, steps=count, calls=calls, mixed=mixed)
        labels = {
            "ours": f"keras_resnet {name} ({keras.backend.backend()})",
            "peer": f"{peer} (PyTorch)",
            "jax": f"keras_resnet {name} (jax)",
        }
        report.progress(f"peer {name} vs {peer}, {precision} ...")
        measures = {
            "ours": lambda: _answer(_start(peers.keras_seconds, spec), f"{labels['ours']}, {precision}"),
            "peer": lambda: _answer(
                _start(peers.torch_seconds, spec, python=python, backend="torch"), f"{labels['peer']}, {precision}"
            ),
        }
        if jax_python and name in settings.peer_jax and not mixed:
            measures["jax"] = lambda: _answer(
                _start(peers.keras_seconds, spec, python=jax_python, backend="jax"), f"{labels['jax']}, {precision}"
            )
        try:
            samples = interleave(measures, repeats)
        except Exception as error:  # noqa: BLE001 - e.g. out of memory; the other rows still run
            report.failed("peer", f"{name} vs {peer}, {precision}", error)
            continue
        versions |= {answer["version"] for answer in samples["peer"]}
        counts = {v: samples[v][0]["parameters"] for v in samples}
        missed = {}
        for kind, shape in (("train", f"batch {batch}"), ("inference", "batch 1")):
            for ours in [v for v in ("ours", "jax") if v in samples]:
                pair = {labels[v]: [rate for answer in samples[v] for rate in answer[kind]] for v in (ours, "peer")}
                comparison = report.compare(
                    "peer",
                    f"{kind} {name} {side}x{side} {shape}, {precision}",
                    pair,
                    "images/s",
                    1.0,
                    parameters=counts,
                )
                if comparison["verdict"] == "missed":
                    missed[ours, kind] = comparison
        if missed and keras.backend.backend() == "tensorflow":
            _explain_by_profile(report, spec, missed, peer, python, jax_python)
    report.notes.append(
        f"peer: {', '.join(sorted(versions)) or 'PyTorch not measured'}; every measurement a fresh process, ours and "
        "the peer in turns; SGD with momentum on one random batch, PyTorch channels_last (torch.autocast for "
        "bfloat16), single-image inference under torch.inference_mode and Keras' predict_on_batch; rates pooled "
        "over every timed step of every process."
    )


def _explain_by_profile(report, spec, missed, peer, python, jax_python):
    """Explain each of `missed` ({(side, "train" or "inference"): comparison}, side "ours" or "jax") by where both
    sides spend the time: one profiled fresh process each (`peers.keras_profile`, `peers.jax_trace` read by
    `peers.xla_profile`, `peers.torch_profile`), the layer types whose summed op times differ most first."""
    profiled = {**spec, "steps": min(spec["steps"], 3), "calls": min(spec["calls"], 10)}
    profiles = {}
    try:
        with tempfile.TemporaryDirectory() as folder:
            if any(side == "ours" for side, _ in missed):
                profiles["ours"] = _answer(_start(peers.keras_profile, profiled), f"the profile of {spec['name']}")
            if any(side == "jax" for side, _ in missed):
                traces = _answer(
                    _start(peers.jax_trace, {**profiled, "folder": folder}, python=jax_python, backend="jax"),
                    f"the JAX profile of {spec['name']}",
                )
                counts = {"train": profiled["steps"], "inference": profiled["calls"]}
                profiles["jax"] = {kind: peers.xla_profile(traces[kind], counts[kind]) for kind in traces}
        profiles["peer"] = _answer(
            _start(peers.torch_profile, profiled, python=python, backend="torch"), f"{peer}'s profile"
        )
    except RuntimeError as error:
        for comparison in missed.values():
            report.explain(comparison, f"not profiled: {error}")
        return
    for (side, kind), comparison in missed.items():
        mine, other = profiles[side][kind], profiles["peer"][kind]
        kinds = sorted(set(mine) | set(other), key=lambda k: -abs(mine.get(k, 0.0) - other.get(k, 0.0)))
        parts = [f"{k} {mine.get(k, 0.0):.4g} vs {other.get(k, 0.0):.4g}" for k in kinds[:4]]
        report.explain(
            comparison,
            f"profiled, ms of op time a{' step' if kind == 'train' else 'n image'} by layer type, ours vs {peer} "
            f"(largest differences first): {', '.join(parts)}; in all {sum(mine.values()):.4g} vs "
            f"{sum(other.values()):.4g}",
        )


BENCHMARKS = {
    "train": bench_train,
    "inference": bench_inference,
    "build": bench_build,
    "first_step": bench_first_step,
    "stochastic_depth": bench_stochastic_depth,
    "pipeline": bench_pipeline,
    "startup": bench_startup,
    "peer": bench_peer,
}


def default_output():
    """benchmarks/results in a checkout of this project, ./bench-results elsewhere."""
    return (
        os.path.join("benchmarks", "results")
        if os.path.isdir(os.path.join("benchmarks", "results"))
        else "bench-results"
    )


def check_jax_python(python):
    """Refuse, in one sentence, an interpreter that cannot run keras_resnet on Keras' JAX backend.

    Args:
        python: the path of a Python interpreter (e.g. `.venv-jax/bin/python`).

    Returns:
        `python`.

    Raises:
        ValueError: it does not start, or cannot import keras_resnet with Keras on JAX.
    """
    probe = "import keras, keras_resnet.bench.baselines; print(keras.backend.backend())"
    try:
        answer = subprocess.run([python, "-c", probe], env=_child_env("jax"), capture_output=True, text=True)
    except OSError as error:
        raise ValueError(
            f"jax_python={python!r} does not start ({error.strerror}): pass the path of a Python "
            "interpreter that has jax and keras_resnet, e.g. .venv-jax/bin/python."
        ) from None
    if answer.returncode or answer.stdout.split()[-1:] != ["jax"]:
        reason = (answer.stderr.strip().splitlines() or [f"it runs Keras on {answer.stdout.strip()}"])[-1]
        raise ValueError(
            f"jax_python={python!r} cannot run keras_resnet on JAX ({reason}): install it there with "
            "`pip install -e '.[jax]'`."
        )
    return python


def run(sections=SECTIONS, *, repeats=3, quick=False, output=None, jax_python=None, torch_python=None):
    """Run `sections` of the suite and write `bench.json` and `bench.md` (`bench-quick.*` when quick).

    Args:
        sections: names from `SECTIONS`.
        repeats: interleaved repeats of every measurement (min / median / max over them).
        quick: tiny models and sizes (every section in well under a minute), for tests and smoke runs.
        output: directory of the two files (default: `default_output()`).
        jax_python: a Python interpreter with jax and keras_resnet (e.g. `.venv-jax/bin/python`): the
            first_step section then also times every variant on Keras' JAX backend, in fresh processes of it
            taking turns with the TensorFlow ones, and compares JAX with TensorFlow; stochastic_depth times its
            pair on JAX too (a fresh process), and peer its `peer_jax` rows. None: TensorFlow only.
        torch_python: a Python interpreter with torch, timm and keras_resnet for the peer section (default:
            this one; the section is skipped in one line where it has no torch or timm).

    Returns:
        The report as a dict (what `bench.json` holds).
    """
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown benchmark section(s) {', '.join(unknown)}: choose from {', '.join(SECTIONS)}")
    checks.check("repeats", repeats)
    if jax_python is not None:
        if not {"first_step", "stochastic_depth", "peer"} & set(sections):
            raise ValueError(
                "jax_python times the first_step, stochastic_depth and peer sections only: add one of them to the "
                "sections."
            )
        check_jax_python(jax_python)
    report = Report(f"`keras-resnet bench` ({'quick' if quick else 'full'})", repeats)
    report.progress(describe(report.machine))
    on_jax = " (first_step, stochastic_depth and peer on JAX too)" if jax_python else " only"
    report.notes.append(
        f"Measured on the TensorFlow backend{on_jax}: the suite times TensorFlow's tf.data, SavedModel and "
        "tf.distribute paths."
    )
    settings = QUICK if quick else FULL
    stem = os.path.join(output or default_output(), "bench-quick" if quick else "bench")
    for section in sections:
        try:
            options = {
                "first_step": {"jax_python": jax_python},
                "stochastic_depth": {"jax_python": jax_python},
                "peer": {"torch_python": torch_python, "jax_python": jax_python},
            }.get(section, {})
            BENCHMARKS[section](report, settings, repeats, **options)
        except Exception as error:  # noqa: BLE001 - one section that cannot run here must not stop the others
            report.failed(section, section, error)
        report.write(stem)  # after every section: an interrupted full run keeps what it measured
    return report.to_json()
