"""The experiments that explain why residual networks work, as tools with plots.

- `degradation`: plain vs residual nets trained alike, training and test error per epoch
  (He et al. 2015, "Deep Residual Learning for Image Recognition", Fig. 1 and 6).
- `lesion`: accuracy with residual branches removed, one at a time and k at random (Veit, Wilber and
  Belongie 2016, "Residual Networks Behave Like Ensembles of Relatively Shallow Networks", sec. 4).
- `path_lengths`, `gradient_by_path_length`: the Binomial(n, 1/2) distribution of path lengths and the
  gradient magnitude carried by paths of each length (Veit et al. 2016, sec. 5).
- `stochastic_depth_scaling`: test-time scaling of branches by their survival probability vs none
  (Huang et al. 2016, "Deep Networks with Stochastic Depth", sec. 3).

The studies rewire a trained model without rebuilding it: its blocks are single layers in a chain
(`ResidualBlock.parts` gives the shortcut and the branch), and a per-block mask lives in a variable, so one
traced predict function serves every lesion. Every study runs on the TensorFlow, JAX and PyTorch backends:
`gradient_by_path_length` takes its input gradients from the backend's own autodiff (`tf.GradientTape`, `jax.grad`,
torch's autograd), the rest is Keras only.
"""

import dataclasses
import math
import os

import keras
import numpy as np
from keras import ops

from keras_resnet import factory, specs
from keras_resnet.layers import ResidualBlock
from keras_resnet.research import paths
from keras_resnet.research.paths import PathGradients, PathLengths, plot_paths  # noqa: F401  (part of this module's API)
from keras_resnet.training import data, loop, optimizer, recipes
from keras_resnet.training.digits import load as load_digits
from keras_resnet.utils import checks, plots

DEGRADATION_MODELS = ("PlainNet20", "PlainNet56", "ResNet20", "ResNet56")


def digits(test_size=0.25, seed=0):
    """scikit-learn's 1,797 bundled 8x8 grey-scale digits as 0-255 pixels: real images, no download.

    The same arrays `keras_resnet.training.data.load("digits")` gives, so a model trained by `keras-resnet train` is
    studied on the pixels it was trained on (it carries its own normalisation).

    Args:
        test_size: the fraction held out for testing.
        seed: seed of the split.

    Returns:
        `((x_train, y_train), (x_test, y_test))` with float32 images of shape (N, 8, 8, 1), stratified split.
    """
    (x_train, y_train), (x_test, y_test) = load_digits(test_size, seed)
    return (x_train.astype("float32"), y_train), (x_test.astype("float32"), y_test)


def preprocessing(images):
    """The `preprocessing=` option for a model taking `images`: their per-channel mean and std.

    Args:
        images: training images (N, H, W, C), raw pixels.

    Returns:
        `{"mean": [...], "std": [...]}`, for `keras_resnet.build(..., preprocessing=...)`.
    """
    images = np.asarray(images, "float64")
    return {"mean": images.mean(axis=(0, 1, 2)).tolist(), "std": np.maximum(images.std(axis=(0, 1, 2)), 1e-3).tolist()}


def load_test_data(source, image_shape=None):
    """Test images and labels for a study, from "digits", an `.npz` file or a folder of class sub-folders.

    Args:
        source: "digits" (the test split of `digits()`), a `.npz` file holding `x` and `y` (or `x_test`
            and `y_test`), or a directory with one sub-folder of images per class (e.g. CIFAR-10's
            `test/`), read by `keras_resnet.training.data.read_folder` as 0-255 pixels.
        image_shape: (height, width, channels) images of a folder are brought to (the model's input).

    Returns:
        `(x, y)` NumPy arrays.
    """
    source = os.fspath(source)
    if source == "digits":
        return digits()[1]
    if source.endswith(".npz") and os.path.isfile(source):
        with np.load(source) as arrays:
            for x, y in (("x", "y"), ("x_test", "y_test")):
                if x in arrays and y in arrays:
                    return arrays[x], arrays[y]
        raise ValueError(
            f"{source} holds {sorted(arrays.files)}: it needs arrays named x and y (or x_test and y_test)."
        )
    if os.path.isdir(source):
        return data.read_folder(source, image_shape)
    raise ValueError(
        f"dataset {source!r} is neither 'digits', an existing .npz file nor a folder of class sub-folders."
    )


# ---------------------------------------------------------------------------------------------- training


