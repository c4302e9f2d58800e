"""Training the way the papers did (TensorFlow-only module): recipes, strategies, callbacks, resume.

`train()` builds a model inside a `tf.distribute` strategy scope, feeds it `keras_resnet.data`
pipelines and runs `model.fit` with a recipe's optimizer and schedule. Given an output directory it
never loses work: `BackupAndRestore` every epoch (and every N steps), best and last `.keras`
checkpoints, the final `.keras`, TensorBoard logs, a history CSV, a PNG of the curves and the run's
config as JSON; re-running the same call resumes.

    history = keras_resnet.training.train("ResNet20", "digits", recipe="cifar", epochs=5, output="runs/r20")
"""

import builtins
import contextlib
import csv
import dataclasses
import json
import math
import os
import pathlib
import re
import shutil
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from keras_resnet import data, models


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


RECIPES = {
    # He et al. 2015, sec. 4.2: 64k iterations of batch 128 ~ 164 epochs of 50k; /10 at 32k and 48k.
    # ResNet-110 and deeper warmed up (He used lr 0.01 for ~400 iterations): add warmup_epochs=1.
    "cifar": Recipe(),
    # Goyal et al. 2017 / He 2015 ImageNet: lr 0.1 per 256 images, 5 warm-up epochs, /10 at 30, 60, 80 of 90.
    "imagenet": Recipe(
        epochs=90, batch_size=256, lr_batch=256, warmup_epochs=5.0, milestones=(1 / 3, 2 / 3, 8 / 9),
        augment="imagenet",
    ),
    # He et al. 2016 (pre-activation): the CIFAR recipe with a warm-up, which ResNet-1001 needs.
    "preact": Recipe(warmup_epochs=1.0),
    # Huang et al. 2017 (DenseNet): batch 64, 300 epochs, Nesterov, /10 at 50% and 75%.
    "densenet": Recipe(epochs=300, batch_size=64, lr_batch=64, nesterov=True),
    # Zagoruyko & Komodakis 2016 (WRN): 200 epochs, Nesterov, wd 5e-4, x0.2 at epochs 60, 120, 160.
    "wrn": Recipe(epochs=200, nesterov=True, weight_decay=5e-4, milestones=(0.3, 0.6, 0.8), gamma=0.2),
}


def get_recipe(name="cifar", **overrides):
    """The recipe `name` from `RECIPES` with `overrides` applied.

    Args:
        name: a key of `RECIPES` ("cifar", "imagenet", "preact", "densenet", "wrn").
        **overrides: `Recipe` fields to replace (`epochs=5`, `lr=0.05`, ...); None values are ignored.

    Returns:
        A `Recipe`.

    Raises:
        ValueError: an unknown recipe or field, or a schedule, epoch count, batch size or rate out of range.
    """
    if name not in RECIPES:
        raise ValueError(f"recipe={name!r} is not known; choose one of {sorted(RECIPES)}")
    fields = {f.name for f in dataclasses.fields(Recipe)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"{unknown} are not recipe settings; valid ones are {sorted(fields)}")
    chosen = dataclasses.replace(RECIPES[name], **{k: v for k, v in overrides.items() if v is not None})
    if chosen.schedule not in ("step", "cosine"):
        raise ValueError(f"schedule={chosen.schedule!r} is not valid: use 'step' or 'cosine'")
    if chosen.epochs < 1 or chosen.batch_size < 1 or chosen.lr <= 0:
        raise ValueError(f"epochs, batch_size and lr must be positive (got {chosen.epochs}, {chosen.batch_size}, {chosen.lr})")
    return dataclasses.replace(chosen, milestones=tuple(float(m) for m in chosen.milestones))


