"""Training the way the papers did, on every Keras backend: strategies, callbacks, resume, a whole run.

`train()` builds a model inside a distribution scope (a `tf.distribute` strategy on TensorFlow,
`keras.distribution.DataParallel` or one device on JAX, one device on PyTorch), puts the training data's
normalisation into its graph (so every file it writes takes raw pixels), feeds it `keras_resnet.training.data`
batches (tf.data on TensorFlow, a PyDataset elsewhere) and runs `model.fit` with a recipe
(`keras_resnet.training.recipes`, compiled by `keras_resnet.training.optimizer`).
Given an output directory it never loses work: it holds the folder with an OS lock, backs up every epoch (and every N
steps), keeps best and last `.keras` checkpoints, the final `.keras`, TensorBoard logs, a history CSV, a
PNG of the curves, the run's config as JSON and sample test images with the model's answers for
`keras_resnet.serving.export.verify`; re-running the same call resumes.

    history = keras_resnet.training.train("ResNet20", "digits", recipe="cifar", epochs=5, output="runs/r20")
"""

import contextlib
import csv
import dataclasses
import datetime
import io
import math
import os
import pathlib
import re
import sys
import time

import keras
import numpy as np

from keras_resnet import factory, models, specs
from keras_resnet.training import data, optimizer, recipes
from keras_resnet.utils import checks, files, plots

# What a run writes in its output folder besides config.json: `--overwrite` removes these and nothing else.
RUN_FILES = (
    "history.csv",
    "last.keras",
    "best.keras",
    "final.keras",
    "results.json",
    "samples.npz",
    "curves.png",
    "logs",
    "backup",
    "status.txt",
)
# Test images kept with the model's answers, for `keras_resnet.serving.export.verify` to compare served answers with.
SAMPLES = 32


def configure_cpu_devices(count):
    """Split the CPU into `count` logical devices (for MirroredStrategy, or DataParallel on JAX, on a CPU).

    Args:
        count: the number of logical CPU devices.

    Raises:
        ValueError: the backend has already started with another number of devices (call it first).
    """
    if keras.backend.backend() == "jax":
        import jax

        try:
            jax.config.update("jax_num_cpu_devices", count)
        except RuntimeError:  # JAX's devices exist already
            if len(jax.devices("cpu")) != count:
                raise ValueError(
                    f"cpu_devices={count} must be set before JAX starts; run it in a fresh process"
                ) from None
        return
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"cpu_devices is not used on the {keras.backend.backend()} backend, which trains on one device"
        )
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        if len(tf.config.list_logical_devices("CPU")) != count:
            raise ValueError(
                f"cpu_devices={count} must be set before TensorFlow starts; run it in a fresh process"
            ) from None


class KerasDistribution:
    """What `train` needs of a strategy on the JAX and PyTorch backends: a scope to build and train in, the number
    of replicas and this host's part of each batch. It holds a `keras.distribution.DataParallel`, or nothing (one
    device)."""

    def __init__(self, distribution=None):
        self.distribution, self.num_replicas_in_sync, self.shard = distribution, 1, (0, 1)
        if distribution is not None:
            import jax

            self.num_replicas_in_sync = distribution.device_mesh.devices.size
            self.shard = (jax.process_index(), jax.process_count())

    def scope(self):
        return self.distribution.scope() if self.distribution is not None else contextlib.nullcontext()


# Keras' (and JAX's) variables naming a cluster: with one of them set, "data-parallel" joins it first.
CLUSTER_VARIABLES = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES", "JAX_COORDINATOR_ADDRESS")


def _keras_distribution(name):
    backend = keras.backend.backend()
    if name in ("auto", "default"):
        return KerasDistribution()
    if name == "data-parallel" and backend == "jax":
        if any(variable in os.environ for variable in CLUSTER_VARIABLES):
            keras.distribution.initialize()  # jax.distributed over the hosts those variables name
        return KerasDistribution(keras.distribution.DataParallel(devices=keras.distribution.list_devices()))
    if backend == "jax":
        valid = "'auto' or 'default' (one device), or 'data-parallel' (every device, keras.distribution.DataParallel)"
    else:
        valid = "'auto' or 'default' (one device: Keras distributes training on the JAX backend only)"
    raise ValueError(f"strategy={name!r} is not valid on the {backend} backend: use {valid}")


