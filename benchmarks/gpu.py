"""A GPU check of keras_resnet, unattended in under 10 minutes, on a machine with JAX and PyTorch but no TensorFlow.

Three parts, each with its own time limit; a row or part that fails, lacks a module or runs out of time is
recorded with the reason, and the next one still runs:

  a  training throughput in bfloat16 mixed precision: ResNet-50 and ResNeXt-50 (32x4d) of ours on Keras' JAX
     backend (jax.jit, `train_on_batch`) against timm's resnet50 and resnext50_32x4d on PyTorch (channels_last,
     torch.autocast, SGD with momentum), eager and under torch.compile; images/s and the ratio ours / timm
     (`keras_resnet.bench.peers`).
  b  ResNet-20 on the offline CIFAR-10 copy with the paper's recipe (He et al. 2015: SGD 0.1, momentum 0.9, weight
     decay 1e-4, batch 128, lr /10 at 50% and 75% of training) in as many epochs as fit in --minutes, chosen from
     a measured first epoch; test accuracy and minutes (`keras_resnet.training.train`).
  c  seconds to the first training step (build, compile, first step at batch 8) of ResNet-110 and ResNet-1202 under
     jax.jit (`keras_resnet.bench.baselines.first_step_seconds`).

Every measurement is a fresh child process, one at a time: PyTorch and JAX in one process would fight over the GPU's
memory. This process imports neither. gpu.json and gpu.md are rewritten in --output after every part; each child's
output goes to children.log there.

Where Keras is missing, it is installed from a folder of wheels (--wheels) into a temporary folder on the children's
path, nothing into the machine's environment. Build that folder where pip reaches a package index, for the GPU
machine's Python (here 3.12; keras needs namex and optree besides what such a machine has: absl-py, numpy, rich,
h5py, ml-dtypes, packaging):

    python -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \\
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d wheels keras==3.15.1 namex optree

Then, on the GPU machine, from the checkout (data/cifar10/ or the shared .tar.gz for part b):

    python benchmarks/gpu.py                         # about 9 minutes: benchmarks/results/gpu/gpu.{json,md}
    python benchmarks/gpu.py --tiny --output /tmp/g  # tiny sizes, a CPU will do: what the tests run
"""

import argparse
import contextlib
import dataclasses
import datetime
import json
import math
import os
import pathlib
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
PARTS = {
    "a": "training throughput, bfloat16 mixed precision: ours against timm",
    "b": "ResNet-20 on CIFAR-10, the paper's recipe in a time budget",
    "c": "first training step under jax.jit",
}
# Where part b looks for CIFAR-10 without --cifar: the checkout's image folder, a tarball carried into the
# checkout, or the offline copy beside it (see shared/data/README.md).
CIFAR_DEFAULTS = (
    ROOT / "data" / "cifar10",
    ROOT / "data" / "cifar10_jpeg_q75.tar.gz",
    ROOT.parent / "shared" / "data" / "cifar10_jpeg" / "cifar10_jpeg_q75.tar.gz",
)
LEAST_SECONDS = 2  # a row is not started with less of its part's time left


@dataclasses.dataclass(frozen=True)
class Sizes:
    """What one run measures. `FULL` is the GPU check; `TINY` runs every code path in a minute or two on a CPU."""

    peers: tuple  # a: models of keras_resnet.bench.peers.PEERS
    side: int  # a: image side (None: the model's own, 224)
    batch: int  # a: images per training step
    steps: int  # a: timed training steps per row, after one warm-up step (tracing, compiling, autotuning)
    compiler: str  # a: the torch.compile backend of the compiled rows
    per_class: tuple  # b: (training, test) images per class taken from the folder (None: all)
    cifar_batch: int  # b: the recipe's batch size
    most_epochs: int  # b: the paper's 164 at most
    first_step: tuple  # c: models
    first_step_batch: int  # c: a small batch keeps the step's compute out of what is mostly compiling
    seconds: dict  # the default time limit of parts a and c; part b's is --minutes