@keras.saving.register_keras_serializable(package="keras_resnet")
class RecipeSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `lr`, then steps of `gamma` at `milestones` (fractions of `total_steps`) or a cosine."""

    def __init__(self, lr, total_steps, warmup_steps=0, milestones=(), gamma=0.1, shape="step"):
        self.lr, self.total_steps, self.warmup_steps = float(lr), int(total_steps), int(warmup_steps)
        self.milestones, self.gamma, self.shape = tuple(milestones), float(gamma), shape

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        if self.shape == "cosine":
            span = max(self.total_steps - self.warmup_steps, 1)
            progress = keras.ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
            decayed = 0.5 * self.lr * (1.0 + keras.ops.cos(math.pi * progress))
        else:
            drops = sum(keras.ops.cast(step >= round(m * self.total_steps), "float32") for m in self.milestones)
            decayed = self.lr * keras.ops.power(self.gamma, drops)
        warm = self.lr * (step + 1.0) / max(self.warmup_steps, 1)
        return keras.ops.where(step < self.warmup_steps, warm, decayed)

    def get_config(self):
        return dict(
            lr=self.lr, total_steps=self.total_steps, warmup_steps=self.warmup_steps,
            milestones=self.milestones, gamma=self.gamma, shape=self.shape,
        )


def configure_cpu_devices(count):
    """Split the CPU into `count` logical devices (for MirroredStrategy on a CPU).

    Args:
        count: the number of logical CPU devices.

    Raises:
        ValueError: TensorFlow has already started with another number of devices (call it first).
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        if len(tf.config.list_logical_devices("CPU")) != count:
            raise ValueError(
                f"cpu_devices={count} must be set before TensorFlow starts; run it in a fresh process"
            ) from None


def make_strategy(name="auto"):
    """A `tf.distribute` strategy by name.

    Args:
        name: `"auto"` (MirroredStrategy when more than one GPU is visible, else the default strategy),
            `"default"`, `"mirrored"` (every GPU, or every logical CPU when there is none) or
            `"multiworker"` (MultiWorkerMirroredStrategy, cluster from the TF_CONFIG environment variable).

    Returns:
        A `tf.distribute.Strategy`.

    Raises:
        ValueError: an unknown name, or "multiworker" without TF_CONFIG.
    """
    if name == "multiworker":  # first: it must set up collective ops before anything starts TensorFlow
        if "TF_CONFIG" not in os.environ:
            raise ValueError("strategy='multiworker' reads the cluster from TF_CONFIG, which is not set")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "auto":
        name = "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.MirroredStrategy([d.name for d in gpus or tf.config.list_logical_devices("CPU")])
    raise ValueError(f"strategy={name!r} is not valid: use 'auto', 'default', 'mirrored' or 'multiworker'")


def mixed_precision_policy():
    """The 16-bit type this machine computes fastest: float16 where a GPU is visible, bfloat16 on a CPU.

    Returns:
        The Keras dtype policy name, `"mixed_float16"` or `"mixed_bfloat16"`.
    """
    return "mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16"


@contextlib.contextmanager
def dtype_policy(mixed_precision):
    """Build models inside with `mixed_precision_policy()` (when asked), then restore the previous policy.

    The classifier should compute in float32: `model.get_layer("predictions").dtype_policy = "float32"`.

    Args:
        mixed_precision: whether to switch to `mixed_precision_policy()`; when false the policy is left as it is.
    """
    previous = keras.config.dtype_policy()
    if mixed_precision:
        keras.config.set_dtype_policy(mixed_precision_policy())
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def add_weight_decay(model, weight_decay):
    """Put an L2 penalty `weight_decay / 2 * sum(w**2)` on every kernel of `model` (BN and biases are free).

    The gradient gains `weight_decay * w` before momentum, which is the Torch SGD the papers used.
    Keras' `optimizer(weight_decay=...)` is decoupled (AdamW-style, bypasses momentum, scaled by the
    learning rate) and touches BN parameters too, so it is not the papers' regulariser. Set on the
    variables rather than the layers' configs, the penalty leaves saved models unchanged.

    Args:
        model: a built `keras.Model`; its variables named "kernel" get the penalty.
        weight_decay: the papers' weight decay (1e-4 for the CIFAR ResNets); 0 or None removes the penalty.
    """
    penalty = keras.regularizers.L2(weight_decay / 2) if weight_decay else None
    for variable in model.trainable_weights:
        if variable.name == "kernel":
            variable.regularizer = penalty


ADVICE = "lower the learning rate (--lr), check the inputs, or train without --mixed-precision"


def _check_finite_weights(model, where, output=""):
    """Raise a FloatingPointError before a checkpoint would keep non-finite weights."""
    bad = next((w.path for w in model.weights if not np.isfinite(keras.ops.convert_to_numpy(w)).all()), None)
    if bad is not None:
        raise FloatingPointError(
            f"training stopped at {where}: weight {bad} is not finite and was not saved; {output}{ADVICE}"
        )


