"""Peak memory over the trials of a search: every trial in one process vs a fresh process per trial.

    python benchmarks/tune_memory.py [--trials 10] [--depth 20] [--steps 20] [--output benchmarks/results/tune_memory]

Runs the same `keras-resnet tune` search on the bundled digits twice, each in a fresh process: with
`--workers 0` (keras-tuner's loop, every trial in the searching process, as keras-tuner runs it) and with
`--workers 1` (each trial in its own process, the default). Every trial records the peak resident memory of
the process that ran it when it ends (`results.csv`, column `peak_rss_mb`): in one process that is the
high-water mark so far, so a leak shows as growth from trial to trial (keras-tuner issues 395, 873, 1031).
The trials differ only in their learning rate, so each builds and trains the same network.

Writes tune_memory.json, tune_memory.md and tune_memory.png (peak memory per trial, both ways) in --output.
"""

import argparse
import csv
import json
import os
import pathlib
import subprocess
import sys
import tempfile

from keras_resnet.utils import plots


def search(output, workers, trials, depth, steps):
    """Run the search in a fresh process; its rows of results.csv."""
    lrs = [f"{0.05 + 0.01 * i:.2f}" for i in range(trials)]  # one network, `trials` different runs of it
    command = [
        sys.executable,
        "-m",
        "keras_resnet",
        "tune",
        "--dataset",
        "digits",
        "--output",
        str(output),
        "--workers",
        str(workers),
        "--max-trials",
        str(trials),
        "--depth",
        str(depth),
        "--lr",
        *lrs,
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--steps-per-epoch",
        str(steps),
        "--verbose",
        "0",
    ]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    with open(pathlib.Path(output) / "results.csv", newline="") as file:
        return [float(row["peak_rss_mb"]) for row in csv.DictReader(file)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10, help="trials per search (default 10)")
    parser.add_argument(
        "--depth", type=int, default=20, help="depth of the CIFAR ResNet every trial trains (default 20)"
    )
    parser.add_argument("--steps", type=int, default=20, help="training steps per trial (default 20)")
    parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results", "tune_memory"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        peaks = {
            label: search(pathlib.Path(scratch) / label, workers, args.trials, args.depth, args.steps)
            for label, workers in (("one process", 0), ("a process per trial", 1))
        }
    growth = {label: values[-1] / values[0] for label, values in peaks.items()}
    report = {
        "trials": args.trials,
        "depth": args.depth,
        "steps": args.steps,
        "peak_rss_mb": peaks,
        "last_over_first": growth,
        "goal": "a process per trial: last trial within 1.2x of the first",
    }
    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "tune_memory.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"Peak resident memory (MB) of the process running each trial: {args.trials} trials of a depth-{args.depth} "
        f"CIFAR ResNet on the digits, {args.steps} steps each.",
        "",
        "| trials | " + " | ".join(str(i + 1) for i in range(args.trials)) + " | last / first |",
        "|---" * (args.trials + 2) + "|",
    ]
    for label, values in peaks.items():
        lines.append(f"| {label} | " + " | ".join(f"{v:.0f}" for v in values) + f" | {growth[label]:.2f}x |")
    verdict = "met" if growth["a process per trial"] <= 1.2 else "missed"
    lines += ["", f"Goal (a process per trial, last within 1.2x of the first): {verdict}."]
    (output / "tune_memory.md").write_text("\n".join(lines) + "\n")
    pyplot, figure, (axis,) = plots.figure(1, width=6)
    for label, values in peaks.items():
        axis.plot(range(1, len(values) + 1), values, marker="o", label=label)
    axis.set(xlabel="trial", ylabel="peak resident memory of its process (MB)", ylim=(0, None))
    axis.legend()
    axis.grid(alpha=0.3)
    plots.save(pyplot, figure, output / "tune_memory.png")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
