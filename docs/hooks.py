"""mkdocs hooks: what the site generates at build time instead of keeping copies that drift.

- The example notebooks stay in examples/ (the tests run them there); they are added to the site as
  `examples/NN_*.ipynb` before mkdocs-jupyter picks its pages, which renders them without running them.
- `<!-- models-table -->` in a page becomes the table of every named model with its parameters and FLOPs,
  counted from its plan as `keras-resnet models` does (nothing is built, Keras is not imported).
"""

import logging
import pathlib

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODELS_TABLE = "<!-- models-table -->"


class _TableExports(logging.Filter):
    """Drops griffe's one warning about `keras_resnet.__all__`: it adds the model names from the spec table
    at import (`*specs.MODELS`), which reading the source cannot expand; docs/api/index.md lists them from
    `keras_resnet.applications`, where each has its `def`."""

    def filter(self, record):
        return "Unsupported item in keras_resnet.__all__" not in record.getMessage()


logging.getLogger("mkdocs.plugins.griffe").addFilter(_TableExports())


@event_priority(100)  # before mkdocs-jupyter's on_files, which wraps the notebooks it finds
def on_files(files, config):
    for notebook in sorted((ROOT / "examples").glob("*.ipynb")):
        files.append(File(f"examples/{notebook.name}", str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files


def models_table():
    """Every named model's family, input, parameters and FLOPs, from its plan, as a Markdown table."""
    from keras_resnet import specs

    rows = [
        "| model | family | input | parameters | trainable | FLOPs (multiply-adds) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for name in sorted(specs.MODELS):
        plan = specs.resolve(name)
        trainable, non_trainable = plan.parameters()
        size = "x".join(str(d) for d in plan.input_shape)
        rows.append(
            f"| `{name}` | `{plan.family}` | {size} | {trainable + non_trainable:,} | {trainable:,} | "
            f"{plan.flops() / 1e9:.3f}G |"
        )
    return "\n".join(rows)


def on_page_markdown(markdown, page, config, files):
    if MODELS_TABLE in markdown:
        markdown = markdown.replace(MODELS_TABLE, models_table())
    return markdown