FULL = Sizes(
    peers=("ResNet50", "ResNeXt50_32x4d"),
    side=None,
    batch=128,
    steps=20,
    compiler="inductor",
    per_class=None,
    cifar_batch=128,
    most_epochs=164,
    first_step=("ResNet110", "ResNet1202"),
    first_step_batch=8,
    seconds={"a": 150, "c": 90},
)
# aot_eager traces and differentiates the graph as inductor does, without its C++ code generation, which takes
# minutes on a CPU: the compiled rows' code path is tested, not their speed.
TINY = Sizes(
    peers=("ResNet50",),
    side=32,
    batch=2,
    steps=2,
    compiler="aot_eager",
    per_class=(4, 2),
    cifar_batch=8,
    most_epochs=2,
    first_step=("ResNet20", "ResNet32"),
    first_step_batch=2,
    seconds={"a": 600, "c": 600},
)


def parser():
    parser = argparse.ArgumentParser(
        prog="python benchmarks/gpu.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--parts", default="abc", help="which parts to run, e.g. 'ac' or 'a,c' (default: abc; see above)"
    )
    parser.add_argument(
        "--minutes", type=float, default=5.0, help="part b's time limit in minutes, probe included (default 5)"
    )
    parser.add_argument("--seconds-a", type=float, help="part a's time limit in seconds (default 150; tiny 600)")
    parser.add_argument("--seconds-c", type=float, help="part c's time limit in seconds (default 90; tiny 600)")
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="tiny sizes for tests: ResNet-50 only at 32x32, batch 2, 2 steps, torch.compile with its aot_eager "
        "backend; 4 training and 2 test images per class, batch 8, at most 2 epochs; ResNet-20 and -32 in part c",
    )
    parser.add_argument(
        "--output",
        type=pathlib.Path,
        default=ROOT / "benchmarks" / "results" / "gpu",
        help="folder of gpu.json, gpu.md and children.log (default: benchmarks/results/gpu in this checkout)",
    )
    parser.add_argument(
        "--cifar",
        type=pathlib.Path,
        help="part b's CIFAR-10: a folder of train/<class>/ and test/<class>/ images, or a .tar.gz of one "
        f"(default: the first of {', '.join(str(p.relative_to(ROOT.parent)) for p in CIFAR_DEFAULTS)} that exists)",
    )
    parser.add_argument(
        "--wheels",
        type=pathlib.Path,
        default=ROOT / "wheels",
        help="wheels of keras and what it lacks, used only where keras is not importable (default: wheels/ in "
        "this checkout; the command that builds it is above)",
    )
    parser.add_argument(
        "--backend",
        default="jax",
        choices=("jax", "tensorflow", "torch"),
        help="Keras' backend for ours (default jax; tensorflow tests part b where TensorFlow is installed)",
    )
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter of ours, with Keras' backend (default: this one)"
    )
    parser.add_argument("--torch-python", help="interpreter of the timm rows, with torch and timm (default: --python)")
    return parser


