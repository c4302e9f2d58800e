"""Training recipes as data: the papers' settings, each field also a `keras-resnet train` flag.

No Keras and no TensorFlow here, so that the command line can list and check the recipes before anything
heavy is imported; `keras_resnet.training.optimizer` turns a recipe into a compiled model.

    recipe = keras_resnet.training.recipes.get_recipe("cifar", epochs=30)
"""

import builtins
import dataclasses

from keras_resnet.utils import checks

SCHEDULES = ("step", "cosine")
AUGMENTATIONS = ("cifar", "imagenet", "none")
# See keras_resnet.training.loop.make_strategy: the first four on TensorFlow, data-parallel on JAX.
STRATEGIES = ("auto", "default", "mirrored", "multiworker", "data-parallel")
# A search's algorithm, by the name `keras_resnet.tuning.tuner` maps to a keras-tuner tuner.
TUNERS = ("bayesian", "hyperband", "random")


def _field(default, help, type=None):
    # A tuple field is a list of floats on the command line.
    kind = type or {bool: bool, int: int, float: float, str: str, tuple: float}[builtins.type(default)]
    return dataclasses.field(default=default, metadata={"help": help, "type": kind})


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A paper's training settings; every field is also a `keras-resnet train` flag (`--warmup-epochs`...)."""

    epochs: int = _field(164, "training epochs")
    batch_size: int = _field(128, "images per replica and step (global batch = this x replicas)")
    lr: float = _field(0.1, "peak learning rate at a global batch of --lr-batch (scaled linearly otherwise)")
    lr_batch: int = _field(128, "global batch size at which --lr applies (linear scaling rule, Goyal et al. 2017)")
    momentum: float = _field(0.9, "SGD momentum")
    nesterov: bool = _field(False, "Nesterov momentum")
    weight_decay: float = _field(1e-4, "L2 penalty on convolution and dense kernels, Torch convention (grad += wd*w)")
    schedule: str = _field("step", "learning-rate shape after warm-up: 'step' or 'cosine'")
    milestones: tuple = _field((0.5, 0.75), "fractions of training at which a 'step' schedule multiplies by --gamma")
    gamma: float = _field(0.1, "factor of each step of a 'step' schedule")
    warmup_epochs: float = _field(0.0, "epochs of linear warm-up from 0 to the peak learning rate")
    augment: str = _field("cifar", "'cifar' (pad, crop, flip), 'imagenet' (resized crop, flip) or 'none'")
    pad: int = _field(None, "padding of the CIFAR crop in pixels (default: 1/8 of the image side)", int)
    flip: bool = _field(None, "random horizontal flips (default: on, except for hand-written digits)", bool)
    image_size: int = _field(None, "image side for the 'imagenet' augmentation (default 224)", int)
    sync_batchnorm: bool = _field(False, "batch statistics over all replicas (synchronised BatchNormalization)")
    label_smoothing: float = _field(0.0, "label smoothing of the cross-entropy (Szegedy et al. 2016; 0: none)")
    ema: bool = _field(
        False, "keep an exponential moving average of the weights (Keras' optimizer use_ema) and evaluate and save it"
    )
    ema_momentum: float = _field(0.999, "momentum of the weights' moving average (with --ema)")
    randaugment: int = _field(0, "RandAugment operations per image (keras.layers.RandAugment; 0: none)")
    mixup: float = _field(0.0, "MixUp's alpha (keras.layers.MixUp; 0: none)")
    cutmix: float = _field(0.0, "CutMix's factor (keras.layers.CutMix; 0: none)")
    cache: bool = _field(
        False, "decode the images once and keep them in memory (tf.data cache), instead of every epoch"
    )
    tta_flip: bool = _field(False, "report the final test accuracy also with horizontal-flip test-time averaging")

    @property
    def one_hot(self):
        """Whether the labels must be one-hot (label smoothing, MixUp and CutMix blend them)."""
        return bool(self.label_smoothing or self.mixup or self.cutmix)