def fit(model, dataset, epochs=10, batch_size=64, learning_rate=0.1, weight_decay=1e-4, log_dir=None, verbose=0):
    """Train `model` with He et al.'s CIFAR recipe, scaled to `epochs`; the one place the studies train.

    The `cifar` recipe of `keras_resnet.training.recipes`, compiled by `keras_resnet.training.optimizer` as every
    run is: SGD with momentum 0.9, the papers' L2 weight decay on kernels, the learning rate divided by 10 at 50% and
    75% of training (He et al. 2015 sec. 4.2: 0.1, /10 at 32k and 48k of 64k iterations).

    Args:
        model: a Keras classifier with softmax outputs.
        dataset: `((x_train, y_train), (x_test, y_test))` NumPy arrays; the test split is evaluated
            after every epoch.
        epochs, batch_size, learning_rate, weight_decay: the recipe.
        log_dir: where TensorBoard logs go (None: no logs).
        verbose: Keras' progress display (0 silent, 1 bar, 2 one line per epoch).

    Returns:
        The Keras `History` (`accuracy` in training mode, `val_accuracy` on the test split, per epoch).
    """
    (x_train, y_train), test = _split(dataset)
    recipe = recipes.get_recipe(
        "cifar", epochs=epochs, batch_size=batch_size, lr=learning_rate, lr_batch=batch_size, weight_decay=weight_decay
    )
    optimizer.compile_model(model, recipe, math.ceil(len(x_train) / batch_size), batch_size)
    callbacks = loop.tensorboard(log_dir) if log_dir else []
    return model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=test,
        callbacks=callbacks,
        verbose=verbose,
    )


def _split(dataset):
    try:
        (x_train, y_train), (x_test, y_test) = dataset
    except (TypeError, ValueError):
        raise ValueError(
            "dataset must be ((x_train, y_train), (x_test, y_test)) NumPy arrays, "
            "e.g. keras_resnet.research.analysis.digits()."
        ) from None
    return (np.asarray(x_train), np.asarray(y_train)), (np.asarray(x_test), np.asarray(y_test))


@dataclasses.dataclass
class Run:
    """One trained model of a degradation study with its error per epoch (fractions, not percent)."""

    model: keras.Model
    train_error: list
    test_error: list


def degradation(models=DEGRADATION_MODELS, dataset=None, epochs=10, plot=None, log_dir=None, verbose=0, **recipe):
    """Train plain and residual nets with one recipe and compare their errors (He et al. 2015, Fig. 1/6).

    Every model is built for the data's image shape and classes, with the training images' normalisation
    in it (`preprocessing`) and `zero_init_residual=False`, the papers' initialisation (the package default
    zero-initialises residual branches, which would favour the residual nets at the start), and trained by `fit`.

    Args:
        models: names from `keras_resnet.available_models()`, e.g. plain twins and residual nets.
        dataset: `((x_train, y_train), (x_test, y_test))`; default `digits()`.
        epochs: training epochs of each model.
        plot: path of a PNG in the papers' style (thin = training error, bold = test error), or None.
        log_dir: TensorBoard logs go to `log_dir/<model name>` (None: no logs).
        verbose: Keras' progress display.
        **recipe: `batch_size`, `learning_rate`, `weight_decay` of `fit`.

    Returns:
        A dict from model name to `Run(model, train_error, test_error)`.

    Example: `keras_resnet.research.analysis.degradation(["PlainNet20", "ResNet20"], epochs=5, plot="fig1.png")`
    """
    dataset = _split(digits() if dataset is None else dataset)
    (x_train, y_train), _ = dataset
    classes = int(np.max(y_train)) + 1
    for name in models:
        if name not in specs.MODELS:
            raise specs.unknown_name(name, sorted(specs.MODELS))
    runs = {}
    for name in models:
        keras.utils.set_random_seed(0)
        model = factory.build(
            name,
            input_shape=x_train.shape[1:],
            classes=classes,
            zero_init_residual=False,
            preprocessing=preprocessing(x_train),
        )
        logs = os.path.join(log_dir, name) if log_dir else None
        history = fit(model, dataset, epochs=epochs, log_dir=logs, verbose=verbose, **recipe).history
        runs[name] = Run(model, [1 - a for a in history["accuracy"]], [1 - a for a in history["val_accuracy"]])
    if plot:
        plot_degradation(runs, plot)
    return runs


# ------------------------------------------------------------------------------------- rewiring blocks