class Run:
    """The report: what ran where, one entry per part with its rows, rewritten after every part."""

    def __init__(self, args, sizes):
        self.args, self.sizes, self.started = args, sizes, time.monotonic()
        self.sites = {}  # interpreter -> the temporary folder its keras was installed into
        self.report = {
            "title": "keras_resnet GPU check" + (" (tiny sizes: a test of the code, not a measurement)" * args.tiny),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
            "tiny": args.tiny,
            "backend": args.backend,
            "machine": {},
            "parts": {},
            "notes": [],
        }
        args.output.mkdir(parents=True, exist_ok=True)
        self.log = args.output / "children.log"
        self.log.write_text("")

    def say(self, text):
        print(f"[{time.monotonic() - self.started:5.0f} s] {text}", flush=True)

    def child(self, function, spec, *, until, python=None, backend=None):
        """Run `function(spec)` ("module.name", importable from the checkout or benchmarks/) in a fresh `python`
        with Keras on `backend`, killed at the monotonic time `until`.

        Returns:
            {"status": "ok", "answer": what it returned, "seconds": wall} or {"status": "skipped" (a module
            missing, or no time left), "failed" or "timed out", "why": one line, "seconds": wall}.
        """
        python = python or self.args.python
        limit = until - time.monotonic()
        if limit < LEAST_SECONDS:
            why = f"its part's time limit was spent ({max(limit, 0):.0f} s left)"
            return {"status": "skipped", "why": why, "seconds": 0}
        paths = [str(ROOT), str(HERE), self.sites.get(python), os.environ.get("PYTHONPATH")]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, paths)),
            "KERAS_BACKEND": backend or self.args.backend,
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONUNBUFFERED": "1",
            # JAX would claim 75% of the GPU at start-up: too much where PyTorch shares the process (the
            # environment child) or a killed child has not let go of its memory yet. It grows as it needs.
            "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
            "TF_FORCE_GPU_ALLOW_GROWTH": "true",
        }
        code = (
            "import importlib, json, sys; module, name = sys.argv[1].rsplit('.', 1); "
            "print(json.dumps(getattr(importlib.import_module(module), name)(json.loads(sys.argv[2]))))"
        )
        argv = [python, "-c", code, function, json.dumps(spec)]
        start = time.monotonic()
        # Its own process group: torch.compile's workers go with it when the time is up.
        child = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        try:
            out, _ = child.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):  # it may have ended meanwhile
                os.killpg(child.pid, signal.SIGKILL)
            out, _ = child.communicate()
            result = {"status": "timed out", "why": f"did not finish within {limit:.0f} s, what its part had left"}
        else:
            lines = out.strip().splitlines() or [""]
            result = {"status": "ok", "answer": json.loads(lines[-1])} if child.returncode == 0 else _why(child, lines)
        result["seconds"] = round(time.monotonic() - start, 1)
        with self.log.open("a") as log:
            log.write(f"==== {function}({json.dumps(spec)}) on {python}: {result['status']}\n{out}\n")
        return result

    def write(self):
        self.report["seconds"] = round(time.monotonic() - self.started, 1)
        (self.args.output / "gpu.json").write_text(json.dumps(self.report, indent=2) + "\n")
        (self.args.output / "gpu.md").write_text(markdown(self.report))


def _why(child, lines):
    """A failed child's result from its output: the exception's line; a missing module is a skip, not a failure."""
    line = next((text for text in reversed(lines) if "Error" in text or "Exception" in text), lines[-1]).strip()
    if child.returncode < 0:  # e.g. the kernel's out-of-memory killer: no traceback
        line = f"killed by signal {-child.returncode}; its last line: {lines[-1].strip()}"
    return {"status": "skipped" if "ModuleNotFoundError" in line else "failed", "why": line[:400]}


def environment(spec):
    """In a child: the interpreter, and the versions and devices of what it has (keras, jax, torch, timm)."""
    import importlib

    found = {"python": f"{platform.python_version()} ({sys.executable})", "platform": platform.platform()}
    modules = {}
    for name in ("keras", "jax", "torch", "timm", "tensorflow"):
        try:
            modules[name] = importlib.import_module(name)
            found[name] = modules[name].__version__
        except ImportError as error:
            found[name] = f"not importable: {error}"
    if "jax" in modules:
        found["jax devices"] = [f"{d.platform}: {d.device_kind}" for d in modules["jax"].devices()]
    if "torch" in modules:
        cuda = modules["torch"].cuda
        found["torch devices"] = [cuda.get_device_name(i) for i in range(cuda.device_count())] or ["cpu"]
    return found


