"""One table of rules for every option a user passes to a model, a command or a run (no Keras, no TensorFlow).

Each public function that takes a number checks it here, at its boundary and before any work: the spec
resolver (model options such as `cardinality` or `dropout`), the layers built directly, the CLI (each numeric
flag of `keras-resnet` is one of these names; a test keeps the two in step), tuning and export. So a bad value
is one sentence naming the argument, never a hang (`steps_per_epoch=-3`) or a traceback (`lr_batch=0`), and
the same option gets the same sentence wherever it is given. `check_choice` does the same for the options
that name one of a few choices, `per_channel` for a normalisation's mean and std (a model's, a run's or an
export's), and `check_arrays` for the images and labels a user passes: finite pixels, labels a model can output.
"""

import dataclasses
import math
import numbers
import os

import numpy as np


@dataclasses.dataclass(frozen=True)
class Rule:
    """What a value must be: a whole number or any number, and its bounds."""

    whole: bool = False
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    each: bool = False  # a sequence whose every item follows the rule
    meaning: str = ""  # what the value is, said after the bounds (for options whose name alone does not say)

    def accepts(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            return False
        if self.whole and value != int(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def describe(self):
        kind = "a whole number" if self.whole else "a number"
        if self.low > -math.inf and self.high < math.inf:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            bounds = f" in {left}{self.low:g}, {self.high:g}{right}"
        elif self.low > -math.inf:
            bounds = f" {'above' if self.low_open else 'of at least'} {self.low:g}"
        else:
            bounds = ""
        return ("a list of " + kind.replace("a ", "", 1) + "s" if self.each else kind) + bounds


COUNT = Rule(whole=True, low=1)  # 1, 2, 3, ...

INDEX = Rule(whole=True, low=0)  # 0, 1, 2, ...
POSITIVE = Rule(low=0, low_open=True)
NON_NEGATIVE = Rule(low=0)
FRACTION = Rule(low=0, high=1, low_open=True, high_open=True)  # strictly between 0 and 1
SHARE = Rule(low=0, high=1, high_open=True)  # 0 included, 1 not: momentum, dropout, label smoothing
PROBABILITY = Rule(low=0, high=1, low_open=True)  # 0 excluded, 1 included

LIMITS = {
    # training recipes (keras_resnet.training.recipes.Recipe)
    "epochs": COUNT,
    # Goyal et al. 2017 and Ying et al. 2018 trained ImageNet with 8,192 and 65,536 images a step; more
    # than that is a typo (and tf.data would repeat a small split for hours to fill one batch).
    "batch_size": Rule(whole=True, low=1, high=65536),
    "lr": POSITIVE,
    "lr_batch": COUNT,
    "momentum": SHARE,
    "weight_decay": NON_NEGATIVE,
    "milestones": dataclasses.replace(FRACTION, each=True),
    "gamma": POSITIVE,
    "warmup_epochs": NON_NEGATIVE,
    "pad": INDEX,
    "image_size": COUNT,
    "label_smoothing": SHARE,
    "ema_momentum": FRACTION,
    "mixup": NON_NEGATIVE,
    "cutmix": NON_NEGATIVE,
    "randaugment": INDEX,
    # a run
    "steps_per_epoch": COUNT,
    "backup_every": COUNT,
    "cpu_devices": COUNT,
    "seed": INDEX,
    "verbose": Rule(whole=True, low=0, high=2),
    # a search (model options themselves are checked by keras_resnet.specs; these are the lists searched)
    "depths": dataclasses.replace(COUNT, each=True),
    "cardinalities": dataclasses.replace(COUNT, each=True),
    "bottleneck_widths": dataclasses.replace(COUNT, each=True),
    "widens": dataclasses.replace(COUNT, each=True),
    "classes": COUNT,
    "max_trials": COUNT,
    "max_params": COUNT,
    "max_flops": COUNT,
    "validation_split": FRACTION,
    "workers": INDEX,  # 0: every trial in the searching process
    "lrs": dataclasses.replace(POSITIVE, each=True),
    "weight_decays": dataclasses.replace(NON_NEGATIVE, each=True),
    "stochastic_depths": dataclasses.replace(PROBABILITY, each=True),
    # export, verify, serving
    "top_k": COUNT,
    "version": COUNT,
    "tolerance": NON_NEGATIVE,
    "port": Rule(whole=True, low=1, high=65535),
    "max_pixels": COUNT,
    "scale": POSITIVE,
    "std": dataclasses.replace(POSITIVE, each=True),
    "mean": dataclasses.replace(Rule(), each=True),
    # studies and benchmarks
    "repeats": dataclasses.replace(COUNT, meaning="3 or more gives a meaningful median."),
    "draws": COUNT,
    "max_removed": COUNT,
    "mass": PROBABILITY,
    # paths: exact counts of 2**n paths; the deepest net of the table has 600 blocks (ResNet-1202), and
    # beyond 1,000 the counts' table and its float ratios take seconds to minutes and overflow a float.
    "blocks": Rule(whole=True, low=0, high=1000),
    # model options (keras_resnet.specs.resolve, and the layers when built directly)
    "bn_epsilon": POSITIVE,
    "bn_momentum": dataclasses.replace(SHARE, meaning="the moving statistics' decay."),
    "cardinality": COUNT,
    "widen": COUNT,
    "bottleneck_width": COUNT,
    "stem_width": COUNT,
    "growth_rate": COUNT,
    "in_channels": COUNT,
    "dropout": dataclasses.replace(SHARE, meaning="the rate of a dropout between a block's convolutions."),
    "head_dropout": dataclasses.replace(
        SHARE, meaning="the rate of the dropout before the classifier (0.25 in ResNet-RS)."
    ),
    "stochastic_depth": dataclasses.replace(
        PROBABILITY,
        meaning="the last block's survival probability p_L (0.5 in Huang et al. 2016), or None to disable it.",
    ),
    "survival_prob": dataclasses.replace(PROBABILITY, meaning="the probability that a block's branch is kept."),
    "se_ratio": dataclasses.replace(PROBABILITY, meaning="the SE module's reduction (1/16)."),
    "compression": dataclasses.replace(
        PROBABILITY,
        meaning="the fraction of channels a transition keeps (0.5 in DenseNet-BC, 1.0 for no compression).",
    ),
}


# Bounds that depend on the machine or on a file, applied where that is known.
WORKERS_PER_CORE = 1  # tune: a trial process keeps a core busy; more only wait for the CPU and hold memory
# serving_bytes decodes one frame of a GIF (the first; max_pixels bounds it) and walks at most this many of
# its blocks to find where that frame ends: 100,000 sub-blocks of up to 255 bytes hold a 25 MB first frame.
GIF_BLOCKS = 100_000
# The largest model a `.keras` file may ask for, counted before it is built (it must also hold their weights):
# 2e9 float32 parameters are 8 GB, 30x ResNet-152's 60 million.
MAX_PARAMETERS = 2_000_000_000


def cores():
    """The CPU cores this process may run on (its affinity, as a container or `taskset` sets it).

    Returns:
        A count of at least 1.
    """
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check_batch(batch_size, replicas, images, source):
    """Refuse a batch larger than the split it is drawn from: tf.data would repeat the split for hours to fill it.

    Args:
        batch_size: images per replica and step.
        replicas: replicas in sync (the global batch is their product).
        images: images in the training split.
        source: the data set's name, for the message.

    Raises:
        ValueError: the global batch holds more images than the split.
    """
    if batch_size * replicas > images:
        raise ValueError(
            f"batch_size={batch_size} on {replicas} replica(s) is a batch of {batch_size * replicas:,} images, more "
            f"than the {images:,} training images of {source}: use --batch-size {max(1, images // replicas)} or less."
        )


def check(name, value):
    """Raise a ValueError naming `name` unless `value` follows its rule in `LIMITS` (None always passes).

    Args:
        name: a key of `LIMITS`, the argument's name (`steps_per_epoch`); flags are these with dashes.
        value: the value given, or None for "the default".

    Returns:
        `value`.
    """
    rule = LIMITS[name]
    if value is None:
        return value
    items = value if rule.each and isinstance(value, (list, tuple)) else None
    if (items is None and (rule.each or not rule.accepts(value))) or (
        items is not None and not all(map(rule.accepts, items))
    ):
        raise ValueError(f"{name}={value!r} must be {rule.describe()}" + (f": {rule.meaning}" if rule.meaning else "."))
    return value


def check_choice(name, value, choices):
    """Raise a ValueError naming `name` unless `value` is one of `choices`.

    Args:
        name: the option's name (`shortcut`).
        value: the value given.
        choices: what it may be.

    Returns:
        `value`.
    """
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {tuple(choices)}.")
    return value


def per_channel(name, value, channels, positive=False):
    """One number per channel from one number or one per channel: a normalisation's mean or std.

    The one check of a preprocessing's statistics, for a model's `preprocessing` option, the layer that
    carries it, a run's data statistics and an export's `--mean`/`--std`.

    Args:
        name: what the values are, for the message (`std`, `preprocessing mean`).
        value: a number, or a sequence or array of them.
        channels: the input's channels.
        positive: whether every value must be above 0 (a standard deviation).

    Returns:
        A list of `channels` floats.

    Raises:
        ValueError: not one finite number or one per channel, or (`positive`) one of them is not above 0.
    """
    try:
        values = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        values = np.array([np.nan])
    if values.size not in (1, channels) or not np.isfinite(values).all() or (positive and values.min() <= 0):
        shown = value.tolist() if hasattr(value, "tolist") else value
        raise ValueError(
            f"{name}={shown!r} must be one finite number or {channels} per-channel numbers"
            + (", all above 0." if positive else ".")
        )
    return [float(v) for v in np.broadcast_to(values, (channels,))]


def check_all(**values):
    """`check` every keyword argument.

    Args:
        **values: names of `LIMITS` and their values.

    Returns:
        `values`, as a dict.
    """
    for name, value in values.items():
        check(name, value)
    return values


def check_arrays(x, y, split="", classes=None):
    """Refuse labels that are not class indices and images that are not finite, naming the first bad index.

    Args:
        x: images, an array whose first axis counts them.
        y: their labels.
        split: what the arrays are, the start of the message ("test ").
        classes: how many classes the labels must fit (a model's outputs); None: any whole number from 0.

    Raises:
        ValueError: the first bad label or image, by index.
    """
    x, y = np.asarray(x), np.asarray(y).reshape(-1)
    if not np.issubdtype(y.dtype, np.number):
        raise ValueError(f"{split}labels must be class indices 0, 1, 2, ..., not {y.dtype}: map names to indices.")
    top = np.inf if classes is None else classes
    bad = np.flatnonzero(~np.isfinite(y) | (y < 0) | (y >= top) | (y != np.round(y)))
    if bad.size:
        allowed = "whole numbers from 0" if classes is None else f"0 to {classes - 1} for {classes} classes"
        raise ValueError(f"{split}label {y[bad[0]]} at index {bad[0]} is out of range: labels must be {allowed}.")
    if np.issubdtype(x.dtype, np.floating) and len(x):
        finite = np.isfinite(x.reshape(len(x), -1)).all(axis=1)
        if not finite.all():
            raise ValueError(
                f"{split}image at index {np.flatnonzero(~finite)[0]} holds NaN or Inf values "
                f"({np.sum(~finite)} such image(s)): fix or remove them."
            )
