"""Veit et al. 2016's path view of a residual net (no Keras, no TensorFlow): a net of n residual blocks,
unrolled, is 2**n paths whose lengths are Binomial(n, 1/2). `keras-resnet paths ResNet110` reads the
number of blocks from the model's plan, so it starts at once; `keras_resnet.research.analysis` measures gradients
per path length on a built model and reports them in a `PathGradients`.
"""

import dataclasses
import math

from keras_resnet import specs
from keras_resnet.utils import checks, plots


@dataclasses.dataclass
class PathLengths:
    """The path-length distribution of a net with `n` residual blocks: Binomial(n, 1/2)."""

    n: int
    counts: list  # counts[k] = C(n, k) paths of length k, exact integers
    probabilities: list  # counts[k] / 2**n as floats

    @property
    def mean(self):
        return self.n / 2

    @property
    def std(self):
        return math.sqrt(self.n) / 2

    def interval(self, mass=0.95):
        """The shortest range of lengths centred on n/2 that holds at least `mass` of all paths."""
        checks.check("mass", mass)
        centre = self.n // 2
        for half in range(self.n + 1):
            low, high = max(0, centre - half), min(self.n, centre + half + self.n % 2)
            if sum(self.probabilities[low : high + 1]) >= mass:
                return low, high
        return 0, self.n


def path_lengths(model_or_n):
    """The lengths of the 2**n paths through a residual net of n blocks (Veit et al. 2016, sec. 5).

    Unrolled, a net of n residual blocks is a collection of 2**n paths; a path of length k passes through
    k residual branches and n - k shortcuts, so there are C(n, k) of them: Binomial(n, 1/2). Counts are
    exact integers (`math.comb`, Python's unbounded ints) at any n; probabilities are their correctly
    rounded ratio to 2**n, so they stay accurate where the counts no longer fit a float.

    Args:
        model_or_n: a number of residual blocks or a model name (e.g. "ResNet110"; nothing is built: its
            plan says how many blocks have shortcuts). `keras_resnet.research.analysis.path_lengths` also takes a model.

    Returns:
        A `PathLengths` with `counts`, `probabilities`, `mean`, `std` and `interval(mass)`.

    Example: `keras_resnet.research.paths.path_lengths("ResNet110").interval(0.95)`  # (20, 34): 96% of paths
    """
    if isinstance(model_or_n, str):  # a name: its plan says how many blocks have shortcuts, nothing is built
        n = sum(block.shortcut != "none" for block in specs.resolve(model_or_n).residual_blocks)
    elif isinstance(model_or_n, int) and not isinstance(model_or_n, bool) and model_or_n >= 0:
        n = model_or_n
    else:
        raise ValueError(
            f"model_or_n={model_or_n!r} must be a number of blocks >= 0 or a model name (or, in "
            "keras_resnet.research.analysis, a model)."
        )
    checks.check("blocks", n)  # exact counts of 2**n paths: bounded time, and ratios a float holds
    counts = [math.comb(n, k) for k in range(n + 1)]
    return PathLengths(n, counts, [count / 2**n for count in counts])


@dataclasses.dataclass
class PathGradients:
    """Gradient magnitude per path length (Veit et al. 2016, Fig. 6)."""

    paths: PathLengths
    lengths: list  # the path lengths measured
    gradient: list  # mean gradient norm at the first block's input for one path of each length
    spread: list  # standard deviation of that norm over the sampled paths

    @property
    def total(self):
        """Gradient magnitude carried by all paths of each length: count x magnitude per path (Fig. 6c)."""
        return [self.paths.counts[k] * g for k, g in zip(self.lengths, self.gradient)]


def plot_paths(result, path):
    """Veit et al.'s Fig. 6: path-length distribution, gradient per path, and their product.

    Args:
        result: a `PathGradients` (three panels), or a `PathLengths` for the distribution alone.
        path: the PNG to write.

    Returns:
        `path`.
    """
    paths = result.paths if isinstance(result, PathGradients) else result
    plt, figure, axes = plots.figure(3 if isinstance(result, PathGradients) else 1)
    axes[0].bar(range(paths.n + 1), paths.probabilities)
    axes[0].set(xlabel="path length", ylabel="fraction of paths", title=f"{paths.n} blocks: Binomial(n, 1/2)")
    if isinstance(result, PathGradients):
        # On a log axis a symmetric error bar would cross zero: the lower bar is clipped to 90% of the mean.
        lower = [min(s, 0.9 * g) for s, g in zip(result.spread, result.gradient)]
        axes[1].errorbar(result.lengths, result.gradient, yerr=[lower, result.spread], marker="o", capsize=2)
        axes[1].set(xlabel="path length", ylabel="gradient magnitude per path", yscale="log", title="one path")
        total = result.total
        axes[2].plot(result.lengths, [t / sum(total) for t in total], marker="o")
        axes[2].set(xlabel="path length", ylabel="share of the total gradient", title="all paths of each length")
    return plots.save(plt, figure, path)