def chain(model):
    """The layers of `model` after its input, checked to form a single chain (as every builder makes).

    Args:
        model: a keras_resnet model (or any functional model whose layers form a chain).

    Returns:
        The list of layers after the input, in order.

    Raises:
        ValueError: the graph branches (a layer takes several inputs or feeds several layers).
    """
    # One node per depth, each with one input tensor, is a chain. The model's own nodes are read, since
    # its layers may also be called elsewhere (another model built on them).
    depths = model._nodes_by_depth
    nodes = [depths[depth] for depth in sorted(depths, reverse=True)]
    if any(len(level) != 1 or len(level[0].input_tensors) > 1 for level in nodes):
        raise ValueError(
            f"{model.name} is not a single chain of layers: the analysis tools need a model whose layers each "
            "take the previous layer's output, as keras_resnet's builders make."
        )
    return [level[0].operation for level in nodes if not isinstance(level[0].operation, keras.layers.InputLayer)]


def residual_blocks(model):
    """The residual-block layers of `model`, in order (plain nets' blocks included).

    Args:
        model: a keras_resnet model.

    Returns:
        A list of `keras_resnet.layers.ResidualBlock` layers.
    """
    return [layer for layer in chain(model) if isinstance(layer, ResidualBlock)]


def removable_blocks(model):
    """Names of the blocks a lesion can remove: all of a residual net; a plain net's shape-keeping blocks.

    A removed residual block keeps its shortcut; a removed plain block passes its input on (Veit et al.'s
    comparison), which is only possible where the block keeps the shape (not at downsampling blocks).

    Args:
        model: a keras_resnet model.

    Returns:
        A list of block names, e.g. "stage2_block3".
    """
    return [block.name for block in residual_blocks(model) if _removable(block, block.input.shape[-1])]


def _removable(block, channels):
    return block.shortcut_layer is not None or (block.strides == 1 and channels == block.output_filters)


class _Rewired(keras.Model):
    """`model` with each block evaluated by `combine(block, x, mask_entry)`, the mask held in a variable.

    Assigning a new mask changes no Python state, so the traced predict function is reused for every mask.
    """

    def __init__(self, model, combine):
        super().__init__(name=f"{model.name}_rewired")
        self.chain = chain(model)
        self.blocks = [layer for layer in self.chain if isinstance(layer, ResidualBlock)]
        self.combine = combine
        self.mask = keras.Variable(np.ones(len(self.blocks), "float32"), trainable=False, name="mask")
        self.traces = 0  # how many times `call` was traced; the tests check it stays put

    def call(self, x, start=0):
        self.traces += 1
        index = sum(isinstance(layer, ResidualBlock) for layer in self.chain[:start])
        for layer in self.chain[start:]:
            if isinstance(layer, ResidualBlock):
                x = self.combine(layer, x, self.mask[index])
                index += 1
            else:
                x = layer(x, training=False)
        return x

    def set_mask(self, names_off=(), names_on=None):
        """Mask 0 for the blocks named in `names_off` (or 1 only for `names_on`), 1 elsewhere."""
        names = [block.name for block in self.blocks]
        if names_on is not None:
            self.mask.assign(np.array([name in names_on for name in names], "float32"))
        else:
            self.mask.assign(np.array([name not in names_off for name in names], "float32"))


def _lesioned(block, x, keep):
    """The block as the model computes it if `keep`, else without its branch (a plain block: its input)."""
    if not _removable(block, x.shape[-1]):  # JAX's cond cannot even trace a removal that changes the shape
        return block(x, training=False)
    shortcut, _ = block.parts(x, training=False)
    removed = (lambda: x) if shortcut is None else (lambda: block.finish(shortcut))
    return ops.cond(keep > 0, lambda: block(x, training=False), removed)


def lesioned_model(model):
    """A model sharing `model`'s layers whose blocks can be removed without rebuilding or retracing.

    `lesioned.set_mask(names_off=["stage2_block1"])` removes those branches from the next `predict`;
    `lesioned.traces` counts how often its forward pass was traced.

    Args:
        model: a keras_resnet model.

    Returns:
        A `keras.Model` with `set_mask(names_off=(), names_on=None)`.
    """
    return _Rewired(model, _lesioned)


def _accuracy(model, data, batch_size):
    x, y = data
    predictions = model.predict(np.asarray(x), batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(predictions, axis=-1) == np.asarray(y).reshape(-1)))


# ---------------------------------------------------------------------------------------------- lesion