RECIPES = {
    # He et al. 2015, sec. 4.2: 64k iterations of batch 128 ~ 164 epochs of 50k; /10 at 32k and 48k.
    # ResNet-110 and deeper warmed up (He used lr 0.01 for ~400 iterations): add warmup_epochs=1.
    "cifar": Recipe(),
    # Goyal et al. 2017 / He 2015 ImageNet: lr 0.1 per 256 images, 5 warm-up epochs, /10 at 30, 60, 80 of 90.
    "imagenet": Recipe(
        epochs=90,
        batch_size=256,
        lr_batch=256,
        warmup_epochs=5.0,
        milestones=(1 / 3, 2 / 3, 8 / 9),
        augment="imagenet",
    ),
    # He et al. 2016 (pre-activation): the CIFAR recipe with a warm-up, which ResNet-1001 needs.
    "preact": Recipe(warmup_epochs=1.0),
    # Huang et al. 2017 (DenseNet): batch 64, 300 epochs, Nesterov, /10 at 50% and 75%.
    "densenet": Recipe(epochs=300, batch_size=64, lr_batch=64, nesterov=True),
    # Zagoruyko & Komodakis 2016 (WRN): 200 epochs, Nesterov, wd 5e-4, x0.2 at epochs 60, 120, 160.
    "wrn": Recipe(epochs=200, nesterov=True, weight_decay=5e-4, milestones=(0.3, 0.6, 0.8), gamma=0.2),
    # What short schedules learned since (Goyal et al. 2017, Loshchilov & Hutter 2017, He et al. 2019's Bag of
    # Tricks, the DAWNBench CIFAR entries): a fifth of the paper's epochs, a larger batch with the linearly
    # scaled rate, a warm-up then a cosine to zero, Nesterov, label smoothing, weight decay 5e-4 on kernels
    # only, images decoded once, and flip averaging at test time. No MixUp/CutMix/RandAugment by default:
    # they pay off over long schedules, and cost a short one (see README's ablation).
    "cifar_fast": Recipe(
        epochs=30,
        batch_size=256,
        lr=0.2,
        lr_batch=256,
        nesterov=True,
        weight_decay=5e-4,
        schedule="cosine",
        warmup_epochs=1.0,
        label_smoothing=0.1,
        cache=True,
        tta_flip=True,
    ),
}


def describe(name):
    """One line of what recipe `name` does, from its fields ("164 epochs, batch 128, lr 0.1, step at 50%, 75%").

    Args:
        name: a key of `RECIPES`.

    Returns:
        A string.
    """
    recipe = RECIPES[name]
    schedule = (
        f"step at {', '.join(f'{m:.0%}' for m in recipe.milestones)}" if recipe.schedule == "step" else recipe.schedule
    )
    extras = [
        label
        for label, on in (
            ("warm-up", recipe.warmup_epochs),
            ("Nesterov", recipe.nesterov),
            ("label smoothing", recipe.label_smoothing),
            ("cached", recipe.cache),
        )
        if on
    ]
    return ", ".join(
        [
            f"{recipe.epochs} epochs",
            f"batch {recipe.batch_size}",
            f"lr {recipe.lr:g}",
            schedule,
            f"wd {recipe.weight_decay:g}",
            f"{recipe.augment} augmentation",
            *extras,
        ]
    )


def get_recipe(name="cifar", **overrides):
    """The recipe `name` from `RECIPES` with `overrides` applied, every value checked.

    Args:
        name: a key of `RECIPES` ("cifar", "imagenet", "preact", "densenet", "wrn").
        **overrides: `Recipe` fields to replace (`epochs=5`, `lr=0.05`, ...); None values are ignored.

    Returns:
        A `Recipe`.

    Raises:
        ValueError: an unknown recipe or field, or a value outside its rule in `keras_resnet.utils.checks.LIMITS`.
    """
    if name not in RECIPES:
        raise ValueError(f"recipe={name!r} is not known; choose one of {sorted(RECIPES)}")
    fields = {f.name: f for f in dataclasses.fields(Recipe)}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise ValueError(f"{unknown} are not recipe settings; valid ones are {sorted(fields)}")
    chosen = dataclasses.replace(RECIPES[name], **{k: v for k, v in overrides.items() if v is not None})
    if chosen.schedule not in SCHEDULES:
        raise ValueError(f"schedule={chosen.schedule!r} is not valid: use one of {', '.join(map(repr, SCHEDULES))}")
    if chosen.augment not in AUGMENTATIONS:
        raise ValueError(f"augment={chosen.augment!r} is not valid: use one of {', '.join(map(repr, AUGMENTATIONS))}")
    for field in fields:
        if field in checks.LIMITS:
            checks.check(field, getattr(chosen, field))
    return dataclasses.replace(chosen, milestones=tuple(float(m) for m in chosen.milestones))