class TerminateOnNaN(keras.callbacks.TerminateOnNaN):
    """Keras' TerminateOnNaN that stops *before* the broken weights reach any checkpoint, with a clear message.

    A step can leave non-finite weights behind a finite loss (the loss is computed before the update),
    so the weights are checked too at each epoch's end, before the checkpoints that follow this callback.
    """

    def __init__(self, where):
        super().__init__()
        self.where, self.epoch, self.steps = where, 0, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        self.steps = batch + 1
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            raise FloatingPointError(
                f"training stopped at epoch {self.epoch + 1}, step {batch + 1}: the loss became {loss}; "
                f"{self.where}{ADVICE}"
            )

    def on_epoch_end(self, epoch, logs=None):
        _check_finite_weights(self.model, f"the end of epoch {epoch + 1}, step {self.steps}", self.where)


def _partial(path):
    """The hidden name beside `path` that a write goes to before it is renamed into place."""
    return path.with_name(f".{path.name.split('.')[0]}-partial{''.join(path.suffixes)}")


@contextlib.contextmanager
def _atomic_write(path):
    """Yield a temporary path beside `path`; once written (if it was), rename it into place.

    A process killed, or a disk that fills, mid-write leaves the previous `path` whole (a rename is
    atomic on POSIX), and a failed write is an OSError that names `path`.
    """
    path = pathlib.Path(path)
    partial = _partial(path)
    try:
        yield partial
        if partial.exists():
            os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise OSError(
            f"could not write {path} ({error.strerror or error}): free disk space or choose another output; "
            f"the files already in {path.parent} are whole, re-run to resume from them"
        ) from error


class ModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """Keras' ModelCheckpoint writing through `_atomic_write`: never a half-written `.keras` file."""

    def __init__(self, filepath, **kwargs):
        self.target = pathlib.Path(filepath)
        super().__init__(_partial(self.target), **kwargs)

    def on_train_begin(self, logs=None):
        _partial(self.target).unlink(missing_ok=True)  # left by a killed run: never to be renamed in

    def _save_model(self, epoch, batch, logs):
        with _atomic_write(self.target):
            super()._save_model(epoch, batch, logs)


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras' BackupAndRestore made safe against a kill at any moment and against non-finite weights.

    Keras' writes the weights and then the epoch, in place: a kill between the two resumes the wrong
    epoch, a kill mid-write leaves a corrupt file. Here a backup is one file named after its state,
    `step<optimizer steps>-epoch<epoch to resume at>.weights.h5`, written to a temporary name and
    renamed into place when whole; the two newest are kept, and restoring takes the newest one that
    loads. It also backs up at each epoch's end when it backs up every N steps (Keras' skips that, so
    a run killed early in the next epoch would restart the finished epoch from its last step's
    weights), and on resume it drops the history rows of the epochs that run again.
    """

    NAME = re.compile(r"step(\d+)-epoch(\d+)\.weights\.h5")

    def __init__(self, backup_dir, history, save_freq="epoch"):
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=False)
        self.history = pathlib.Path(history)

    def backups(self):
        """(optimizer steps, epoch, path) of every backup, newest first."""
        found = [(self.NAME.fullmatch(p.name), p) for p in pathlib.Path(self.backup_dir).glob("step*.weights.h5")]
        return sorted(((int(m[1]), int(m[2]), p) for m, p in found if m), reverse=True)

    def on_train_begin(self, logs=None):
        for partial in pathlib.Path(self.backup_dir).glob(".*-partial.weights.h5"):
            partial.unlink()  # cut short by a kill
        if not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        for steps, epoch, path in self.backups():
            try:
                self.model.load_weights(path)
            except (OSError, ValueError):
                continue
            if int(self.model.optimizer.iterations.numpy()) == steps:
                self.model._initial_epoch = epoch
                break
        else:
            if self.backups():
                raise ValueError(f"no backup in {self.backup_dir} loads: remove that folder to train this run again")
        if self.history.exists():  # rows of epochs that run again are written again
            resumed = self.model._initial_epoch or 0
            with open(self.history, "r+", newline="") as file:
                rows = file.readlines()
                kept = rows[:1] + [r for r in rows[1:] if r.endswith("\n") and int(r.split(",")[0]) < resumed]
                file.seek(0)
                file.writelines(kept)
                file.truncate()

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch  # Keras' counts from 0 in a resumed run until an epoch ends

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.save_freq != "epoch":
            self._save_model()

    def _save_model(self):
        where = f"a backup in epoch {self._current_epoch + 1}, step {self._last_batch_seen + 1}"
        _check_finite_weights(self.model, where)
        steps = int(self.model.optimizer.iterations.numpy())
        os.makedirs(self.backup_dir, exist_ok=True)
        with _atomic_write(pathlib.Path(self.backup_dir, f"step{steps}-epoch{self._current_epoch}.weights.h5")) as new:
            self.model.save_weights(new)
        for _, _, old in self.backups()[2:]:
            old.unlink()


class EpochSummary(keras.callbacks.Callback):
    """One line per epoch: metrics, learning rate and seconds."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs, self.start = epochs, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        metrics = " ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items() if k != "learning_rate")
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        print(f"epoch {epoch + 1}/{self.epochs}: {metrics} lr {lr:.4g} ({time.perf_counter() - self.start:.1f}s)", flush=True)


