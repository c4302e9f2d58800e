"""What `keras-resnet bench` cannot time in its own process: MirroredStrategy on 2 logical CPUs, JPEG folders.

    python benchmarks/bench_pipeline.py [--steps 5] [--repeats 3] [--batch-size 128] [--folder DIR]

1. Training steps/s of ResNet-20 at the same global batch under the default strategy and under
   MirroredStrategy on 2 logical CPU devices (the CPU split in two, which must happen before TensorFlow
   starts, hence this separate script): the overhead ratio (issue 4).
2. With `--folder`, images/s that `keras_resnet.training.data.pipeline` delivers from a folder of CIFAR-10 JPEGs
   (`train/<class>/*.jpg`, e.g. ../shared/data/cifar10_jpeg) against what ResNet-20 training consumes.
   `keras-resnet bench --only pipeline` does the same for images in memory.

Writes benchmarks/results/pipeline_mirrored.{json,md}.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from keras_resnet import training  # noqa: E402

training.configure_cpu_devices(2)  # before TensorFlow starts

from keras_resnet import data  # noqa: E402
from keras_resnet.bench import benchmark  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per repeat (default 5)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (default 3)")
    parser.add_argument("--batch-size", type=int, default=128, help="global batch size (default 128, He 2015)")
    parser.add_argument("--batches", type=int, default=50, help="timed pipeline batches per repeat (default 50)")
    parser.add_argument("--folder", help="also time a folder of CIFAR JPEGs (train/<class>/*.jpg, test/...)")
    parser.add_argument("--output", default=os.path.join(os.path.dirname(__file__), "results"), help="results dir")
    args = parser.parse_args(argv)

    report = benchmark.Report("`benchmarks/bench_pipeline.py`", args.repeats)
    batch = args.batch_size
    default = benchmark.compiled("ResNet20", "ours", 32, batch)
    mirrored = benchmark.compiled("ResNet20", "ours", 32, batch, strategy=training.make_strategy("mirrored"))
    for pair in (default, mirrored):
        benchmark.steps(*pair, 1)  # traces

    def rate(pair):
        return args.steps / benchmark.timed(lambda: benchmark.steps(*pair, args.steps))

    measures = {"default strategy": lambda: rate(default), "MirroredStrategy, 2 logical CPUs": lambda: rate(mirrored)}
    report.compare(
        "pipeline",
        f"ResNet20 training steps/s, global batch {batch}",
        benchmark.interleave(measures, args.repeats),
        "steps/s",
    )
    if args.folder:
        source = data.load(args.folder)
        iterator = iter(data.pipeline(source.train, training=True, batch_size=batch, stats=source.stats(1000)))
        next(iterator)  # fills the buffers and starts the threads
        measures = {
            "tf.data pipeline, JPEG folder": lambda: (
                batch * args.batches / benchmark.timed(lambda: [next(iterator) for _ in range(args.batches)])
            ),
            "ResNet20 training": lambda: batch * rate(default),
        }
        report.compare(
            "pipeline",
            f"CIFAR augmentation of JPEGs batch {batch} vs ResNet20 training",
            benchmark.interleave(measures, args.repeats),
            "images/s",
            3.0,
            why="decoding cannot feed training: raise the pipeline's parallelism or cache",
        )
    report.write(os.path.join(args.output, "pipeline_mirrored"))
    print(report.to_markdown())


if __name__ == "__main__":
    main()