def make_strategy(name="auto"):
    """A distribution strategy by name, for the Keras backend in use.

    Args:
        name: on TensorFlow, `"auto"` (MirroredStrategy when more than one GPU is visible, else the default
            strategy), `"default"`, `"mirrored"` (every GPU, or every logical CPU when there is none) or
            `"multiworker"` (MultiWorkerMirroredStrategy, cluster from the TF_CONFIG environment variable). On JAX,
            `"auto"` and `"default"` (one device) or `"data-parallel"` (`keras.distribution.DataParallel` over
            every device, after `keras.distribution.initialize()` joins the hosts that KERAS_DISTRIBUTION_* or
            JAX_COORDINATOR_ADDRESS name); on PyTorch, `"auto"` and `"default"` (one device).

    Returns:
        A `tf.distribute.Strategy` on TensorFlow, a `KerasDistribution` elsewhere.

    Raises:
        ValueError: a name the backend does not have, or "multiworker" without TF_CONFIG.
    """
    if keras.backend.backend() != "tensorflow":
        return _keras_distribution(name)
    import tensorflow as tf

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
    raise ValueError(
        f"strategy={name!r} is not valid on the tensorflow backend: use 'auto', 'default', 'mirrored' or 'multiworker'"
    )


def mixed_precision_policy():
    """The 16-bit type this machine computes fastest: float16 where the backend sees a GPU, bfloat16 on a CPU.

    Returns:
        The Keras dtype policy name, `"mixed_float16"` or `"mixed_bfloat16"`.
    """
    return "mixed_float16" if _on_gpu() else "mixed_bfloat16"


