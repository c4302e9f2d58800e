"""Side-by-side benchmarks behind `keras-resnet bench` (TensorFlow-only module).

Every speed claim is a ratio of medians measured in one process against what a user would otherwise
pick (keras.applications, or the same network as a flat functional graph) on the same machine: the
compared variants take turns (ABAB...), every measurement is repeated, and each row keeps its
min / median / max. Peak memory is measured for each variant in a fresh process: on a CPU the growth
of the peak resident set above the process's own after imports, on a GPU TensorFlow's peak allocation.
Where a GPU is visible the same code trains under `training.make_strategy("auto")` and its mixed
precision is float16 (bfloat16 on a CPU).

    report = keras_resnet.benchmark.run(["train", "build"], repeats=3, output="bench-results")
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
import threading
import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from keras_resnet import data, export, specs, training, zoo
from keras_resnet.layers import ZeroPadShortcut
from keras_resnet.specs import BN_EPSILON, BN_MOMENTUM

SECTIONS = ("train", "inference", "build", "stochastic_depth", "pipeline", "startup")
# (row label, XLA, mixed precision): explicit, because Keras' jit_compile="auto" turns XLA on for GPUs.
CONFIGS = {"float32": (False, False), "XLA": (True, False), "mixed precision": (False, True)}


@dataclasses.dataclass(frozen=True)
class Settings:
    """The sizes of one run. `FULL` is what the issue asks; `QUICK` keeps every section, tiny, for tests."""

    train: tuple  # (model, image side, batch, timed steps per repeat, configs, measure memory)
    inference: tuple  # (model, image side, batch sizes)
    build: tuple  # models whose build and first training step are timed
    first_step_batch: int  # the first step is tracing and compiling; a small batch keeps compute out of it
    first_step_repeats: int  # at most this many first steps per model (a 1000-layer net's takes minutes)
    stochastic_depth: tuple  # (model, batch, steps per "epoch")
    pipeline: tuple  # (model, images in memory, batch, timed batches, timed training steps)
    startup: tuple  # CLI commands (argument lists) whose start-up is timed against `import tensorflow`


FULL = Settings(
    train=(("ResNet50", 224, 32, 1, tuple(CONFIGS), True), ("ResNet56", 32, 128, 2, tuple(CONFIGS), True)),
    inference=("ResNet50", 224, (1, 32)),
    build=("ResNet50", "ResNet152", "ResNet1202", "PreActResNet1001"),
    first_step_batch=8,
    first_step_repeats=1,
    # 20 steps: how many blocks one step keeps is itself random (~3 of 54 blocks' spread), so a few
    # steps' time measures the draws as much as the layer.
    stochastic_depth=("ResNet110", 128, 20),
    pipeline=("ResNet20", 50000, 128, 40, 3),
    startup=(("--help",), ("models",), ("paths", "ResNet110")),
)
QUICK = Settings(
    train=(("ResNet20", 32, 8, 1, ("float32",), True),),
    inference=("ResNet20", 32, (1, 4)),
    build=("ResNet20",),
    first_step_batch=2,
    first_step_repeats=1,
    stochastic_depth=("ResNet20", 16, 3),
    pipeline=("ResNet20", 2000, 16, 10, 2),
    startup=(("--help",),),
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
        "mixed_precision": training.mixed_precision_policy(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }


def describe(info):
    return (
        f"{info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB, {info['platform']}, Python {info['python']}, "
        f"TensorFlow {info['tensorflow']}, Keras {info['keras']} ({info['backend']} backend), devices: "
        f"{', '.join(info['devices'])}, mixed precision {info['mixed_precision']}, load average at start "
        f"{info['load_average'][0]}"
    )


def flat_cifar_resnet(depth, classes=10, input_shape=(32, 32, 3)):
    """The naive baseline: a CIFAR ResNet (option-A shortcuts) as a flat functional graph.

    Every convolution, batch norm, ReLU and addition is its own node, as a hand-written Keras model would
    be; the layers and parameters are those of `keras_resnet.build("cifar_resnet", depth=depth)`.
    """
    n = (depth - 2) // 6
    inputs = keras.Input(input_shape)
    bn = lambda: layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM)  # noqa: E731
    x = layers.ReLU()(bn()(layers.Conv2D(16, 3, padding="same", use_bias=False)(inputs)))
    for stage, filters in enumerate((16, 32, 64)):
        for index in range(n):
            strides = 2 if stage and not index else 1
            shortcut = ZeroPadShortcut(filters, strides)(x) if strides > 1 else x
            y = layers.ZeroPadding2D(1)(x) if strides > 1 else x
            y = layers.Conv2D(filters, 3, strides=strides, padding="valid" if strides > 1 else "same", use_bias=False)(y)
            y = layers.ReLU()(bn()(y))
            y = bn()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
            x = layers.ReLU()(layers.Add()([shortcut, y]))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(classes, activation="softmax", name="predictions")(x))


def _is_cifar(name):
    """A CIFAR ResNet of He et al. 2015, which has a flat functional twin."""
    return specs.MODELS[name][0] == "cifar_resnet"


def _side(name):
    return specs.resolve(name).input_shape[0]


def build_model(name, variant, side, **options):
    """`variant` "ours" (keras_resnet) or "baseline" (keras.applications, or the flat build of a CIFAR net)."""
    shape = (side, side, 3)
    if variant == "ours":
        return zoo.build(name, input_shape=shape, **options)
    if _is_cifar(name):
        return flat_cifar_resnet(specs.MODELS[name][1]["depth"], input_shape=shape)
    return getattr(keras.applications, name)(weights=None, input_shape=shape)


def baseline_name(name):
    return f"flat functional {name}" if _is_cifar(name) else f"keras.applications.{name}"


def compiled(name, variant, side, batch, xla=False, mixed=False, strategy=None, **options):
    """A model ready to train (SGD with momentum) under `strategy` (default: "auto") and one random batch."""
    with training.dtype_policy(mixed), (strategy or training.make_strategy("auto")).scope():
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
        peak = lambda: _status_kib("VmHWM") * 1024  # noqa: E731
        before = _status_kib("VmRSS") * 1024
    except OSError:
        scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is in bytes on macOS, in KiB on Linux
        peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale  # noqa: E731
        before = peak()
    model, x, y = compiled(**spec)
    steps(model, x, y, 2)
    return (peak() - before) / 2**20


def _memory_in_fresh_processes(specs):
    """{name: MB} for each spec, each in its own process (started together; memory is per process)."""
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TF_FORCE_GPU_ALLOW_GROWTH": "true",  # two processes share a GPU; each allocates only what it uses
    }
    code = "import json, sys; from keras_resnet import benchmark; print(benchmark.peak_memory_mb(json.loads(sys.argv[1])))"
    children = {
        name: subprocess.Popen(
            [sys.executable, "-c", code, json.dumps(spec)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, spec in specs.items()
    }
    results = {}
    for name, child in children.items():
        out, err = child.communicate()
        if child.returncode:
            raise RuntimeError(f"memory of {name} could not be measured: {err.strip().splitlines()[-1]}")
        results[name] = float(out.strip().splitlines()[-1])
    return results


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
        if verdict == "missed" and first["min"] <= second["max"] and second["min"] <= first["max"]:
            why = (
                f"within this run's noise: the min-max ranges overlap ({first['min']:.3g}-{first['max']:.3g} vs "
                f"{second['min']:.3g}-{second['max']:.3g} {unit}). Beyond noise: {why}"
            )
        comparison = {
            "section": section, "benchmark": benchmark, "ours": ours, "baseline": baseline, "unit": unit,
            "ratio": ratio, "target": target, "higher_is_better": higher_is_better, "verdict": verdict,
            "why": why if verdict == "missed" else "", **extra,
        }  # fmt: skip
        self.comparisons.append(comparison)
        self.progress(f"{benchmark}: {ours} / {baseline} = {ratio:.2f} ({verdict})")
        return comparison

    def failed(self, section, benchmark, error):
        """A benchmark that cannot run here says so instead of stopping the others."""
        reason = f"{type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
        self.comparisons.append(
            {"section": section, "benchmark": benchmark, "verdict": "could not run", "why": reason[:300]}
        )
        self.progress(f"{benchmark}: could not run ({reason[:120]})")

    def to_json(self):
        return {
            "mode": self.mode, "repeats": self.repeats, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"), "seconds": round(time.perf_counter() - self.start, 1), "machine": self.machine,
            "rows": self.rows, "comparisons": self.comparisons, "notes": self.notes,
        }  # fmt: skip

    def write(self, stem):
        """Write `<stem>.json` and `<stem>.md`."""
        os.makedirs(os.path.dirname(stem) or ".", exist_ok=True)
        with open(stem + ".json", "w") as file:
            json.dump(self.to_json(), file, indent=2)
        with open(stem + ".md", "w") as file:
            file.write(self.to_markdown())
        self.progress(f"wrote {stem}.json and {stem}.md")

    def to_markdown(self):
        number = lambda value: f"{value:.3g}" if isinstance(value, float) else str(value)  # noqa: E731
        spread = lambda row: f"{number(row['median'])} ({number(row['min'])}-{number(row['max'])})"  # noqa: E731
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
            lines += [f"- {c['benchmark']}: {c['verdict']}; {c['why']}" for c in missed]
        if self.notes:
            lines += ["", "Notes:", ""] + [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


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
                report.compare("train", benchmark, interleave(measures, repeats), "images/s", 1.0,
                               why="the same layers, FLOPs and kernels as the baseline; a gap outside the noise "
                                   "would be the per-op cost of our block layers (not profiled in this run)")  # fmt: skip
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
                    {f"keras_resnet {name}": {**spec, "variant": "ours"}, baseline_name(name): {**spec, "variant": "baseline"}}
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
                report.compare("inference", f"inference {name} {side}x{side} batch {batch}, {kind}",
                               interleave(measures, repeats), "images/s", 1.0,
                               why="the same network as the baseline, with the same export around it; a gap outside "
                                   "the noise would be the per-op cost of our block layers (not profiled in this run)")  # fmt: skip


def bench_build(report, settings, repeats):
    """Build time and first-step time (compile, trace, one step) of each model; the deepest CIFAR net vs flat."""

    def run():
        for name in settings.build:
            benchmark = f"build {name}"
            report.progress(f"{benchmark} and first step ...")
            side = _side(name)
            variants = ("ours", "baseline") if _is_cifar(name) or hasattr(keras.applications, name) else ("ours",)
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
            flat = _is_cifar(name)
            if len(variants) == 2:
                report.compare("build", benchmark, builds, "seconds", 0.5 if flat else None, higher_is_better=False,
                               why="TensorFlow variable creation and Keras sublayer construction, the same in both "
                                   "builds, are about 75% of the time; grouping layers into blocks saves only the "
                                   "functional graph's per-node bookkeeping")  # fmt: skip
                report.compare("build", f"first step {name} batch {settings.first_step_batch}", firsts, "seconds",
                               higher_is_better=False)  # fmt: skip
            else:
                report.add("build", benchmark, labels["ours"], "seconds", builds[labels["ours"]])
                report.add("build", f"first step {name} batch {settings.first_step_batch}", labels["ours"], "seconds",
                           firsts[labels["ours"]])  # fmt: skip

    # The flat graph of a 1202-layer net recurses past Python's default limit (ours does not): run the
    # section in a thread with a deep stack and a raised limit, restored afterwards.
    limit = sys.getrecursionlimit()
    errors = []
    threading.stack_size(512 * 1024 * 1024)
    thread = threading.Thread(target=lambda: _guarded(run, errors))
    sys.setrecursionlimit(100_000)
    try:
        thread.start()
        thread.join()
    finally:
        sys.setrecursionlimit(limit)
        threading.stack_size(0)
    if errors:
        raise errors[0]


def _guarded(function, errors):
    try:
        function()
    except Exception as error:  # noqa: BLE001 - re-raised in the calling thread
        errors.append(error)


def bench_stochastic_depth(report, settings, repeats):
    """Seconds per "epoch" (a fixed number of steps) with survival p_L=0.5 vs constant depth."""
    name, batch, count = settings.stochastic_depth
    report.progress(f"stochastic depth {name} ...")
    pair = {
        f"{name}, p_L=0.5": compiled(name, "ours", 32, batch, stochastic_depth=0.5),
        f"{name}, constant depth": compiled(name, "ours", 32, batch),
    }
    expected = statistics.mean(block.survival_prob for block in specs.resolve(name, stochastic_depth=0.5).residual_blocks)
    for model, x, y in pair.values():
        steps(model, x, y, 2)  # traces; the first draws compile both branches of every block
    measures = {label: lambda m=m: timed(lambda: steps(*m, count)) for label, m in pair.items()}
    report.compare(
        "stochastic_depth", f"{name} 32x32 batch {batch}, epoch = {count} steps", interleave(measures, repeats),
        "seconds per epoch", 0.8, higher_is_better=False, expected_depth_fraction=expected,
        why=f"a dropped block skips its branch (tf.cond), so the time should approach the expected depth "
            f"fraction {expected:.3f}; what is left is the stem, head, shortcuts and optimizer update of every "
            "weight, which stochastic depth does not skip",
    )  # fmt: skip


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
    report.compare("pipeline", f"CIFAR augmentation batch {batch} vs {name} training", interleave(measures, repeats),
                   "images/s", 3.0, why="the pipeline cannot feed training: raise its parallelism or cache")  # fmt: skip


def bench_startup(report, settings, repeats):
    """Seconds from start to exit of CLI commands that need no TensorFlow vs `python -c "import tensorflow"`,
    each a fresh process, interleaved: what a user waits for before the first line of `--help`."""
    report.progress("CLI start-up ...")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = lambda argv: timed(lambda: subprocess.run(argv, env=env, check=True, capture_output=True))  # noqa: E731
    baseline = [sys.executable, "-c", "import tensorflow"]
    for command in settings.startup:
        measures = {
            f"keras-resnet {' '.join(command)}": lambda c=command: run([sys.executable, "-m", "keras_resnet", *c]),
            "import tensorflow": lambda: run(baseline),
        }
        report.compare("startup", f"keras-resnet {' '.join(command)} start to exit", interleave(measures, repeats),
                       "seconds", 0.25, higher_is_better=False,
                       why="the command imports TensorFlow (or Keras) where it needs neither")  # fmt: skip


BENCHMARKS = {
    "train": bench_train,
    "inference": bench_inference,
    "build": bench_build,
    "stochastic_depth": bench_stochastic_depth,
    "pipeline": bench_pipeline,
    "startup": bench_startup,
}


def default_output():
    """benchmarks/results in a checkout of this project, ./bench-results elsewhere."""
    return os.path.join("benchmarks", "results") if os.path.isdir(os.path.join("benchmarks", "results")) else "bench-results"


def run(sections=SECTIONS, *, repeats=3, quick=False, output=None):
    """Run `sections` of the suite and write `bench.json` and `bench.md` (`bench-quick.*` when quick).

    Args:
        sections: names from `SECTIONS`.
        repeats: interleaved repeats of every measurement (min / median / max over them).
        quick: tiny models and sizes (every section in well under a minute), for tests and smoke runs.
        output: directory of the two files (default: `default_output()`).

    Returns:
        The report as a dict (what `bench.json` holds).
    """
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown benchmark section(s) {', '.join(unknown)}: choose from {', '.join(SECTIONS)}")
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats={repeats!r} must be a positive integer (3 or more gives a meaningful median)")
    report = Report(f"`keras-resnet bench` ({'quick' if quick else 'full'})", repeats)
    report.progress(describe(report.machine))
    report.notes.append(
        "Measured on the TensorFlow backend only: the suite times TensorFlow's tf.data, SavedModel and "
        "tf.distribute paths. Keras' JAX backend computes a dropped stochastic-depth branch and selects "
        "(see layers/stochastic_depth.py), so its stochastic-depth saving would be none."
    )
    settings = QUICK if quick else FULL
    stem = os.path.join(output or default_output(), "bench-quick" if quick else "bench")
    for section in sections:
        try:
            BENCHMARKS[section](report, settings, repeats)
        except Exception as error:  # noqa: BLE001 - one section that cannot run here must not stop the others
            report.failed(section, section, error)
        report.write(stem)  # after every section: an interrupted full run keeps what it measured
    return report.to_json()
