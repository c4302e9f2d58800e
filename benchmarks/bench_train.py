"""Training throughput (images/s): keras_resnet.ResNet50 vs keras.applications.ResNet50, side by side.

    python benchmarks/bench_train.py [--batch 32] [--size 224] [--steps 3] [--repeats 3]

Both models get the same optimizer, loss and random batch; each repeat times `--steps` compiled
train steps of one model, then of the other (after a warm-up that traces and compiles both).
Target (issue 2): ours at least 1.0x keras.applications.
"""

import argparse

import keras
import numpy as np
from common import compare, timed

import keras_resnet


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32, help="images per step (default 32)")
    parser.add_argument("--size", type=int, default=224, help="image height and width (default 224)")
    parser.add_argument("--steps", type=int, default=3, help="train steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per model, interleaved")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    x = rng.random((args.batch, args.size, args.size, 3), dtype=np.float32)
    y = rng.integers(0, 1000, args.batch)
    shape = (args.size, args.size, 3)
    models = {
        "keras_resnet.ResNet50": keras_resnet.ResNet50(input_shape=shape),
        "keras.applications.ResNet50": keras.applications.ResNet50(weights=None, input_shape=shape),
    }
    for model in models.values():
        model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy")
        model.train_on_batch(x, y)  # trace and compile
    samples = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            seconds, _ = timed(lambda: [model.train_on_batch(x, y) for _ in range(args.steps)])
            samples[name].append(args.batch * args.steps / seconds)
    notes = [f"batch {args.batch}, {args.size}x{args.size}, SGD momentum, {args.steps} steps x {args.repeats} repeats"]
    return compare(f"train_resnet50_b{args.batch}_{args.size}", samples, "images/s", 1.0, True, notes)


if __name__ == "__main__":
    main()