def _on_gpu():
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_logical_devices("GPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    return False


@contextlib.contextmanager
def dtype_policy(mixed_precision):
    """Build models inside with `mixed_precision_policy()` (when asked), then restore the previous policy.

    For models outside keras_resnet (keras.applications', in the benchmarks); ours take `dtype=` directly.
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


class ModelCheckpoint(keras.callbacks.Callback):
    """Save the model, optimizer included, as a `.keras` file at each epoch's end, or with `monitor` only when
    that metric beats its best so far; through `files.atomic_write`: never a half-written `.keras` file, and a
    disk too full for it is one sentence before the write starts.

    A callback of its own rather than Keras' ModelCheckpoint, whose only way to choose where a write goes is
    its private `_save_model`.

    Args:
        filepath: the `.keras` file.
        monitor: a logged metric where higher is better (e.g. "val_accuracy"); None saves every epoch.
        best: the best value of `monitor` so far (a resumed run's), which a save must beat.
    """

    def __init__(self, filepath, monitor=None, best=None):
        super().__init__()
        self.target, self.monitor, self.best = pathlib.Path(filepath), monitor, best

    def on_train_begin(self, logs=None):
        for partial in files.partials(self.target):  # left by a killed run: never to be renamed in
            partial.unlink()

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor is not None:
            value = (logs or {}).get(self.monitor)
            if value is None or (self.best is not None and not value > self.best):
                return
            self.best = value
        with files.atomic_write(self.target, needs=files.model_bytes(self.model)) as partial:
            self.model.save(partial)


class StatusLine(keras.callbacks.Callback):
    """Keep `status.txt`, one line a person reads at a glance on a run of hours (`cat runs/x/status.txt`):
    "epoch 12/164, accuracy 0.8113, test accuracy 0.7712 (best 0.7801 at epoch 11), 271 s an epoch, about
    11 h 23 min left, at 2026-12-07 09:30". Epoch times are this process's own, so a resumed run's pause
    does not count; the best accuracy comes from the whole `history.csv`."""

    def __init__(self, path, history):
        super().__init__()
        self.path, self.history, self.seconds = pathlib.Path(path), pathlib.Path(history), []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.monotonic() - self.started)
        logs, total = logs or {}, self.params["epochs"]
        parts = [f"epoch {epoch + 1}/{total}"]
        if "accuracy" in logs:
            parts.append(f"accuracy {logs['accuracy']:.4f}")
        if "val_accuracy" in logs:
            # The CSV logger, before this callback, has written this epoch's row already.
            tested = read_history(self.history).get("val_accuracy") or [logs["val_accuracy"]]
            best = max(range(len(tested)), key=tested.__getitem__)
            parts.append(f"test accuracy {logs['val_accuracy']:.4f} (best {tested[best]:.4f} at epoch {best + 1})")
        per_epoch = float(np.median(self.seconds))
        left = round(per_epoch * (total - epoch - 1) / 60)
        if epoch + 1 == total:
            remaining = "finished"
        else:
            remaining = f"about {left // 60} h {left % 60} min left" if left else "less than a minute left"
        parts += [f"{per_epoch:.0f} s an epoch", remaining]
        parts.append(f"at {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}")
        files.write_text(self.path, ", ".join(parts) + "\n")


class BackupAndRestore(keras.callbacks.Callback):
    """Back up the training state (weights and optimizer) safely against a kill at any moment and against
    non-finite weights; `restore` resumes from it.

    Keras' BackupAndRestore writes the weights and then the epoch, in place: a kill between the two resumes
    the wrong epoch, a kill mid-write leaves a corrupt file; and it resumes by setting the model's private
    `_initial_epoch`. Here a backup is one file named after its state, `step<optimizer steps>-epoch<epoch to
    resume at>.weights.h5`, written to a temporary name and renamed into place when whole; the two newest are
    kept. `restore`, called before `fit`, loads the newest one that loads, drops the history rows of the
    epochs that run again and returns the epoch to pass as `fit(initial_epoch=)`. With `save_freq` steps it
    also backs up at each epoch's end, so a run killed early in the next epoch does not restart the finished
    epoch from its last step's weights.

    Args:
        backup_dir: the folder of the backups.
        history: the run's `history.csv`.
        save_freq: "epoch", or back up every this many steps too.
    """

    NAME = re.compile(r"step(\d+)-epoch(\d+)\.weights\.h5")

    def __init__(self, backup_dir, history, save_freq="epoch"):
        super().__init__()
        self.backup_dir, self.history, self.save_freq = pathlib.Path(backup_dir), pathlib.Path(history), save_freq
        self.epoch = self.step = self.unsaved = 0  # the epoch running, its steps done, steps since a backup

    def backups(self):
        """(optimizer steps, epoch, path) of every backup, newest first."""
        found = [(self.NAME.fullmatch(p.name), p) for p in self.backup_dir.glob("step*.weights.h5")]
        return sorted(((int(m[1]), int(m[2]), p) for m, p in found if m), reverse=True)

    def restore(self, model):
        """Load the newest backup that loads into `model` (compiled) and drop the history rows of the epochs
        that run again.

        Args:
            model: the compiled model `fit` will train.

        Returns:
            The epoch to resume at: `fit(initial_epoch=)`; 0 without a backup.

        Raises:
            ValueError: there are backups but none loads.
        """
        for partial in self.backup_dir.glob(".*-partial.weights.h5"):
            partial.unlink()  # cut short by a kill
        if not model.optimizer.built:  # its variables are in a backup too, made where fit would make them
            strategy = getattr(model, "distribute_strategy", None)  # TensorFlow's models have one
            with strategy.scope() if strategy is not None else contextlib.nullcontext():
                model.optimizer.build(model.trainable_variables)
        resumed = 0
        for steps, epoch, path in self.backups():
            try:
                model.load_weights(path)
            except (OSError, ValueError):
                continue
            if int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == steps:
                resumed = epoch
                break
        else:
            if self.backups():
                raise ValueError(f"no backup in {self.backup_dir} loads: remove that folder to train this run again")
        if self.history.exists():  # rows of epochs that run again are written again
            header, rows = _history_rows(self.history)
            text = io.StringIO()
            csv.writer(text).writerows(([header] if header else []) + [row for row in rows if int(row[0]) < resumed])
            files.write_text(self.history, text.getvalue())
        return resumed

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.step = epoch, 0

    def on_train_batch_end(self, batch, logs=None):
        self.unsaved += batch + 1 - self.step  # with steps_per_execution, `batch` moves several steps at once
        self.step = batch + 1
        if self.save_freq != "epoch" and self.unsaved >= self.save_freq:
            self._back_up(self.epoch)

    def on_epoch_end(self, epoch, logs=None):
        self._back_up(epoch + 1)

    def _back_up(self, resume_at):
        _check_finite_weights(self.model, f"a backup in epoch {self.epoch + 1}, step {self.step}")
        steps = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        backup = self.backup_dir / f"step{steps}-epoch{resume_at}.weights.h5"
        with files.atomic_write(backup, needs=files.model_bytes(self.model)) as new:
            self.model.save_weights(new)
        self.unsaved = 0
        for _, _, old in self.backups()[2:]:
            old.unlink()


def _history_rows(path):
    """The header and complete data rows of a history CSV. A row cut short by a kill (no line end) is left
    out: its epoch runs again. Anything else that is not an epoch row is an error naming the file."""
    with open(path, newline="") as file:
        lines = file.read().splitlines(keepends=True)
    complete = [line for line in lines if line.endswith("\n")]
    rows = list(csv.reader(complete))
    header, rows = (rows[0], rows[1:]) if rows else ([], [])
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header) or not (row[0].isascii() and row[0].isdigit()):
            raise ValueError(
                f"{path} is damaged (line {number} is not an epoch row: {','.join(row)[:60]!r}): pass "
                "overwrite=True (--overwrite) to train this run again"
            )
    return header, rows


def read_history(path):
    """Read the history a training run wrote.

    Args:
        path: a `keras.callbacks.CSVLogger` file such as `<output>/history.csv`.

    Returns:
        A dict {column: [values by epoch]}, keeping the last row of any repeated (resumed) epoch and leaving
        out a last row cut short by a kill.

    Raises:
        ValueError: a row is not an epoch's (e.g. a second header); the message names the file.
    """
    header, rows = _history_rows(path)
    by_epoch = {int(row[0]): dict(zip(header, row)) for row in rows}
    return {column: [float(by_epoch[e][column]) for e in sorted(by_epoch)] for column in header}


def plot_history(runs, path):
    """Save a PNG of loss (log axis) and accuracy curves, training dashed and test solid.

    Args:
        runs: a dict mapping a label to a history CSV path or to a {column: values} dict.
        path: the PNG to write.

    Returns:
        `path`.
    """
    pyplot, figure, axes = plots.figure(2, width=5.5)
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
    return plots.save(pyplot, figure, path, dpi=100)


def _patch_keras_for_multiworker(net, batch):
    """Work around Keras 3.15 under MultiWorkerMirroredStrategy (tensorflow/tensorflow#72388).

    fit builds metrics and optimizer from strategy.reduce("MEAN", first input batch) and reduces each
    step's scalar logs with axis=0; both fail across workers. Only shapes matter for the first, so
    build from an undistributed batch and skip it; for the logs take this worker's values (they
    are only logged: gradients are all-reduced by the optimizer, so the weights are the same).
    """
    import tensorflow as tf
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


def _multiworker(strategy):
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def tensorboard(log_dir):
    """The TensorBoard callback for this backend, in a list: Keras' own on TensorFlow (it writes through
    `tf.summary`); elsewhere `ScalarLogs` (tensorboardX, without TensorFlow); none when tensorboardX is missing too,
    said in one line.

    Args:
        log_dir: the folder of the logs (`train/` and `validation/` inside).

    Returns:
        A list of zero or one callback.
    """
    if keras.backend.backend() == "tensorflow":
        return [keras.callbacks.TensorBoard(log_dir)]
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        print(
            f"keras_resnet.training: no TensorBoard logs in {log_dir}: the {keras.backend.backend()} backend writes "
            "them with tensorboardX, which is not installed (pip install tensorboardX)",
            file=sys.stderr,
        )
        return []
    return [ScalarLogs(log_dir)]


class ScalarLogs(keras.callbacks.Callback):
    """TensorBoard logs without TensorFlow, by tensorboardX: each epoch's metrics and learning rate as scalars, in
    Keras' TensorBoard layout (`train/` and `validation/` folders, tags `epoch_loss`, `epoch_accuracy`,
    `epoch_learning_rate`, the epoch as the step), so that the same TensorBoard view reads runs of every backend.
    Graphs, histograms and profiles, which Keras' callback draws from TensorFlow, are not written."""

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir, self.writers = pathlib.Path(log_dir), {}

    def on_train_begin(self, logs=None):
        from tensorboardX import SummaryWriter

        self.writers = {part: SummaryWriter(str(self.log_dir / part)) for part in ("train", "validation")}

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        logs.setdefault("learning_rate", keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        for name, value in logs.items():
            part, name = ("validation", name[4:]) if name.startswith("val_") else ("train", name)
            self.writers[part].add_scalar(f"epoch_{name}", float(value), epoch)
        for writer in self.writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self.writers.values():
            writer.close()


def rebuild(model, mean=None, std=None, dtype=None, sync_bn=None):
    """A copy of `model` (same weights) with a `Normalization` "preprocessing" layer after its input, every
    layer in the dtype policy `dtype` and BatchNormalization synchronised or not, as asked.

    A model that has a "preprocessing" layer keeps it. The copy is `keras.models.clone_model`: each layer
    made again from its config with the new options, and called where the model called it, the
    preprocessing layer between the input and the layers that read it; so the copy holds exactly what a
    `.keras` file of it would hold (no layer is patched after building), as a model built with
    `preprocessing=` does.

    Args:
        model: a functional `keras.Model` with one image input.
        mean, std: per-channel statistics of the raw pixels the model will be given (None: no new layer).
        dtype: a dtype policy name for every layer (the classifier and the preprocessing stay float32 under
            a mixed policy); None leaves each layer's.
        sync_bn: synchronised BatchNormalization statistics over replicas; None leaves them.

    Returns:
        A `keras.Model`.
    """
    (source,) = model.inputs
    image = keras.Input(batch_shape=source.shape, dtype=source.dtype, name=source.name)
    added = mean is not None and not any(layer.name == models.PREPROCESSING for layer in model.layers)
    normalised = models.preprocessing_layer(mean, std)(image) if added else image

    def clone(layer):
        settings = layer.get_config()
        if dtype is not None:
            keep = dtype.startswith("mixed") and layer.name in ("predictions", models.PREPROCESSING)
            settings["dtype"] = "float32" if keep else dtype
        if sync_bn is not None and "sync_bn" in settings:
            settings["sync_bn"] = sync_bn
        if sync_bn is not None and isinstance(layer, keras.layers.BatchNormalization):
            settings["synchronized"] = sync_bn
        return layer.__class__.from_config(settings)

    def call(layer, *args, **kwargs):  # the layers that read the image read it normalised
        args, kwargs = keras.tree.map_structure(lambda x: normalised if x is image else x, (args, kwargs))
        return layer(*args, **kwargs)

    copy = keras.models.clone_model(model, input_tensors=image, clone_function=clone, call_function=call)
    options = getattr(model, "build_options", None)
    if options is not None and "family" in options:  # built here: its options say what changed (a clone has none)
        changed = {"dtype": dtype, "sync_bn": sync_bn, "preprocessing": {"mean": mean, "std": std} if added else None}
        options = {**options, **{key: value for key, value in changed.items() if value is not None}}
        plan = specs.resolve(options.pop("family"), **options)  # the values as build() keeps them
        copy = models.Network(image, copy.output, name=copy.name, build_options=models.build_options(plan))
    copy.set_weights(model.get_weights())
    return copy


def save_model(model, path):
    """Save `model` without its optimizer as a `.keras` file, atomically: the file a user or a server takes.

    Args:
        model: a `keras.Model`.
        path: the `.keras` file to write (replaced if it exists).
    """
    bare = model.__class__.from_config(model.get_config())  # clone_model would copy the compiled optimizer too
    bare.set_weights(model.get_weights())
    with files.atomic_write(path, needs=files.model_bytes(bare, optimizer=False)) as partial:
        bare.save(partial)


def _describe(value):
    if isinstance(value, keras.Model):
        return f"{value.name} ({value.count_params()} parameters)"
    if isinstance(value, (tuple, list)):
        return (
            f"arrays {[np.shape(a) for pair in value for a in (pair if isinstance(pair, (tuple, list)) else [pair])]}"
        )
    return str(value)


def _build(model, source, stats, mixed_precision, sync_batchnorm):
    """The network to train, taking raw pixels: `model` built by name (or copied) with the data's statistics,
    in 16-bit compute when asked, with synchronised BatchNormalization when asked."""
    mean, std = stats
    dtype = mixed_precision_policy() if mixed_precision else None
    if isinstance(model, str):
        return factory.build(
            model,
            input_shape=source.image_shape,
            classes=source.num_classes,
            dtype=dtype,
            sync_bn=sync_batchnorm,
            preprocessing={"mean": mean.tolist(), "std": std.tolist()},
        )
    return rebuild(model, mean, std, dtype=dtype, sync_bn=sync_batchnorm)


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
    freeze=None,
    freeze_batchnorm="frozen",
    **overrides,
):
    """Train `model` on `dataset` with a paper's recipe under a distribution strategy.

    The model learns on raw pixels: the training split's per-channel mean and standard deviation become
    its first layer ("preprocessing", a `keras.layers.Normalization`), so every file the run writes, a
    fresh notebook and a SavedModel exported with default settings all take 0-255 pixels and agree.

    Args:
        model: a name for `keras_resnet.build` (built for the data's image shape and classes inside
            the strategy's scope), a `keras.Model` or the path of a `.keras` file (fine-tuning; copied into
            the scope by `rebuild`, the normalisation spliced in after its input unless it has a
            "preprocessing" layer).
        dataset: anything `keras_resnet.training.data.load` takes: `"digits"`, a folder, arrays or a tfds name.
        recipe: a name in `keras_resnet.training.recipes.RECIPES`.
        output: directory for checkpoints, logs, history, curves, config and samples (None: nothing is
            written). Re-running the same call resumes there from the last backup; the folder is locked
            while the run lasts.
        overwrite: replace an `output` that holds a different run of `train` instead of refusing (only the
            files a run writes are removed; a folder holding anything else is refused).
        strategy: `"auto"`, `"default"`, `"mirrored"` or `"multiworker"` on TensorFlow, `"data-parallel"` on JAX
            (see `make_strategy`).
        cpu_devices: split the CPU into this many logical devices first (MirroredStrategy or DataParallel on a CPU).
        mixed_precision: compute in float16 (bfloat16 on a CPU) with float32 variables and logits.
        jit_compile: compile the train step with XLA (on JAX it always is; on PyTorch this is `torch.compile`).
        data_dir, manual_dir, on_bad_image: passed to `keras_resnet.training.data.load`.
        steps_per_epoch: steps per epoch (default: one pass over the training set).
        backup_every: also back up every this many steps, not only at each epoch's end.
        seed: seed of weights, shuffling and augmentation.
        verbose: one line saying what the run does, then Keras' progress bar (1), one line per epoch (2),
            or silence (0).
        freeze: "stem" or "stage{s}": keep the stem and stages 1..s fixed (`keras_resnet.freeze`); their weights
            get no update and no weight decay.
        freeze_batchnorm: the frozen part's BatchNormalization layers: "frozen" (inference mode) or "train".
        **overrides: `Recipe` fields replacing the recipe's (`epochs=5`, `lr=0.05`, ...).

    Returns:
        The `keras.callbacks.History` of this call's epochs (empty when the run had already finished);
        `history.test` holds the final test loss and accuracy, `history.model` is the trained model.
    """
    checks.check_all(
        steps_per_epoch=steps_per_epoch, backup_every=backup_every, cpu_devices=cpu_devices, seed=seed, verbose=verbose
    )
    chosen = recipes.get_recipe(recipe, **overrides)
    if isinstance(model, (str, os.PathLike)) and str(model).endswith(".keras"):
        model = models.load_model_file(model)  # one sentence naming the file if it is missing or broken
    if cpu_devices:
        configure_cpu_devices(cpu_devices)
    strategy_object = make_strategy(strategy)
    output = pathlib.Path(output) if output is not None else None
    if output is not None:
        if _multiworker(strategy_object):
            # Only the chief writes to `output`; the other workers keep their own copies beside it.
            task = strategy_object.cluster_resolver.task_id
            output = output if task == 0 else output.with_name(f"{output.name}-worker{task}")
        files.check_writable(output)  # before the data (a large folder takes minutes to check) and the model
    keras.utils.set_random_seed(seed)
    # A given model fixes the number of classes: a label beyond its outputs is refused by index, up front.
    classes = model.output_shape[-1] if isinstance(model, keras.Model) else None
    source = data.load(
        dataset, data_dir=data_dir, manual_dir=manual_dir, on_bad_image=on_bad_image, seed=seed, classes=classes
    )
    if source.image_shape[0] is None and chosen.augment != "imagenet":
        raise ValueError(f"{source.name} has images of different sizes: use augment='imagenet' to resize them")
    if freeze is not None:  # before the folder is claimed: a refused run must not hold it
        names = (
            [layer.name for layer in model.layers]
            if isinstance(model, keras.Model)
            else [
                block.name
                for block in specs.resolve(model, input_shape=source.image_shape, classes=source.num_classes).blocks
            ]
        )
        models.check_freeze(freeze, names, getattr(model, "name", model), "freeze")
    replicas = strategy_object.num_replicas_in_sync
    global_batch = chosen.batch_size * replicas
    checks.check_batch(chosen.batch_size, replicas, source.train_size, source.name)
    steps = steps_per_epoch or math.ceil(source.train_size / global_batch)
    config = dict(
        model=_describe(model),
        dataset=_describe(dataset),
        recipe=recipe,
        **dataclasses.asdict(chosen),
        strategy=strategy,
        replicas=replicas,
        mixed_precision=mixed_precision,
        jit_compile=jit_compile,
        steps_per_epoch=steps,
        backup_every=backup_every,
        seed=seed,
        freeze=freeze,
        freeze_batchnorm=freeze_batchnorm,
    )
    config["milestones"] = list(config["milestones"])

    with contextlib.ExitStack() as held:
        if output is not None:
            held.enter_context(files.claim(output, "train", config, RUN_FILES, overwrite))
        if isinstance(strategy_object, KerasDistribution):  # Keras' distribution lays out each batch in fit too
            held.enter_context(strategy_object.scope())
        stats = source.stats()
        options = data.recipe_options(chosen, source, seed)
        placed = dict(shard=getattr(strategy_object, "shard", (0, 1)), replicas=replicas)
        train_data = data.feed(
            source.train_split, training=True, batch_size=global_batch, steps=steps, **placed, **options
        )
        test_data = data.feed(source.test_split, training=False, batch_size=global_batch, **placed, **options)
        source = dataclasses.replace(source, image_shape=data.image_shape(source, **options))  # 'imagenet' resizes
        with strategy_object.scope():
            net = _build(model, source, stats, mixed_precision, chosen.sync_batchnorm)
            if freeze is not None:  # before compiling: the optimizer and the weight decay see only what trains
                models.freeze(net, freeze, freeze_batchnorm)
            optimizer.compile_model(net, chosen, steps, global_batch, jit_compile=jit_compile)
        if verbose:
            shape = "x".join(map(str, source.image_shape))
            print(
                f"train {net.name} ({net.count_params():,} parameters) on {source.name} ({source.train_size:,} "
                f"training and {source.test_size:,} test images, {shape}, {source.num_classes} classes) with the "
                f"{recipe} recipe: {chosen.epochs} epochs of {steps} steps of {global_batch} images on {replicas} "
                f"replica(s); files in {output if output is not None else '(none: no output given)'}",
                flush=True,
            )
        history = _fit(net, train_data, test_data, chosen, steps, output, backup_every, verbose, strategy_object)
        loss, accuracy = net.evaluate(test_data, verbose=0)
        history.test = {"loss": float(loss), "accuracy": float(accuracy)}
        if chosen.tta_flip and options["flip"]:  # mirrored images are the same class (not for digits)
            history.test["accuracy_flip_averaged"] = flip_averaged_accuracy(net, test_data)
        if output is not None:
            save_model(net, output / "final.keras")
            write_samples(net, source.test_split, output / "samples.npz")
            files.write_json(output / "results.json", {"test": history.test, "epochs": chosen.epochs})
            plot_history({config["model"]: output / "history.csv"}, output / "curves.png")
    return history


