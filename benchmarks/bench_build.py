"""Build time of ResNet-1202: keras_resnet (one layer per block) vs a flat functional build.

    python benchmarks/bench_build.py [--repeats 3] [--depth 1202]

Target (issue 2): ours at most 0.5x the flat build's time. The flat graph of ~4,200 nodes also needs a
raised recursion limit and a large thread stack to build at all; ours builds at Python's defaults.
"""

import argparse
import sys
import threading

from common import compare, timed
from flat import flat_cifar_resnet

import keras_resnet


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="builds of each variant, interleaved")
    parser.add_argument("--depth", type=int, default=1202, help="CIFAR ResNet depth (6n+2)")
    args = parser.parse_args(argv)

    keras_resnet.build("cifar_resnet", depth=20)  # warm up TensorFlow and Keras before timing anything
    try:
        flat_cifar_resnet(args.depth)
        flat_at_default_limit = "yes"
    except RecursionError:
        flat_at_default_limit = "no (RecursionError)"
    times = {"keras_resnet": [], "flat functional": []}

    def run():
        sys.setrecursionlimit(100_000)
        for _ in range(args.repeats):
            times["keras_resnet"].append(timed(lambda: keras_resnet.build("cifar_resnet", depth=args.depth))[0])
            times["flat functional"].append(timed(lambda: flat_cifar_resnet(args.depth))[0])

    threading.stack_size(512 * 1024 * 1024)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    notes = [f"flat build at the default recursion limit: {flat_at_default_limit}; keras_resnet: yes"]
    return compare(f"build_resnet{args.depth}", times, "seconds", 0.5, higher_is_better=False, notes=notes)


if __name__ == "__main__":
    main()
