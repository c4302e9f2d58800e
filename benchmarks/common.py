"""Timing helpers shared by the benchmarks: repeat, report min / median / max, write JSON and Markdown.

Timings on shared machines are noisy: each benchmark interleaves the variants it compares in one run
and reports ratios of medians.
"""

import json
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def timed(function):
    """Seconds one call of `function` takes, and its result."""
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def summary(samples):
    return {"min": min(samples), "median": statistics.median(samples), "max": max(samples), "n": len(samples)}


def machine():
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"


def write_report(name, rows, notes=(), directory=None):
    """Write `<name>.json` and `<name>.md` (a table of rows: dicts with the same keys) next to this file."""
    directory = directory or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f"{name}.json"), "w") as file:
        json.dump({"machine": machine(), "rows": rows, "notes": list(notes)}, file, indent=2)
    keys = list(rows[0])
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = [f"Machine: {machine()}", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(fmt(row[k]) for k in keys) + " |" for row in rows]
    lines += [""] + [f"- {note}" for note in notes]
    with open(os.path.join(directory, f"{name}.md"), "w") as file:
        file.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def compare(name, samples, unit, target, higher_is_better, notes=()):
    """Report two interleaved variants: a row each and the ratio of the first's median to the second's.

    Args:
        samples: {variant: [measurements]}, ours first, the baseline second.
        unit: what a measurement is ("seconds", "images/s").
        target: the ratio the issue asks for (at most it for times, at least it for rates).
    """
    rows = [{"variant": variant, unit: summary(s)["median"], "min": min(s), "max": max(s), "n": len(s)}
            for variant, s in samples.items()]  # fmt: skip
    ratio = rows[0][unit] / rows[1][unit]
    met = ratio >= target if higher_is_better else ratio <= target
    sign = ">=" if higher_is_better else "<="
    notes = [*notes, f"ratio {rows[0]['variant']} / {rows[1]['variant']} (medians): {ratio:.2f} "
             f"(target {sign} {target}: {'met' if met else 'missed'})"]  # fmt: skip
    write_report(name, rows, notes)
    return ratio
