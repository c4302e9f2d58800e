"""Latency of an exported ResNet-50 through its loaded signature vs Keras predict vs keras.applications.

    python benchmarks/bench_export.py [--repeats 10] [--size 224]

Exports keras_resnet.ResNet50 and keras.applications.ResNet50 (both random weights, the same
`export_saved_model`, so the same preprocessing and outputs around each network), loads each with
`tf.saved_model.load` and times its `serving_default` signature, and times the Keras model's
`predict`, at batch 1 and batch 32. Prints the median latency of each and ratios to our export.
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_resnet  # noqa: E402
from keras_resnet import export  # noqa: E402


def median_seconds(calls, repeats):
    """Median seconds of each call; the calls take turns, so a busy machine slows all of them alike."""
    for call in calls.values():
        call()  # the first call traces or builds; it is not what a server pays per request
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(seconds)) for name, seconds in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=10, help="timed calls per measurement; the median is reported (default 10)"
    )
    parser.add_argument("--size", type=int, default=224, help="image height and width (default 224)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32], help="batch sizes (default 1 32)")
    args = parser.parse_args(argv)
    shape = (args.size, args.size, 3)
    ours = keras_resnet.ResNet50(input_shape=shape)
    reference = keras.applications.ResNet50(weights=None, input_shape=shape)
    rows = {}
    with tempfile.TemporaryDirectory() as base:
        signatures = {
            name: tf.saved_model.load(export.export_saved_model(model, os.path.join(base, name), samples=1)).signatures[
                "serving_default"
            ]
            for name, model in (("ours", ours), ("applications", reference))
        }
        for batch in args.batches:
            pixels = np.random.default_rng(0).uniform(0, 255, (batch, *shape)).astype(np.float32)
            images = tf.constant(pixels)
            calls = {
                "export: keras_resnet ResNet50": lambda: signatures["ours"](images=images),
                "Keras predict: keras_resnet ResNet50": lambda: ours.predict(pixels / 255, batch_size=batch, verbose=0),
                "export: keras.applications ResNet50": lambda: signatures["applications"](images=images),
            }
            rows[batch] = median_seconds(calls, args.repeats)
    print(
        f"ResNet50 {args.size}x{args.size}, median of {args.repeats}, {os.cpu_count()} CPU cores, TF {tf.__version__}"
    )
    for batch, row in rows.items():
        base_time = row["export: keras_resnet ResNet50"]
        print(f"batch {batch}:")
        for name, seconds in row.items():
            print(f"  {name:<38} {seconds * 1000:9.1f} ms  {seconds / base_time:5.2f}x")
    return rows


if __name__ == "__main__":
    main()
