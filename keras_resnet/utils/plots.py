"""Figures as PNG files (matplotlib, no display): one way to open a figure and one to save it whole."""

import pathlib

from keras_resnet.utils import files


def figure(panels, width=5, height=4, **options):
    """`(pyplot, figure, axes)`: a figure of `panels` side-by-side axes (matplotlib's Agg backend, no display);
    `options` go to `pyplot.subplots` (e.g. `sharey=True`)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    made, axes = pyplot.subplots(1, panels, figsize=(width * panels, height), squeeze=False, **options)
    return pyplot, made, axes[0]


def save(pyplot, made, path, dpi=120):
    """Lay out and write `made` to the PNG `path` atomically (see `keras_resnet.utils.files.atomic_write`); close it.

    Returns:
        `path`.
    """
    made.tight_layout()
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    with files.atomic_write(path) as partial:
        made.savefig(partial, dpi=dpi)
    pyplot.close(made)
    return path