@dataclasses.dataclass
class Lesion:
    """A lesion study: accuracies with no block removed, each block alone, and k random blocks."""

    model_name: str
    baseline: float
    single: dict  # block name -> accuracy with that block's branch removed
    random: dict  # k -> accuracies of the draws with k random blocks removed
    order: list  # names of all the model's blocks, in order (plots place each block at its position)

    def rows(self):
        """The study as a table: (what was removed, k, accuracy) rows."""
        rows = [("nothing", 0, self.baseline)]
        rows += [(name, 1, accuracy) for name, accuracy in self.single.items()]
        rows += [(f"{k} random (mean of {len(a)})", k, float(np.mean(a))) for k, a in self.random.items()]
        return rows

    def table(self):
        lines = [
            f"{self.model_name}: test accuracy with residual branches removed",
            f"{'removed':<28} {'k':>3} {'accuracy':>9}",
        ]
        lines += [f"{what:<28} {k:>3} {accuracy:>9.4f}" for what, k, accuracy in self.rows()]
        return "\n".join(lines)


def lesion(model, data, blocks=None, max_removed=None, draws=5, seed=0, batch_size=256, plot=None, progress=False):
    """Test accuracy with residual branches removed, shortcuts kept (Veit et al. 2016, sec. 4).

    Each block of `blocks` is removed alone, then k random blocks of `blocks` together for k = 1..max_removed,
    `draws` times each. A removed residual block outputs what its shortcut gives (plus the post-addition
    ReLU of v1 blocks); in a plain net a removed block passes its input on, the paper's comparison. The
    model is neither rebuilt nor retraced per lesion: one predict function reads a per-block mask.

    Args:
        model: a trained keras_resnet classifier (softmax outputs).
        data: `(x_test, y_test)` arrays.
        blocks: names of blocks to remove (default `removable_blocks(model)`).
        max_removed: the largest k of the random removals (default: all of `blocks`).
        draws: random draws for each k.
        seed: seed of the draws.
        batch_size: prediction batch size.
        plot: path of a PNG (single-block accuracies and accuracy against k), or None.
        progress: show a progress bar over the lesions.

    Returns:
        A `Lesion` with `baseline`, `single`, `random`, `rows()` and `table()`.

    Example: `print(keras_resnet.research.analysis.lesion(model, (x_test, y_test)).table())`
    """
    checks.check_all(max_removed=max_removed, draws=draws, seed=seed, batch_size=batch_size)
    x, y = data
    # Scored as they are, NaN images or labels the model cannot output would give a plausible accuracy.
    checks.check_arrays(x, y, "test ", classes=model.output_shape[-1])
    if tuple(np.shape(x)[1:]) != tuple(model.input_shape[1:]) or len(x) != len(np.reshape(y, -1)):
        raise ValueError(
            f"the test data holds {len(x)} images of shape {tuple(np.shape(x)[1:])} and {len(np.reshape(y, -1))} "
            "labels, "
            f"but {model.name} takes {tuple(model.input_shape[1:])} images: give one label per image, of the model's "
            "size."
        )
    allowed = removable_blocks(model)
    blocks = list(allowed if blocks is None else blocks)
    wrong = [name for name in blocks if name not in allowed]
    if wrong or not blocks:
        raise ValueError(
            f"cannot remove {wrong or 'no blocks'} from {model.name}: choose from {allowed} (a plain net's "
            "downsampling blocks change the shape and cannot be removed)."
        )
    max_removed = len(blocks) if max_removed is None else max_removed
    if not 1 <= max_removed <= len(blocks):
        raise ValueError(f"max_removed={max_removed} must be between 1 and the {len(blocks)} blocks to remove.")
    rewired = lesioned_model(model)
    rng = np.random.default_rng(seed)
    lesions = [()] + [(name,) for name in blocks]
    lesions += [tuple(rng.choice(blocks, k, replace=False)) for k in range(1, max_removed + 1) for _ in range(draws)]
    bar = keras.utils.Progbar(len(lesions), unit_name="lesion") if progress else None
    accuracies = []
    for removed in lesions:
        rewired.set_mask(names_off=removed)
        accuracies.append(_accuracy(rewired, data, batch_size))
        if bar:
            bar.add(1)
    single = dict(zip(blocks, accuracies[1 : len(blocks) + 1]))
    randoms = accuracies[len(blocks) + 1 :]
    random = {k: randoms[(k - 1) * draws : k * draws] for k in range(1, max_removed + 1)}
    result = Lesion(model.name, accuracies[0], single, random, [block.name for block in rewired.blocks])
    if plot:
        plot_lesion({model.name: result}, plot)
    return result