def ensure_keras(run, python):
    """Make keras importable for `python`: as it is, or from the wheels folder into a temporary folder."""
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('keras') is None)"
    if subprocess.run([python, "-c", probe]).returncode == 0:
        return
    wheels = sorted(run.args.wheels.glob("*.whl"))
    if not wheels:
        run.report["notes"].append(
            f"{python} has no keras and {run.args.wheels} holds no wheels: build it with the pip download "
            "command of `python benchmarks/gpu.py --help`; every row that needs keras says so"
        )
        return
    site = tempfile.mkdtemp(prefix="keras-site-")
    # --no-deps: what the machine has (numpy, h5py, ...) stays its own; the wheels add only what it lacks.
    install = [python, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--target", site]
    answer = subprocess.run([*install, *map(str, wheels)], capture_output=True, text=True)
    if answer.returncode:
        run.report["notes"].append(f"installing {run.args.wheels} for {python} failed: {answer.stderr.strip()[-300:]}")
        return
    run.sites[python] = site
    names = ", ".join(w.name for w in wheels)
    run.report["notes"].append(f"keras for {python} installed from {names} into a temporary folder, removed at the end")


def describe_machine(run, pythons):
    machine = {"cpu cores": os.cpu_count(), "host": platform.node()}
    if shutil.which("nvidia-smi"):
        query = ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"]
        answer = subprocess.run(query, capture_output=True, text=True)
        machine["nvidia-smi"] = answer.stdout.strip().splitlines() or answer.stderr.strip()[-200:]
    for python in pythons:
        backend = run.args.backend if python == run.args.python else "torch"
        found = run.child("gpu.environment", {}, until=time.monotonic() + 60, python=python, backend=backend)
        machine[python] = found.get("answer") or f"{found['status']}: {found['why']}"
    run.report["machine"] = machine


def median_row(answer, key):
    rates = answer[key]
    return {"images_per_s": statistics.median(rates), "min": min(rates), "max": max(rates), "rates": rates}


def part_a(run, until):
    """Ours against timm, each row a child: ours then timm eager per model, the torch.compile rows last (their
    compiling takes longest, so a tight limit cuts them first)."""
    sizes, rows, ratios = run.sizes, [], []
    plan = [(name, variant) for name in sizes.peers for variant in ("ours", "eager")]
    plan += [(name, "compiled") for name in sizes.peers]
    for name, variant in plan:
        spec = dict(name=name, batch=sizes.batch, steps=sizes.steps, calls=0, mixed=True, side=sizes.side)
        if variant == "ours":
            label = f"keras_resnet {name} (Keras on {run.args.backend})"
            result = run.child("keras_resnet.bench.peers.keras_seconds", spec, until=until)
        else:
            compiled = f", torch.compile({sizes.compiler})" if variant == "compiled" else ", eager"
            label = f"timm peer of {name} (PyTorch{compiled})"
            if variant == "compiled":
                spec["compile"] = sizes.compiler
            python = run.args.torch_python or run.args.python
            result = run.child(
                "keras_resnet.bench.peers.torch_seconds", spec, until=until, python=python, backend="torch"
            )
        row = {"model": name, "variant": variant, "label": label, "batch": sizes.batch, "side": sizes.side or 224}
        row.update(status=result["status"], why=result.get("why", ""), seconds=result["seconds"])
        if result["status"] == "ok":
            answer = result["answer"]
            row.update(median_row(answer, "train"), parameters=answer["parameters"])
            row.update({k: answer[k] for k in ("backend", "version", "device") if k in answer})
            if "peer" in answer:
                row["label"] = label = label.replace(f"peer of {name}", answer["peer"])
            run.say(f"a: {label}: {row['images_per_s']:.1f} images/s (batch {sizes.batch}, {result['seconds']} s)")
        else:
            run.say(f"a: {label}: {result['status']}: {result['why']}")
        rows.append(row)
    for name in sizes.peers:
        ours = next(r for r in rows if r["model"] == name and r["variant"] == "ours")
        for variant in ("eager", "compiled"):
            theirs = next(r for r in rows if r["model"] == name and r["variant"] == variant)
            if ours["status"] == theirs["status"] == "ok":
                ratio = ours["images_per_s"] / theirs["images_per_s"]
                ratios.append({"model": name, "against": variant, "ours / timm": ratio})
                run.say(f"a: {name}: ours / timm {variant} = {ratio:.2f}")
    return {"rows": rows, "ratios": ratios}


def find_cifar(given):
    if given is not None:
        return given
    return next((path for path in CIFAR_DEFAULTS if path.exists()), None)


def cifar_folder(source, per_class, scratch):
    """A folder of train/<class>/ and test/<class>/ images: `source` itself, or extracted from a .tar.gz, and with
    `per_class` = (training, test) only that many images of each class (copied)."""
    if source.is_dir() and not ((source / "train").is_dir() and (source / "test").is_dir()):
        raise ValueError(f"{source} holds no train/ and test/ folders of class folders")
    if source.is_dir() and per_class is None:
        return source
    folder = pathlib.Path(scratch) / "cifar10"
    counts = {"train": per_class[0], "test": per_class[1]} if per_class else None
    if source.is_dir():
        for split, count in counts.items():
            for classdir in sorted(p for p in (source / split).iterdir() if p.is_dir()):
                (folder / split / classdir.name).mkdir(parents=True)
                for image in sorted(classdir.iterdir())[:count]:
                    shutil.copy(image, folder / split / classdir.name)
        return folder
    taken = {}
    safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # Python >= 3.11.4: no paths outside
    with tarfile.open(source) as archive:
        if counts is None:
            archive.extractall(folder, **safe)
        for member in archive if counts else ():
            parts = pathlib.PurePosixPath(member.name).parts
            if not member.isfile() or len(parts) < 3 or parts[-3] not in counts:
                continue
            taken[parts[-3:-1]] = taken.get(parts[-3:-1], 0) + 1
            if taken[parts[-3:-1]] <= counts[parts[-3]]:
                archive.extract(member, folder, **safe)
    # The archive's own top folder, if it has one, is where train/ and test/ are.
    for path in sorted(folder.rglob("train")):
        if (path.parent / "test").is_dir():
            return path.parent
    raise ValueError(f"{source} holds no train/ and test/ folders of class folders")


def _train(spec, **overrides):
    from keras_resnet import training

    options = dict(recipe="cifar", epochs=spec["epochs"], batch_size=spec["batch"], jit_compile=True, verbose=2)
    return training.train("ResNet20", spec["folder"], **{**options, **overrides})


def cifar_probe(spec):
    """In a child: seconds of a run of one epoch (cold, as the real run will be), and of one of a single step, whose
    difference is an epoch without the data loading, building and compiling both runs have."""
    started = time.perf_counter()
    history = _train(spec, epochs=1)
    one_epoch = time.perf_counter() - started
    started = time.perf_counter()
    _train(spec, epochs=1, steps_per_epoch=1)
    return {"one epoch": one_epoch, "one step": time.perf_counter() - started, **history.test}


def cifar_run(spec):
    """In a child: the run itself; its test accuracy and seconds."""
    import keras

    started = time.perf_counter()
    history = _train(spec)
    return {"seconds in train": time.perf_counter() - started, "backend": keras.backend.backend(), **history.test}


def part_b(run, until):
    """The probe, then the run whose epochs fit the time left (the probe's cold epoch, then epochs without the
    overhead), with a tenth kept in hand; the recipe's milestones are fractions, so the schedule compresses."""
    sizes, rows = run.sizes, []
    source = find_cifar(run.args.cifar)
    if source is None:
        why = f"no CIFAR-10 copy at {', '.join(map(str, CIFAR_DEFAULTS))}: pass --cifar"
        return {"rows": [], "status": "skipped", "why": why}
    with tempfile.TemporaryDirectory() as scratch:
        folder = cifar_folder(source, sizes.per_class, scratch)
        spec = {"folder": str(folder), "batch": sizes.cifar_batch, "epochs": 1}
        run.say(f"b: probe: one epoch, then one step, on {folder} ...")
        probe = run.child("gpu.cifar_probe", spec, until=until)
        row = {"run": "probe (1 epoch, then 1 step)", "epochs": 1, "status": probe["status"]}
        row.update(why=probe.get("why", ""), minutes=round(probe["seconds"] / 60, 2))
        rows.append(row)
        if probe["status"] != "ok":
            run.say(f"b: probe: {probe['status']}: {probe['why']}")
            why = f"the probe's keras_resnet.training.train did not run here: {probe['why']}"
            return {"rows": rows, "status": probe["status"], "why": why, "source": str(source)}
        answer = probe["answer"]
        row["test accuracy"] = answer["accuracy"]
        epoch = max(answer["one epoch"] - answer["one step"], 1e-3)
        cold = probe["seconds"] - answer["one step"]  # imports, data, build, compile, one epoch, evaluation
        left = 0.9 * (until - time.monotonic())
        epochs = max(1, min(sizes.most_epochs, 1 + math.floor((left - cold) / epoch)))
        run.say(f"b: an epoch takes about {epoch:.1f} s, the rest of a run {cold - epoch:.0f} s: {epochs} epochs")
        result = run.child("gpu.cifar_run", {**spec, "epochs": epochs}, until=until)
    row = {"run": f"the paper's recipe in {epochs} epochs", "epochs": epochs, "status": result["status"]}
    row.update(why=result.get("why", ""), minutes=round(result["seconds"] / 60, 2), estimated_epoch_seconds=epoch)
    if result["status"] == "ok":
        answer = result["answer"]
        row.update({"test accuracy": answer["accuracy"], "test loss": answer["loss"]})
        row["minutes in train"] = round(answer["seconds in train"] / 60, 2)
        run.say(f"b: {epochs} epochs: test accuracy {row['test accuracy']:.4f} in {row['minutes']} min")
    else:
        run.say(f"b: {result['status']}: {result['why']}")
    rows.append(row)
    return {"rows": rows, "status": result["status"], "why": row["why"], "source": str(source)}


def part_c(run, until):
    sizes, rows = run.sizes, []
    for name in sizes.first_step:
        spec = dict(name=name, variant="ours", batch=sizes.first_step_batch, xla=True, predict=False)
        result = run.child("keras_resnet.bench.baselines.first_step_seconds", spec, until=until)
        row = {"model": name, "batch": sizes.first_step_batch, "status": result["status"]}
        row.update(why=result.get("why", ""), seconds=result["seconds"])
        if result["status"] == "ok":
            phases = {k: v for k, v in result["answer"].items() if isinstance(v, float)}
            row.update(phases, backend=result["answer"]["backend"], version=result["answer"]["version"])
            row["to first train step"] = sum(phases.values())
            run.say(f"c: {name}: {row['to first train step']:.1f} s to the first train step ({phases})")
        else:
            run.say(f"c: {name}: {result['status']}: {result['why']}")
        rows.append(row)
    return {"rows": rows}


def markdown(report):
    def number(value):
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    def state(row):
        return row["status"] if row["status"] == "ok" else f"{row['status']}: {row['why']}"

    lines = [f"# {report['title']}", "", f"{report['date']}, {report['seconds']:.0f} s: `{report['command']}`"]
    lines += ["", f"Ours on Keras' {report['backend']} backend. Machine:", ""]
    for key, value in report["machine"].items():
        if isinstance(value, dict):
            value = "; ".join(f"{k} {v}" for k, v in value.items())
        lines.append(f"- {key}: {value}")
    for key, part in report["parts"].items():
        outcome = part["status"] + (f": {part['why']}" if part.get("why") else "")
        lines += [
            "",
            f"## {key}: {PARTS[key]}",
            "",
            f"Limit {part['limit_s']:.0f} s, took {part['seconds']:.0f} s; {outcome}.",
        ]
        if key == "a":
            lines += [
                "",
                "| row | images/s median (min-max) | batch | side | child s | status |",
                "|---|---|---|---|---|---|",
            ]
            for r in part["rows"]:
                rate = f"{number(r['images_per_s'])} ({number(r['min'])}-{number(r['max'])})" if "min" in r else "-"
                lines.append(f"| {r['label']} | {rate} | {r['batch']} | {r['side']} | {r['seconds']} | {state(r)} |")
            lines += [""] + [
                f"- {r['model']}: ours / timm {r['against']} = {r['ours / timm']:.2f}" for r in part["ratios"]
            ]
        elif key == "b":
            lines += ["", "| run | epochs | test accuracy | minutes | status |", "|---|---|---|---|---|"]
            for r in part["rows"]:
                accuracy = number(r.get("test accuracy", "-"))
                lines.append(f"| {r['run']} | {r['epochs']} | {accuracy} | {r['minutes']} | {state(r)} |")
        else:
            phases = ("build", "compile", "first train step", "to first train step")
            lines += ["", f"| model | {' s | '.join(phases)} s | status |", "|---|---|---|---|---|---|"]
            for r in part["rows"]:
                cells = " | ".join(number(r.get(p, "-")) for p in phases)
                lines.append(f"| {r['model']} batch {r['batch']} | {cells} | {state(r)} |")
    if report["notes"]:
        lines += ["", "Notes:", ""] + [f"- {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"


NOTES = (
    "a: each row a fresh process, one after the other; SGD with momentum on one random batch held on the device, "
    "a warm-up step then the timed steps, each waiting for its loss (Keras' train_on_batch, PyTorch's loss.item()); "
    "PyTorch channels_last with cudnn.benchmark, bfloat16 by torch.autocast against Keras' mixed_bfloat16 policy",
    "b: keras_resnet.training.train('ResNet20', folder, recipe='cifar', epochs=N, jit_compile=True); the minutes "
    "are the run's own process from start to exit (imports, data, compiling and the final evaluation included)",
    "c: keras_resnet.bench.baselines.first_step_seconds in a fresh process (imports not timed), jit_compile=True, "
    "no predict",
)


def main(argv=None):
    args = parser().parse_args(argv)
    parts = [p for p in args.parts if p not in ", "]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or not parts:
        parser().error(f"--parts {args.parts!r}: choose from {', '.join(PARTS)}")
    for python in filter(None, (args.python, args.torch_python)):
        if shutil.which(python) is None:
            parser().error(f"{python} is not a Python interpreter that can be run: give its path")
    if args.cifar is not None and not args.cifar.exists():
        parser().error(f"--cifar {args.cifar} does not exist: give a folder of train/ and test/ or a .tar.gz of one")
    sizes = TINY if args.tiny else FULL
    limits = {
        "a": args.seconds_a or sizes.seconds["a"],
        "b": 60 * args.minutes,
        "c": args.seconds_c or sizes.seconds["c"],
    }
    run = Run(args, sizes)
    pythons = list(dict.fromkeys([args.python, args.torch_python or args.python]))
    for python in pythons:
        ensure_keras(run, python)
    describe_machine(run, pythons)
    run.report["notes"] += [note for note in NOTES if note[0] in parts]
    run.write()
    for key in parts:
        run.say(f"part {key}: {PARTS[key]} (limit {limits[key]:.0f} s)")
        started = time.monotonic()
        try:
            part = {"a": part_a, "b": part_b, "c": part_c}[key](run, started + limits[key])
            if "status" not in part:
                part["status"] = "ok" if all(r["status"] == "ok" for r in part["rows"]) else "incomplete"
        except Exception as error:  # noqa: BLE001 - one part that breaks must not stop the next
            part = {"rows": [], "status": "failed", "why": f"{type(error).__name__}: {error}"}
            run.say(f"part {key}: failed: {part['why']}")
        part.update(limit_s=limits[key], seconds=round(time.monotonic() - started, 1))
        run.report["parts"][key] = part
        run.write()
    run.say(f"wrote {args.output / 'gpu.json'} and {args.output / 'gpu.md'}")
    for site in run.sites.values():
        shutil.rmtree(site, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