def flip_averaged_accuracy(model, batches):
    """Accuracy of `model` averaging its probabilities on each image and its mirror (test-time augmentation).

    Args:
        model: a classifier.
        batches: `(images, labels)` batches (labels as indices or one-hot), or `(images, labels, weights)`.

    Returns:
        The accuracy as a float.
    """
    hits = total = 0
    for images, labels, *weights in batches:
        images, labels = np.asarray(images), np.asarray(labels)
        probabilities = model.predict_on_batch(images) + model.predict_on_batch(images[:, :, ::-1])
        labels = labels.argmax(-1) if labels.ndim == 2 else labels
        counted = np.asarray(weights[0]) > 0 if weights else np.ones(len(labels), bool)  # padding has weight 0
        hits += int(np.sum((np.asarray(probabilities).argmax(-1) == labels)[counted]))
        total += int(counted.sum())
    return hits / total


def _fit(net, train_data, test_data, chosen, steps, output, backup_every, verbose, strategy_object):
    where = f"the last good state is in {output} (re-run to resume); " if output else ""
    # First, so that every callback after it (checkpoints, logs) sees the averaged weights at each epoch's end.
    callbacks = ([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if chosen.ema else []) + [TerminateOnNaN(where)]
    initial_epoch = 0
    if output is not None:
        best_so_far = None  # best.keras holds it, also when its epoch runs again
        if (output / "history.csv").exists():
            best_so_far = max(read_history(output / "history.csv").get("val_accuracy", [0.0]), default=None)
        # Kept after the end, so that re-running a finished run resumes at its end instead of training again.
        backup = BackupAndRestore(output / "backup", output / "history.csv", save_freq=backup_every or "epoch")
        initial_epoch = backup.restore(net)
        callbacks += [
            ModelCheckpoint(output / "last.keras"),
            ModelCheckpoint(output / "best.keras", monitor="val_accuracy", best=best_so_far),
            keras.callbacks.CSVLogger(output / "history.csv", append=True),
            *tensorboard(output / "logs"),
            StatusLine(output / "status.txt", output / "history.csv"),
            backup,  # last, so that a backup is only taken once the epoch's other files are written
        ]
    if isinstance(train_data, data.Batches):  # first: the batches of each epoch follow from its number
        callbacks.insert(0, data.Epochs(train_data))
    if _multiworker(strategy_object):
        _patch_keras_for_multiworker(net, next(iter(train_data)))
    return net.fit(
        train_data,
        initial_epoch=initial_epoch,
        epochs=chosen.epochs,
        steps_per_epoch=None if isinstance(train_data, data.Batches) else steps,  # Batches hold `steps`
        validation_data=test_data,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # the pipeline shuffles
    )


def write_samples(net, test, path):
    """Save test images spread over the split (raw pixels), their labels and `net`'s answers, for `export.verify`.

    Args:
        net: the trained model (taking raw pixels).
        test: the test `keras_resnet.training.data.Split`.
        path: the `.npz` file to write, beside the model file a user exports.
    """
    images, labels = test.spread(SAMPLES)
    probabilities = net.predict(images.astype("float32"), verbose=0)
    with files.atomic_write(path, needs=files.space_for(images.nbytes + probabilities.nbytes, 3)) as partial:
        np.savez(partial, images=images, labels=labels, probabilities=probabilities)