# ----------------------------------------------------------------------------------------------- paths


def _routed(block, x, through_branch):
    """The block's output, with the gradient flowing back through its branch only or its shortcut only.

    The forward value is that of the whole block, `s + f` (f scaled by the survival probability as at
    inference), so every path is measured at the activations of the full network; `stop_gradient` cuts
    the part the path does not take.
    """
    shortcut, branch = block.parts(x, training=False)
    f = branch()
    if block.drop_path is not None:
        f = block.survival_prob * f
    cut = ops.stop_gradient
    z = through_branch * (cut(shortcut) + f) + (1.0 - through_branch) * (shortcut + cut(f))
    return block.finish(z)


def gradient_by_path_length(model, batch, lengths=None, samples=8, seed=0, plot=None, progress=False):
    """Veit et al.'s sampling estimate of the gradient magnitude carried by paths of each length.

    The estimate, for each length k: draw `samples` random sets of k of the n residual blocks. For each
    set, run the batch through the whole network in inference mode, then back-propagate the summed
    cross-entropy so that the k drawn blocks pass gradient through their branch only and the other n - k
    through their shortcut only (`stop_gradient` on the other part, forward values unchanged): that is the
    gradient of exactly one path of length k. Its magnitude is the L2 norm of the gradient at the input of
    the first block (the stem is shared by all paths), per image, averaged over the batch. `gradient[k]`
    is the mean of these magnitudes over the sets, `spread[k]` their standard deviation, and `total[k]`
    = C(n, k) x `gradient[k]` the gradient all paths of length k carry together (Veit et al., Fig. 6).

    Args:
        model: a keras_resnet classifier with shortcuts and softmax outputs (include_top=True).
        batch: `(images, labels)` arrays.
        lengths: the path lengths to measure (default: all, 0..n).
        samples: random block sets per length.
        seed: seed of the draws.
        plot: path of a PNG with the distribution, the gradient per path and the total, or None.
        progress: show a progress bar.

    Returns:
        A `PathGradients` with `paths`, `lengths`, `gradient`, `spread` and `total`.
    """
    rewired = _Rewired(model, _routed)
    if any(block.shortcut_layer is None for block in rewired.blocks) or not rewired.blocks:
        raise ValueError(f"{model.name} has no shortcuts: gradient_by_path_length needs a residual net.")
    start = rewired.chain.index(rewired.blocks[0])
    images, labels = (np.asarray(a) for a in batch)
    stem = images
    for layer in rewired.chain[:start]:
        stem = layer(stem, training=False)
    from_logits = keras.activations.serialize(rewired.chain[-1].activation) != "softmax"

    def loss(h):
        out = rewired(h, start=start)
        return ops.sum(keras.losses.sparse_categorical_crossentropy(labels, out, from_logits=from_logits))

    def norms(h):
        return ops.mean(ops.sqrt(ops.sum(_input_gradient(loss, h) ** 2, axis=(1, 2, 3))))

    if keras.backend.backend() == "tensorflow":  # one traced graph; it reads the mask variables at each call
        import tensorflow as tf

        norms = tf.function(norms)

    names = [block.name for block in rewired.blocks]
    n = len(names)
    lengths = list(range(n + 1) if lengths is None else lengths)
    if any(not 0 <= k <= n for k in lengths):
        raise ValueError(f"lengths={lengths} must lie between 0 and the {n} residual blocks of {model.name}.")
    rng = np.random.default_rng(seed)
    bar = keras.utils.Progbar(len(lengths) * samples, unit_name="path") if progress else None
    gradient, spread = [], []
    for k in lengths:
        magnitudes = []
        for _ in range(samples):
            rewired.set_mask(names_on=set(rng.choice(names, k, replace=False)))
            magnitudes.append(float(norms(stem)))
            if bar:
                bar.add(1)
        gradient.append(float(np.mean(magnitudes)))
        spread.append(float(np.std(magnitudes)))
    result = PathGradients(paths.path_lengths(n), lengths, gradient, spread)
    if plot:
        plot_paths(result, plot)
    return result


