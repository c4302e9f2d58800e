"""Input pipeline vs ResNet-20 training, and MirroredStrategy overhead, on CIFAR-shaped data (CPU).

    python benchmarks/bench_pipeline.py [--steps 30] [--batch-size 128] [--folder DIR]

1. Images per second that `keras_resnet.data.pipeline` (CIFAR augmentation: pad, crop, flip,
   normalise) delivers, against the images per second ResNet-20 training consumes when fed
   ready-made batches. Issue 4 asks for at least 3x.
2. Training steps per second of ResNet-20 at the same global batch under the default strategy and
   under MirroredStrategy on 2 logical CPU devices (the CPU split in two): the overhead ratio.

Data: 50,000 random 32x32x3 uint8 images as arrays (the pipeline's in-memory path), plus, with
`--folder`, a folder of CIFAR-10 JPEGs (`train/<class>/*.jpg`, e.g. ../shared/data/cifar10_jpeg).
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from keras_resnet import training  # noqa: E402

training.configure_cpu_devices(2)  # before TensorFlow starts: the MirroredStrategy part needs it

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_resnet  # noqa: E402
from keras_resnet import data  # noqa: E402


def pipeline_rate(dataset, batches):
    iterator = iter(dataset)
    next(iterator)  # warm-up: fills buffers, starts threads
    start = time.perf_counter()
    images = sum(int(next(iterator)[0].shape[0]) for _ in range(batches))
    return images / (time.perf_counter() - start)


def training_rate(strategy, batch_size, steps):
    """Images/s and steps/s of ResNet-20 training on one ready-made batch, repeated (no input cost)."""
    with strategy.scope():
        model = keras_resnet.build("ResNet20", input_shape=(32, 32, 3), classes=10)
        training.add_weight_decay(model, 1e-4)
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    batch = (rng.standard_normal((batch_size, 32, 32, 3), dtype="float32"), rng.integers(0, 10, batch_size))
    feed = tf.data.Dataset.from_tensors(batch).repeat().prefetch(2)
    model.fit(feed, steps_per_epoch=3, epochs=1, verbose=0)  # traces and warms up
    start = time.perf_counter()
    model.fit(feed, steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    return batch_size * steps / seconds, steps / seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="timed training steps (default 30)")
    parser.add_argument("--batch-size", type=int, default=128, help="global batch size (default 128, He 2015)")
    parser.add_argument("--batches", type=int, default=100, help="timed pipeline batches (default 100)")
    parser.add_argument("--folder", help="also time a folder of CIFAR JPEGs (train/<class>/*.jpg, test/...)")
    args = parser.parse_args(argv)

    images = np.random.default_rng(0).integers(0, 256, (50000, 32, 32, 3), dtype="uint8")
    sources = {"arrays": data.load(((images, np.arange(50000) % 10), (images[:1000], np.arange(1000) % 10)))}
    if args.folder:
        sources["JPEG folder"] = data.load(args.folder)
    rates = {}
    for name, source in sources.items():
        stats = source.stats(1000)
        rates[name] = pipeline_rate(data.pipeline(source.train, training=True, batch_size=args.batch_size, stats=stats), args.batches)
    consumed, default_steps = training_rate(tf.distribute.get_strategy(), args.batch_size, args.steps)
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    _, mirrored_steps = training_rate(mirrored, args.batch_size, args.steps)

    print(f"ResNet-20 training consumes {consumed:,.0f} images/s (batch {args.batch_size}, default strategy)")
    for name, rate in rates.items():
        print(f"pipeline ({name}, CIFAR augmentation) delivers {rate:,.0f} images/s = {rate / consumed:.1f}x consumption")
    print(
        f"steps/s: default {default_steps:.2f}, MirroredStrategy on 2 logical CPUs {mirrored_steps:.2f}: "
        f"overhead ratio {default_steps / mirrored_steps:.2f}x"
    )
    return rates, consumed, default_steps, mirrored_steps


if __name__ == "__main__":
    main()