def read_history(path):
    """Read the history a training run wrote.

    Args:
        path: a `keras.callbacks.CSVLogger` file such as `<output>/history.csv`.

    Returns:
        A dict {column: [values by epoch]}, keeping the last row of any repeated (resumed) epoch.
    """
    with open(path, newline="") as file:
        rows = {int(row["epoch"]): row for row in csv.DictReader(file)}
    columns = next(iter(rows.values())).keys() if rows else []
    return {c: [float(rows[e][c]) for e in sorted(rows)] for c in columns}


def plot_history(runs, path):
    """Save a PNG of loss (log axis) and accuracy curves, training dashed and test solid.

    Args:
        runs: a dict mapping a label to a history CSV path or to a {column: values} dict.
        path: the PNG to write.

    Returns:
        `path`.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(1, 2, figsize=(11, 4))
    for (label, history), color in zip(runs.items(), pyplot.rcParams["axes.prop_cycle"].by_key()["color"]):
        history = read_history(history) if isinstance(history, (str, os.PathLike)) else history
        epochs = np.arange(1, len(history.get("loss", [])) + 1)
        for axis, metric in zip(axes, ("loss", "accuracy")):
            for prefix, style in (("", "--"), ("val_", "-")):
                if prefix + metric in history:
                    name = "train" if not prefix else "test"
                    axis.plot(epochs, history[prefix + metric], style, color=color, label=f"{label} {name}")
    for axis, metric in zip(axes, ("loss", "accuracy")):
        axis.set(xlabel="epoch", ylabel=metric)
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small")
    # A diverging run (a deep plain net's first epoch can reach 1e14) would flatten every other curve.
    axes[0].set_yscale("log")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path


def _patch_keras_for_multiworker(net, batch):
    """Work around Keras 3.15 under MultiWorkerMirroredStrategy (tensorflow/tensorflow#72388).

    fit builds metrics and optimizer from strategy.reduce("MEAN", first input batch) and reduces each
    step's scalar logs with axis=0; both fail across workers. Only shapes matter for the first, so
    build from an undistributed batch and skip it; for the logs take this worker's values (they
    are only logged: gradients are all-reduced by the optimizer, so the weights are the same).
    """
    from keras.src.backend.tensorflow import trainer

    with net.distribute_strategy.scope():
        net._symbolic_build(data_batch=batch)
    net._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
    if not getattr(trainer.reduce_per_replica, "keras_resnet", False):
        reduce = trainer.reduce_per_replica

        def local_logs(values, strategy, reduction):
            if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and reduction == "auto":
                return tf.nest.map_structure(lambda v: strategy.experimental_local_results(v)[0], values)
            return reduce(values, strategy, reduction)

        local_logs.keras_resnet = True
        trainer.reduce_per_replica = local_logs


def _claim_output(output, config, overwrite):
    """Create `output`, or check that it holds this same run (resume); refuse a different one."""
    saved = output / "config.json"
    if output.exists() and any(output.iterdir()):
        previous = json.loads(saved.read_text()) if saved.exists() else None
        if previous != config and not overwrite:
            changed = sorted(k for k in set(config) | set(previous or {}) if (previous or {}).get(k) != config.get(k))
            raise ValueError(
                f"output {output} holds a different run (differs in {', '.join(changed)}); "
                "choose another output or pass overwrite=True (--overwrite) to replace it"
            )
        if previous != config:
            shutil.rmtree(output)
    output.mkdir(parents=True, exist_ok=True)
    with _atomic_write(saved) as new:
        new.write_text(json.dumps(config, indent=2) + "\n")


def _check_writable(output):
    """Fail before any work when `output` cannot be written (read-only, not a folder, no permission)."""
    try:
        output.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=output):
            pass
    except OSError as error:
        raise ValueError(
            f"output {output} is not writable ({error.strerror or error}): choose another output (--output) "
            "or make it writable"
        ) from None


def _describe(value):
    if isinstance(value, keras.Model):
        return f"{value.name} ({value.count_params()} parameters)"
    if isinstance(value, (tuple, list)):
        return f"arrays {[np.shape(a) for pair in value for a in (pair if isinstance(pair, (tuple, list)) else [pair])]}"
    return str(value)


def train(
    model,
    dataset,
    *,
    recipe="cifar",
    output=None,
    overwrite=False,
    strategy="auto",
    cpu_devices=None,
    mixed_precision=False,
    jit_compile=False,
    data_dir=None,
    manual_dir=None,
    on_bad_image="skip",
    steps_per_epoch=None,
    backup_every=None,
    seed=0,
    verbose=1,
    **overrides,
):
    """Train `model` on `dataset` with a paper's recipe under a distribution strategy.

    Args:
        model: a name for `keras_resnet.build` (built for the data's image shape and classes inside
            the strategy's scope) or a `keras.Model` (copied into the scope).
        dataset: anything `keras_resnet.data.load` takes: `"digits"`, a folder, arrays or a tfds name.
        recipe: a name in `RECIPES`.
        output: directory for checkpoints, logs, history, curves and config (None: nothing is written).
            Re-running the same call resumes there from the last backup.
        overwrite: replace an `output` that holds a different run instead of refusing.
        strategy: `"auto"`, `"default"`, `"mirrored"` or `"multiworker"` (see `make_strategy`).
        cpu_devices: split the CPU into this many logical devices first (MirroredStrategy on a CPU).
        mixed_precision: compute in float16 (bfloat16 on a CPU) with float32 variables and logits.
        jit_compile: compile the train step with XLA.
        data_dir, manual_dir, on_bad_image: passed to `keras_resnet.data.load`.
        steps_per_epoch: steps per epoch (default: one pass over the training set).
        backup_every: also back up every this many steps, not only at each epoch's end.
        seed: seed of weights, shuffling and augmentation.
        verbose: Keras' progress bar (1), one line per epoch (2) or silence (0).
        **overrides: `Recipe` fields replacing the recipe's (`epochs=5`, `lr=0.05`, ...).

    Returns:
        The `keras.callbacks.History` of this call's epochs (empty when the run had already finished);
        `history.test` holds the final test loss and accuracy.
    """
    chosen = get_recipe(recipe, **overrides)
    if cpu_devices:
        configure_cpu_devices(cpu_devices)
    strategy_object = make_strategy(strategy)
    output = pathlib.Path(output) if output is not None else None
    if output is not None:
        if isinstance(strategy_object, tf.distribute.MultiWorkerMirroredStrategy):
            # Only the chief writes to `output`; the other workers keep their own copies beside it.
            task = strategy_object.cluster_resolver.task_id
            output = output if task == 0 else output.with_name(f"{output.name}-worker{task}")
        _check_writable(output)  # before the data (a large folder takes minutes to check) and the model
    keras.config.set_image_data_format("channels_last")
    keras.utils.set_random_seed(seed)
    # A given model fixes the number of classes: a label beyond its outputs is refused by index, up front.
    classes = model.output_shape[-1] if isinstance(model, keras.Model) else None
    source = data.load(
        dataset, data_dir=data_dir, manual_dir=manual_dir, on_bad_image=on_bad_image, seed=seed, classes=classes
    )
    if source.image_shape[0] is None and chosen.augment != "imagenet":
        raise ValueError(f"{source.name} has images of different sizes: use augment='imagenet' to resize them")
    replicas = strategy_object.num_replicas_in_sync
    global_batch = chosen.batch_size * replicas
    steps = steps_per_epoch or math.ceil(source.train_size / global_batch)
    flip = chosen.flip if chosen.flip is not None else source.name not in data.ORIENTED
    config = dict(
        model=_describe(model), dataset=_describe(dataset), recipe=recipe, **dataclasses.asdict(chosen),
        strategy=strategy, replicas=replicas, mixed_precision=mixed_precision, jit_compile=jit_compile,
        steps_per_epoch=steps, backup_every=backup_every, seed=seed,
    )
    config["milestones"] = list(config["milestones"])

    if output is not None:
        _claim_output(output, config, overwrite)

    stats = source.stats()
    options = dict(augment=chosen.augment, pad=chosen.pad, flip=flip, image_size=chosen.image_size, seed=seed)
    train_data = data.pipeline(source.train, training=True, batch_size=global_batch, stats=stats, **options)
    test_data = data.pipeline(source.test, training=False, batch_size=global_batch, stats=stats, **options)
    input_shape = tuple(train_data.element_spec[0].shape[1:])

    if mixed_precision and not isinstance(model, str):
        raise ValueError("mixed_precision needs the model's name, so that it is built with 16-bit layers")
    with dtype_policy(mixed_precision):
        with strategy_object.scope():
            if isinstance(model, str):
                net = models.build(model, input_shape=input_shape, classes=source.num_classes)
            else:
                net = keras.models.clone_model(model)
                net.set_weights(model.get_weights())
            if mixed_precision:
                net.get_layer("predictions").dtype_policy = "float32"  # softmax and loss in float32
            for layer in net._flatten_layers():
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.synchronized = chosen.sync_batchnorm
            add_weight_decay(net, chosen.weight_decay)
            schedule = RecipeSchedule(
                chosen.lr * global_batch / chosen.lr_batch, chosen.epochs * steps,
                round(chosen.warmup_epochs * steps), chosen.milestones, chosen.gamma, chosen.schedule,
            )
            net.compile(
                optimizer=keras.optimizers.SGD(schedule, momentum=chosen.momentum, nesterov=chosen.nesterov),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
                jit_compile=jit_compile,
            )

    where = f"the last good state is in {output} (re-run to resume); " if output else ""
    # Keras' progress bar (verbose=1) rewrites its line; the summary keeps one line per epoch (verbose=2 has its own).
    callbacks = [TerminateOnNaN(where)] + ([EpochSummary(chosen.epochs)] if verbose == 1 else [])
    if output is not None:
        best_so_far = None
        if (output / "history.csv").exists() and os.path.getsize(output / "history.csv"):
            best_so_far = max(read_history(output / "history.csv").get("val_accuracy", [0.0]))
        callbacks += [
            ModelCheckpoint(output / "last.keras"),
            ModelCheckpoint(
                output / "best.keras", monitor="val_accuracy", save_best_only=True, initial_value_threshold=best_so_far
            ),
            keras.callbacks.CSVLogger(output / "history.csv", append=True),
            keras.callbacks.TensorBoard(output / "logs"),
            # Last, so that a backup is only taken once the epoch's other files are written; kept after the
            # end so that re-running a finished run resumes at its end instead of training again.
            BackupAndRestore(output / "backup", output / "history.csv", save_freq=backup_every or "epoch"),
        ]
    if isinstance(strategy_object, tf.distribute.MultiWorkerMirroredStrategy):
        _patch_keras_for_multiworker(net, next(iter(train_data)))
    history = net.fit(
        train_data, epochs=chosen.epochs, steps_per_epoch=steps, validation_data=test_data,
        callbacks=callbacks, verbose=verbose, shuffle=False,  # the pipeline shuffles
    )
    loss, accuracy = net.evaluate(test_data, verbose=0)
    history.test = {"loss": float(loss), "accuracy": float(accuracy)}
    if output is not None:
        # The final model without its optimizer: it loads with `import keras_resnet` alone (the
        # checkpoints keep the optimizer and need `import keras_resnet.training` for RecipeSchedule).
        final = keras.models.clone_model(net)
        final.set_weights(net.get_weights())
        with _atomic_write(output / "final.keras") as new:
            final.save(new)
        with _atomic_write(output / "results.json") as new:
            new.write_text(json.dumps({"test": history.test, "epochs": chosen.epochs}, indent=2) + "\n")
        plot_history({config["model"]: output / "history.csv"}, output / "curves.png")
    return history