def _input_gradient(loss, h):
    """The gradient of the scalar `loss(h)` with respect to `h`, by the backend's own autodiff. On JAX, untraced by
    `jit`: a jitted function would keep the mask variables' values of its first call as constants."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(h)
            value = loss(h)
        return tape.gradient(value, h)
    if backend == "jax":
        import jax

        return jax.grad(loss)(h)
    if backend == "torch":
        h = h.detach().requires_grad_(True)
        loss(h).backward()
        return h.grad
    raise ValueError(f"gradient_by_path_length needs a backend with gradients, not {backend}")


def path_lengths(model_or_n):
    """The lengths of the 2**n paths through a residual net of n blocks (Veit et al. 2016, sec. 5).

    `keras_resnet.research.paths.path_lengths`, also for a built model (its blocks with a shortcut are counted).

    Args:
        model_or_n: a number of residual blocks, a model name (e.g. "ResNet110") or a keras_resnet model.

    Returns:
        A `PathLengths`.
    """
    if isinstance(model_or_n, keras.Model):
        model_or_n = sum(block.shortcut_layer is not None for block in residual_blocks(model_or_n))
    return paths.path_lengths(model_or_n)


# ------------------------------------------------------------------------------------ stochastic depth


def _unscaled(block, x, _):
    """The block at inference with its branch added in full, not scaled by the survival probability."""
    shortcut, branch = block.parts(x, training=False)
    return block.finish(branch() if shortcut is None else shortcut + branch())


def stochastic_depth_scaling(model, data, batch_size=256):
    """Test accuracy of a stochastic-depth net with and without the test-time scaling (Huang et al. 2016).

    At inference each branch is weighted by its survival probability, the expectation of its training-time
    contribution; without that weighting the branches add more than the next blocks saw in training.

    Args:
        model: a trained keras_resnet model built with `stochastic_depth=p_L`.
        data: `(x_test, y_test)` arrays.
        batch_size: prediction batch size.

    Returns:
        `{"scaled": accuracy, "unscaled": accuracy}`.
    """
    if not any(block.drop_path is not None for block in residual_blocks(model)):
        raise ValueError(f"{model.name} has no stochastic depth: build it with stochastic_depth=p_L, e.g. 0.5.")
    return {
        "scaled": _accuracy(model, data, batch_size),
        "unscaled": _accuracy(_Rewired(model, _unscaled), data, batch_size),
    }


# ----------------------------------------------------------------------------------------------- plots


def plot_degradation(runs, path):
    """He et al.'s Fig. 1/6: error (%) per epoch, thin = training, bold = test; plain left, residual right.

    Args:
        runs: `degradation()`'s result, {model name: `Run`}.
        path: the PNG to write.

    Returns:
        `path`.
    """
    plt, figure, axes = plots.figure(2)
    for ax, plain in zip(axes, (True, False)):
        chosen = {
            n: r for n, r in runs.items() if all(b.shortcut_layer is None for b in residual_blocks(r.model)) == plain
        }
        for color, (name, run) in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"], chosen.items()):
            epochs = range(1, len(run.train_error) + 1)
            ax.plot(epochs, [100 * e for e in run.train_error], color=color, linewidth=0.8)
            ax.plot(epochs, [100 * e for e in run.test_error], color=color, linewidth=2.5, label=name)
        ax.set(xlabel="epoch", ylabel="error (%)", title="plain" if plain else "residual")
        if chosen:
            ax.legend(title="thin: train, bold: test")
    return plots.save(plt, figure, path)


def plot_lesion(results, path):
    """Veit et al.'s Fig. 3/5: accuracy per single removed block, and against the number removed.

    Args:
        results: {label: `Lesion`}, e.g. `{"ResNet20": lesion(model, data)}`.
        path: the PNG to write.

    Returns:
        `path`.
    """
    plt, figure, axes = plots.figure(2)
    for name, result in results.items():
        positions = [result.order.index(block) + 1 for block in result.single]
        line = axes[0].plot(positions, list(result.single.values()), marker="o", label=name)[0]
        axes[0].axhline(result.baseline, linestyle=":", linewidth=0.8, color=line.get_color())
        ks = list(result.random)
        means = [np.mean(result.random[k]) for k in ks]
        stds = [np.std(result.random[k]) for k in ks]
        axes[1].errorbar(
            [0] + ks,
            [result.baseline] + means,
            yerr=[0] + stds,
            marker="o",
            capsize=3,
            label=name,
            color=line.get_color(),
        )
    axes[0].set(
        xlabel="position of the removed block", ylabel="test accuracy", title="one block removed (dotted: none)"
    )
    axes[1].set(xlabel="number of blocks removed", ylabel="test accuracy", title="k random blocks removed")
    for ax in axes:
        ax.legend()
    return plots.save(plt, figure, path)
