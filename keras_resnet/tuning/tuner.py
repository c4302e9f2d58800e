"""Keras Tuner search over the residual design space (TensorFlow-only module, through `training` and `data`).

Is cardinality worth more than depth or width at a fixed budget (Xie et al. 2017)? `ResNetHyperModel`
spans family, depth (only the depths each family builds), cardinality and bottleneck width (ResNeXt),
widen factor (wide ResNets), the stochastic-depth survival probability p_L, learning rate and weight
decay. Family-only knobs are conditional hyperparameters: they exist only while their family is chosen.
Its `fit` trains with a `keras_resnet.training.recipes` recipe (SGD, warm-up and schedule, the papers' weight
decay); `search()` adds the `keras_resnet.training.data` pipelines, a strategy, resume, the best model as `.keras`,
a results CSV and a PNG of score against parameters and FLOPs.

    hm = ResNetHyperModel(input_shape=(32, 32, 3), classes=10, families=["cifar_resnet"], depths=[20, 56])
    tuner = keras_tuner.RandomSearch(hm, objective="val_accuracy", max_trials=4, directory="tuning")
    tuner.search(train_ds, validation_data=val_ds, epochs=30, steps_per_epoch=390)
"""

import contextlib
import csv
import dataclasses
import errno
import io
import json
import math
import os
import pathlib
import resource
import sys
import warnings

import keras
import keras_tuner

from keras_resnet import models, specs
from keras_resnet.training import data, loop, optimizer, recipes
from keras_resnet.tuning.workers import serve, trial_process, work
from keras_resnet.utils import checks, files, plots

# The knobs only some families have, besides the refinements (`family_knobs`). Each knob is the family's
# `build()` argument of the same name.
OWN_KNOBS = {
    "resnext": ("cardinality", "bottleneck_width"),
    "cifar_resnext": ("cardinality", "bottleneck_width"),
    "wide_resnet": ("widen",),
    "cifar_wide_resnet": ("widen",),
}


def family_knobs(family):
    """The family-only knobs a search of `family` spans: its own (`OWN_KNOBS`) and the refinements every
    family of the ResNet builder takes (a channel attention; the deep stem where the stem is ImageNet's).

    Args:
        family: a family name, e.g. "cifar_resnext".

    Returns:
        A tuple of knob names, each the `build()` option of the same name (empty for a family with none).
    """
    spec = specs.FAMILIES[family]
    refinements = (
        ("attention", *(("stem_type",) if spec.stem == "imagenet" else ())) if spec.builder == "resnet" else ()
    )
    return (*OWN_KNOBS.get(family, ()), *refinements)


UNSET = {"attention": "none", "stem_type": "default"}  # the choice that means the option's None
# The refinements are searched only when asked (`attentions=["none", "se", "eca"]`); smallest first.
NAMED_CHOICES = {"attention": ("none", "eca", "se"), "stem_type": ("default", "deep")}
# Where the caller gives no depths (or cardinalities, widths, widen factors), each family searches those of
# its named models (`specs.MODELS`: ResNeXt29_8x64d and _16x64d for cifar_resnext), at most this many depths,
# smallest first and below 1000 layers (the 1000-layer nets are depth studies, not search candidates).
DEFAULT_DEPTHS = 3
# Images smaller than this on a side search an ImageNet family in its CIFAR form (`specs.CIFAR_FORMS`).
SMALL_IMAGES = 64
# CIFAR's ResNeXts give each group 64 channels for 32x32 images (ResNeXt29_16x64d: 68M parameters, a minute a
# step of 128 digits on two cores). On images smaller than CIFAR's, a search's defaults are the ImageNet
# template's 4 channels a group (ResNeXt-50 32x4d) over Xie et al.'s range of cardinalities, so that a trial
# takes seconds and the search is over cardinality, the paper's question.
TINY_IMAGES = 32
TINY_DEFAULTS = {"bottleneck_width": (4,), "cardinality": (4, 8, 16, 32)}


def named_values(family, option):
    """The values of an option among the named models of a family (`specs.MODELS`), smallest first.

    Args:
        family: a family name, e.g. "cifar_resnext".
        option: a build option, e.g. "depth" or "cardinality".

    Returns:
        A sorted list (empty when no named model of the family sets it).
    """
    return sorted(
        {options[option] for owner, options in specs.MODELS.values() if owner == family and option in options}
    )


def fit_families(families, input_shape):
    """The families to search on images of `input_shape`: an ImageNet family's CIFAR form where they are small.

    Args:
        families: family names.
        input_shape: (height, width, channels) of the images.

    Returns:
        `(families, note)`: the names to search, and one sentence saying what was replaced ("" for nothing).
    """
    if max(input_shape[:2]) >= SMALL_IMAGES:
        return tuple(families), ""
    swapped = {f: specs.CIFAR_FORMS[f] for f in families if f in specs.CIFAR_FORMS}
    fitted = tuple(dict.fromkeys(swapped.get(f, f) for f in families))
    if not swapped:
        return fitted, ""
    names = ", ".join(f"{cifar} for {family}" for family, cifar in swapped.items())
    return fitted, (
        f"{input_shape[0]}x{input_shape[1]} images are small for an ImageNet stem: searching {names} "
        "(the papers' CIFAR form)"
    )


def _option(knob, value):
    """The build option of a knob's choice ("none" -> None)."""
    return None if UNSET.get(knob) == value else value


def _smallest(knob, values):
    """The choice of a knob that gives the smallest model."""
    return min(values, key=NAMED_CHOICES[knob].index) if knob in NAMED_CHOICES else min(values)


# A trial whose model is over max_params / max_flops fails with this message before it trains.
OVER_BUDGET = "over budget"
# What a search writes in its output folder besides config.json: `--overwrite` removes these and nothing else.
SEARCH_FILES = ("search", "logs", "results.csv", "results.png", "results.json", "best.keras", "samples.npz")


def _choose(hp, name, values):
    """A Choice, or a Fixed value when there is nothing to choose (it then adds no dimension to the search)."""
    values = list(values)
    return hp.Choice(name, values) if len(values) > 1 else hp.Fixed(name, values[0])


def _choices(name, values):
    values = tuple(values) if values is not None else ()
    if not values:
        raise ValueError(f"{name} is empty: give at least one value to search")
    if len(set(values)) != len(values):
        raise ValueError(f"{name}={list(values)} repeats a value; give each value once")
    return values


class ResNetHyperModel(keras_tuner.HyperModel):
    """A `keras_tuner.HyperModel` over residual families, depths, widths and training settings.

    Args:
        input_shape: (height, width, channels) of the images.
        classes: number of classes.
        families: family names from `keras_resnet.available_families()` to choose among.
            On images smaller than `SMALL_IMAGES` an ImageNet family is searched in its CIFAR form
            (`fit_families`; `self.note` says so).
        depths: depths to try; each family keeps those it can build (trying its other block types, e.g.
            29 = 9n+2 is a bottleneck depth for cifar_resnet), and a family that keeps none is an error.
            None: each family's named depths (`named_values`, at most `DEFAULT_DEPTHS`).
        cardinalities, bottleneck_widths: ResNeXt choices (default: those of the families' named models); only
            for ResNeXt families.
        widens: wide-ResNet widen factors (default: those of the named models); only for wide-ResNet families.
        attentions: channel attentions to try among "none", "se" and "eca" (default "none"); ResNet families.
        stem_types: stems to try among "default" and "deep" (ResNet-C; default "default"); ImageNet-stem families.
        stochastic_depths: values of the models' `stochastic_depth`, the last block's survival probability
            p_L of Huang et al. (1.0: no stochastic depth). `survival_probs=` is its deprecated name.
        lrs, weight_decays: learning rates and weight decays to try (None: the recipe's).
        recipe: a name in `keras_resnet.training.recipes.RECIPES`; `**overrides` replace its fields (batch_size=32...).
        preprocessing: `{"mean": ..., "std": ...}` of the raw pixels, the input normalisation every model
            carries (see `keras_resnet.build`); None for none.
        max_params, max_flops: a trial whose model has more parameters / multiply-adds fails with
            `keras_tuner.errors.FailedTrialError` before it trains (see `OVER_BUDGET`).

    Raises:
        ValueError: an unknown family, an empty or contradictory space, or a budget below every model.

    Example: `ResNetHyperModel((32, 32, 3), 10, families=["cifar_resnet"], depths=[20, 32, 56])`.
    """

    def __init__(
        self,
        input_shape,
        classes,
        families=("cifar_resnet",),
        depths=None,
        cardinalities=None,
        bottleneck_widths=None,
        widens=None,
        attentions=None,
        stem_types=None,
        stochastic_depths=(1.0,),
        lrs=None,
        weight_decays=None,
        recipe="cifar",
        max_params=None,
        max_flops=None,
        preprocessing=None,
        name="resnet",
        **overrides,
    ):
        super().__init__(name=name)
        if "survival_probs" in overrides:
            warnings.warn("survival_probs= is deprecated: use stochastic_depths=", DeprecationWarning, stacklevel=2)
            stochastic_depths = overrides.pop("survival_probs")
        checks.check_all(max_params=max_params, max_flops=max_flops)
        self.preprocessing = preprocessing
        self.input_shape, self.classes = tuple(input_shape), classes
        families = _choices("families", families)
        unknown = sorted(set(families) - set(specs.FAMILIES))
        if unknown:
            raise ValueError(f"families {unknown} are not known; choose among {sorted(specs.FAMILIES)}")
        self.families, self.note = fit_families(families, self.input_shape)
        self.recipe_name, self.overrides = recipe, overrides
        chosen = recipes.get_recipe(recipe, **overrides)
        given = {
            "cardinality": cardinalities,
            "bottleneck_width": bottleneck_widths,
            "widen": widens,
            "attention": attentions,
            "stem_type": stem_types,
        }
        for knob, choices in NAMED_CHOICES.items():
            unknown = sorted(set(given[knob] or ()) - set(choices))
            if unknown:
                raise ValueError(f"{knob} choices {unknown} are not known; choose among {list(choices)}")
        # The refinements are searched only when asked for: a search left at its defaults keeps its old space.
        used = {
            knob
            for family in self.families
            for knob in family_knobs(family)
            if knob not in NAMED_CHOICES or given[knob] is not None
        }
        for knob, values in given.items():
            if values is not None and knob not in used:
                owners = sorted(f for f in specs.FAMILIES if knob in family_knobs(f))
                raise ValueError(
                    f"{knob} choices were given but none of families={list(self.families)} has it; add one of {owners}"
                )
        self.knobs = {k: _choices(k + "s", given[k] if given[k] is not None else self._named(k)) for k in sorted(used)}
        self.stochastic_depths = checks.check("stochastic_depths", _choices("stochastic_depths", stochastic_depths))
        self.lrs = _choices("lrs", lrs if lrs is not None else [chosen.lr])
        self.weight_decays = _choices(
            "weight_decays", weight_decays if weight_decays is not None else [chosen.weight_decay]
        )
        for value in (*self.lrs, *self.weight_decays):
            if not (isinstance(value, (int, float)) and value >= 0 and math.isfinite(value)):
                raise ValueError(f"learning rates and weight decays must be finite numbers >= 0, not {value!r}")
        self.max_params, self.max_flops = max_params, max_flops
        if depths is not None:
            depths = checks.check("depths", _choices("depths", depths))
        self.depths, self.options, smallest = self._valid_depths(depths)
        if self.over_budget(*smallest):
            raise ValueError(
                f"every configuration is over budget: the smallest has {smallest[0]:,} parameters and "
                f"{smallest[1]:,} FLOPs (max_params={max_params}, max_flops={max_flops}); raise the limits"
            )

    def over_budget(self, params, multiply_adds):
        """Whether a model of this size breaks `max_params` or `max_flops`."""
        return (self.max_params is not None and params > self.max_params) or (
            self.max_flops is not None and multiply_adds > self.max_flops
        )

    def _named(self, knob):
        """A family-only knob's choices where none are given: those of the searched families' named models
        (`TINY_DEFAULTS` on images smaller than `TINY_IMAGES`)."""
        if knob in TINY_DEFAULTS and max(self.input_shape[:2]) < TINY_IMAGES:
            return list(TINY_DEFAULTS[knob])
        values = sorted({v for f in self.families if knob in family_knobs(f) for v in named_values(f, knob)})
        return values or NAMED_CHOICES[knob]

    def _valid_depths(self, depths):
        """Each family's buildable depths (of `depths`, or None: its named ones), the extra options each needs,
        and the smallest (params, flops). Read from plans: nothing is built."""
        valid, options, smallest = {}, {}, (math.inf, math.inf)
        for family in self.families:
            small_knobs = {k: _option(k, _smallest(k, self.knobs[k])) for k in family_knobs(family) if k in self.knobs}
            errors = []
            tried = depths or [d for d in named_values(family, "depth") if d < 1000][:DEFAULT_DEPTHS]
            for depth in tried:
                # The family's own block first, then its other block types (e.g. 9n+2 bottleneck depths).
                for extra in [{}] + [{"block": b} for b in specs.FAMILIES[family].blocks]:
                    try:
                        plan = self.plan(family, depth, {**small_knobs, **extra})
                    except ValueError as error:
                        errors.append(str(error))
                        continue
                    valid.setdefault(family, []).append(depth)
                    options[family, depth] = extra
                    smallest = min(smallest, (sum(plan.parameters()), plan.flops()))
                    break
            if family not in valid:
                raise ValueError(f"none of depths={list(tried)} builds a {family} for {self.input_shape}: {errors[0]}")
        return valid, options, smallest

    def plan(self, family, depth, options):
        """The `keras_resnet.specs.Plan` of one configuration (ValueError if it does not build)."""
        return specs.resolve(
            family,
            depth=depth,
            input_shape=self.input_shape,
            classes=self.classes,
            preprocessing=self.preprocessing,
            **options,
        )

    def configure(self, hp):
        """Declare the space in `hp` and return the chosen `(family, depth, build options)`."""
        family = _choose(hp, "family", self.families)
        # A depth per family ("cifar_resnet_depth"), each with only the depths that family builds (one shared
        # name would confuse keras-tuner's random sampling and TensorBoard's hparams).
        depths = {}
        for each in self.families:
            with hp.conditional_scope("family", [each]):
                depths[each] = _choose(hp, f"{each}_depth", self.depths[each])
        depth = depths[family]
        options = dict(self.options[family, depth])
        for knob, values in self.knobs.items():
            with hp.conditional_scope("family", [f for f in self.families if knob in family_knobs(f)]):
                value = _choose(hp, knob, values)
            if knob in family_knobs(family) and _option(knob, value) is not None:
                options[knob] = _option(knob, value)
        stochastic_depth = _choose(hp, "stochastic_depth", self.stochastic_depths)
        if stochastic_depth < 1.0:
            options["stochastic_depth"] = stochastic_depth
        _choose(hp, "lr", self.lrs)
        _choose(hp, "weight_decay", self.weight_decays)
        return family, depth, options

    def measure(self, hp):
        """The plan of `hp`'s configuration with its parameter count and multiply-adds (nothing is built)."""
        family, depth, options = self.configure(hp)
        try:
            plan = self.plan(family, depth, options)
        except ValueError as error:  # e.g. a cardinality that does not divide a stage's width
            raise keras_tuner.errors.FailedTrialError(f"configuration {hp.values} does not build: {error}") from None
        return plan, sum(plan.parameters()), plan.flops()

    def build(self, hp):
        return models.build_model(self.measure(hp)[0])

    def fit(self, hp, model, x, *args, epochs=1, steps_per_epoch=None, initial_epoch=0, callbacks=None, **kwargs):
        """Train with the recipe, `hp`'s learning rate and weight decay; one whole schedule over this call's epochs.

        A model over `max_params` / `max_flops` fails the trial (`FailedTrialError`) before any step.

        `x` is a batched dataset built with the recipe's batch size per replica (as `search()` does);
        `steps_per_epoch` is needed when it repeats forever.
        """
        # Checked here rather than in build(), which keras-tuner also calls to discover the space.
        _, params, multiply_adds = self.measure(hp)
        if self.over_budget(params, multiply_adds):
            raise keras_tuner.errors.FailedTrialError(
                f"{OVER_BUDGET}: {hp.values} has {params:,} parameters and {multiply_adds:,} FLOPs "
                f"(max_params={self.max_params}, max_flops={self.max_flops}); not trained"
            )
        recipe = recipes.get_recipe(
            self.recipe_name, **{**self.overrides, "lr": hp.get("lr"), "weight_decay": hp.get("weight_decay")}
        )
        steps = steps_per_epoch or (len(x) if isinstance(x, data.Batches) else int(x.cardinality()))
        if steps < 1:
            raise keras_tuner.errors.FatalValueError(
                "the training data repeats forever: pass steps_per_epoch to search()"
            )
        if keras.backend.backend() == "tensorflow":
            scope, replicas = model.distribute_strategy.scope(), model.distribute_strategy.num_replicas_in_sync
        else:  # keras.distribution's, which the search runs under (see SearchSetup.run)
            distribution = keras.distribution.distribution()
            scope, replicas = contextlib.nullcontext(), distribution.device_mesh.devices.size if distribution else 1
        with scope:
            optimizer.compile_model(model, recipe, steps, recipe.batch_size * replicas, epochs=epochs - initial_epoch)
        callbacks = [keras.callbacks.TerminateOnNaN(), *(callbacks or [])]
        steps = None if isinstance(x, data.Batches) else steps  # Batches hold their steps
        kwargs.setdefault("shuffle", False)  # the data shuffle themselves (fit would reorder Batches' indices)
        return model.fit(
            x, *args, epochs=epochs, steps_per_epoch=steps, initial_epoch=initial_epoch, callbacks=callbacks, **kwargs
        )


class SearchDiskFull(files.WriteError, keras_tuner.errors.FatalError):
    """The disk cannot hold the next trial checkpoint: the search stops (keras-tuner lets a FatalError
    through instead of failing trial after trial), the trial stays unfinished and re-runs on resume."""


class DiskGuard(keras.callbacks.Callback):
    """Before keras-tuner's own checkpoint at each epoch's end (its callback comes after ours), check that
    the disk holds one: HDF5 crashes the process when the disk fills under it."""

    def __init__(self, folder):
        super().__init__()
        self.folder = pathlib.Path(folder)

    def on_epoch_end(self, epoch, logs=None):
        needs = files.model_bytes(self.model)
        if files.free_bytes(self.folder) < needs:
            raise SearchDiskFull(self.folder, f"a trial checkpoint needs about {files.megabytes(needs)}", errno.ENOSPC)


def peak_rss_mb():
    """This process's peak resident memory so far.

    Returns:
        Megabytes (the kernel's high-water mark, `ru_maxrss`).
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


class _TrialDone(Exception):
    """A trial process has run its one trial: leave keras-tuner's search loop."""


RECORD = "worker.json"  # in each trial's folder: the worker that ran it, its pid and its process's peak memory


class RecordedTuner:
    """Mixed into each keras-tuner tuner: each trial's folder gets `RECORD` (the worker that ran it, its pid,
    and once it is done the process's peak resident memory); with `one_trial` the search stops after one."""

    one_trial = False

    def run_trial(self, trial, *args, **kwargs):
        record = pathlib.Path(self.get_trial_dir(trial.trial_id)) / RECORD
        who = dict(worker=self.tuner_id, pid=os.getpid())
        files.write_json(record, who)
        result = super().run_trial(trial, *args, **kwargs)
        files.write_json(record, {**who, "peak_rss_mb": round(peak_rss_mb(), 1)})
        return result

    def on_trial_end(self, trial):
        super().on_trial_end(trial)  # reports the trial to the oracle and saves this tuner's state
        if self.one_trial:
            raise _TrialDone


# keys: keras_resnet.training.recipes.TUNERS, which the command line offers
TUNERS = {
    name: type(tuner.__name__, (RecordedTuner, tuner), {})
    for name, tuner in {
        "random": keras_tuner.RandomSearch,
        "bayesian": keras_tuner.BayesianOptimization,
        "hyperband": keras_tuner.Hyperband,
    }.items()
}


def make_tuner(
    hypermodel,
    tuner="random",
    *,
    directory,
    project_name="search",
    max_trials=10,
    epochs=10,
    seed=0,
    overwrite=False,
    distribution_strategy=None,
    one_trial=False,
):
    """A keras-tuner tuner on val_accuracy for `hypermodel`.

    Over-budget trials fail on purpose, so any number of them in a row is allowed.

    Args:
        hypermodel: a `ResNetHyperModel`.
        tuner: "random" (`RandomSearch`), "bayesian" (`BayesianOptimization`) or "hyperband" (`Hyperband`).
        directory, project_name: where keras-tuner keeps its state (`directory/project_name`).
        max_trials: trials of a random or Bayesian search.
        epochs: Hyperband's maximum epochs per model (the other tuners ignore it).
        seed: the tuner's random seed.
        overwrite: start again; with False an existing `directory/project_name` resumes from its oracle.
        distribution_strategy: a `tf.distribute` strategy each trial trains under (None: the default).
        one_trial: stop its `search(...)` after one trial (raising `_TrialDone`): a process per trial.

    Returns:
        The tuner (a `RecordedTuner`); call its `search(...)`.

    Raises:
        ValueError: an unknown tuner or a max_trials that is not a whole number of at least 1.
    """
    _check_tuner(tuner, max_trials)
    budget = {"max_epochs": epochs} if tuner == "hyperband" else {"max_trials": max_trials}
    searcher = TUNERS[tuner](
        hypermodel,
        objective="val_accuracy",
        seed=seed,
        directory=directory,
        project_name=project_name,
        overwrite=overwrite,
        distribution_strategy=distribution_strategy,
        max_consecutive_failed_trials=10**9,
        **budget,
    )
    searcher.one_trial = one_trial
    oracle = searcher.oracle
    if isinstance(oracle, keras_tuner.Oracle):  # not on a worker, whose oracle is a client of the chief's
        # keras-tuner's oracle saves oracle.json before it removes an ended trial from its ongoing ones, and
        # its reload sends every ongoing trial for a retry: a finished trial would train again.
        oracle._retry_queue = [trial_id for trial_id in oracle._retry_queue if trial_id not in oracle.end_order]
    return searcher


def _check_tuner(tuner, max_trials):
    checks.check_choice("tuner", tuner, sorted(TUNERS))
    if max_trials is None or isinstance(max_trials, float):  # a count of trials; None is not "the default" here
        raise ValueError(f"max_trials={max_trials!r} must be {checks.LIMITS['max_trials'].describe()}.")
    checks.check("max_trials", max_trials)


def results(tuner):
    """The trials of a search as rows, in the order the trials started.

    Args:
        tuner: a keras-tuner tuner built on a `ResNetHyperModel`.

    Returns:
        A list of dicts: `trial`, `family`, `depth`, the other hyperparameters, `status` ("completed",
        "over budget", "failed"...), `params`, `flops`, `val_accuracy` (None unless completed), `worker`
        (keras-tuner's tuner id: "tuner0" in one process, "worker0"... for worker processes) and `peak_rss_mb`
        (the peak resident memory of the process that ran it; None for a trial that did not finish).
    """
    rows = []
    for trial_id in tuner.oracle.start_order:
        trial = tuner.oracle.trials[trial_id]
        try:
            params, multiply_adds = tuner.hypermodel.measure(trial.hyperparameters.copy())[1:]
        except keras_tuner.errors.FailedTrialError:
            params = multiply_adds = None
        values = dict(trial.hyperparameters.values)
        family = values.pop("family")
        values = dict(family=family, depth=values.pop(f"{family}_depth"), **values)
        # Judged from the plan: a worker's trial comes back over gRPC without its message.
        rejected = params is not None and tuner.hypermodel.over_budget(params, multiply_adds)
        failed = trial.status == keras_tuner.engine.trial.TrialStatus.FAILED
        status = OVER_BUDGET if rejected and failed else str(trial.status).lower()
        record = pathlib.Path(tuner.get_trial_dir(trial_id)) / RECORD  # as RecordedTuner wrote it
        fix = "remove it: the trial's worker and memory are then left blank"
        record = files.read_json(record, fix) if record.exists() else {}
        rows.append(
            dict(
                trial=trial_id,
                **values,
                status=status,
                params=params,
                flops=multiply_adds,
                val_accuracy=float(trial.score) if status == "completed" else None,
                worker=record.get("worker"),
                peak_rss_mb=record.get("peak_rss_mb"),
            )
        )
    return rows


def write_results(rows, path):
    """Write `results()` rows as a CSV file, one column per key seen in any row.

    Args:
        rows: a list of dicts, as `results()` returns.
        path: the CSV file to write.

    Returns:
        `path`.
    """
    columns = list(dict.fromkeys(c for row in rows for c in row))
    text = io.StringIO()
    writer = csv.DictWriter(text, columns)
    writer.writeheader()
    writer.writerows(rows)
    files.write_text(path, text.getvalue())
    return path


# How results.png labels each searched knob beside its point ("20 c8 w64": depth 20, cardinality 8, width 64).
LABELS = {
    "depth": "",
    "cardinality": "c",
    "bottleneck_width": "w",
    "widen": "x",
    "attention": "",
    "stem_type": "",
    "stochastic_depth": "p",
    "lr": "lr",
    "weight_decay": "wd",
}


def _searched(rows):
    """The knobs of `LABELS` that `rows` (as `results()` returns) vary, depth always first."""
    return [k for k in LABELS if k == "depth" or len({row.get(k) for row in rows}) > 1]


def point_labels(rows):
    """Each row's label in results.png: the values of every knob the search varied ("29 c8 lr0.1").

    Args:
        rows: a list of dicts, as `results()` returns.

    Returns:
        A list of strings, one per row.
    """
    knobs = _searched(rows)
    return [
        " ".join(
            f"{LABELS[k]}{row[k]:g}" if isinstance(row[k], float) else f"{LABELS[k]}{row[k]}"
            for k in knobs
            if row.get(k) is not None
        )
        for row in rows
    ]


def plot_results(rows, path, max_params=None, max_flops=None):
    """A PNG of validation accuracy against parameters and FLOPs, one colour per family; x marks over-budget trials.

    Each point is labelled by every knob the search varied (depth always; `LABELS` gives the prefixes).

    Args:
        rows: a list of dicts, as `results()` returns.
        path: the PNG to write.
        max_params, max_flops: the budget, drawn as a dotted line (None: none).

    Returns:
        `path`.
    """
    knobs, labels = _searched(rows), dict(zip(map(id, rows), point_labels(rows)))
    pyplot, figure, axes = plots.figure(2, width=5.5, sharey=True)
    for axis, size, limit in zip(axes, ("params", "flops"), (max_params, max_flops)):
        for family in dict.fromkeys(row["family"] for row in rows):
            done = [r for r in rows if r["family"] == family and r["val_accuracy"] is not None]
            points = axis.scatter([r[size] for r in done], [r["val_accuracy"] for r in done], label=family)
            for row in done:
                axis.annotate(labels[id(row)], (row[size], row["val_accuracy"]), fontsize="small")
            rejected = [r[size] for r in rows if r["family"] == family and r["status"] == OVER_BUDGET]
            axis.scatter(rejected, [0.0] * len(rejected), marker="x", color=points.get_facecolor())
        if limit:
            axis.axvline(limit, linestyle=":", color="grey", label="budget")
        axis.set(xscale="log", xlabel="parameters" if size == "params" else "FLOPs (multiply-adds)")
        axis.grid(alpha=0.3)
    axes[0].set(ylabel="validation accuracy (x: over budget, not trained)")
    prefixes = ", ".join(f"{LABELS[k]}: {k}" for k in knobs if LABELS[k])
    if prefixes:
        figure.suptitle(f"labels: depth, {prefixes}", fontsize="small")
    axes[0].legend(fontsize="small")
    return plots.save(pyplot, figure, path, dpi=100)


def search(
    dataset,
    output,
    *,
    workers=1,
    tuner="random",
    max_trials=10,
    recipe="cifar",
    validation_split=0.1,
    steps_per_epoch=None,
    strategy="auto",
    cpu_devices=None,
    data_dir=None,
    manual_dir=None,
    overwrite=False,
    seed=0,
    verbose=1,
    **settings,
):
    """Search the residual design space on `dataset`; re-running the same call resumes a killed search.

    Each trial trains in a fresh Python process (`workers` of them at a time), so that a trial's memory goes
    back to the operating system when it ends: this process is keras-tuner's chief, serving the oracle to
    its workers over gRPC on 127.0.0.1 (keras-tuner's distributed mode). A worker's process that dies loses
    its trial only: the trial runs again in a new process, and is marked failed after `TRIAL_RUNS` deaths
    (`keras_resnet.tuning.workers` supervises the processes).

    On a cluster the same call joins keras-tuner's distributed search from its environment variables:
    with `KERASTUNER_TUNER_ID=chief`, `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT` this process serves
    the oracle there (and starts `workers` local workers, which may be 0); with another
    `KERASTUNER_TUNER_ID` it is a worker of that chief, running its trials one process each until the search
    is over. Every machine needs `output` on a shared file system, as keras-tuner's own distributed mode.

    Args:
        dataset: anything `keras_resnet.training.data.load` takes (`"digits"`, a folder, a tfds name; arrays only with
            `workers=0`, since worker processes load the data set by name).
        output: directory for keras-tuner's state (`search/`), TensorBoard logs (`logs/`), `best.keras`,
            `results.csv`, `results.png` and `config.json`.
        workers: trials trained at a time, each in its own process; 0 trains every trial in this process.
        tuner: "random", "bayesian" or "hyperband".
        max_trials: trials to run (random and bayesian; Hyperband's count follows from the epochs).
        recipe: training recipe of every trial, a name in `keras_resnet.training.recipes.RECIPES`.
        validation_split: fraction of the training split held out to score trials (the test split is
            only used once, for the best model).
        steps_per_epoch: steps per epoch (default: one pass over the rest of the training split).
        strategy: `keras_resnet.training.loop.make_strategy` name, given to keras-tuner as its distribution_strategy.
        cpu_devices: split the CPU into this many logical devices in every trial's process (with
            `strategy="mirrored"`, a MirroredStrategy on a CPU).
        data_dir, manual_dir: passed to `keras_resnet.training.data.load`.
        overwrite: start again in an `output` that holds a different search instead of refusing.
        seed: seed of the data split, the pipelines, the weights and the tuner.
        verbose: keras-tuner's and Keras' verbosity (0: silent).
        **settings: the space, budget and recipe fields of `ResNetHyperModel` (`families=`, `depths=`,
            `max_params=`, `epochs=` (each trial's epochs, Hyperband's maximum), `batch_size=`...).

    Returns:
        A dict: `rows` (see `results()`), `best` (the best row), `test_accuracy` of the best model,
        `over_budget` (how many trials were rejected) and the paths of the written files. A worker of a
        cluster's chief returns `{"worker": its id, "trials": the trial ids it ran}`.
    """
    checks.check_all(workers=workers)
    most = checks.WORKERS_PER_CORE * checks.cores()
    if workers > most:
        print(
            f"tune: workers={workers} is more than this machine's {checks.cores()} CPU core(s) allow "
            f"({checks.WORKERS_PER_CORE} per core): {most} worker process(es) are used",
            flush=True,
        )
        workers = most
    if workers and not isinstance(dataset, (str, os.PathLike)):
        raise ValueError(
            "worker processes load the data set by name: pass a name or a folder, or workers=0 to train every "
            "trial in this process"
        )
    job = dict(
        dataset=str(dataset) if workers else dataset,
        output=str(output),
        tuner=tuner,
        max_trials=max_trials,
        recipe=recipe,
        validation_split=validation_split,
        steps_per_epoch=steps_per_epoch,
        strategy=strategy,
        cpu_devices=cpu_devices,
        data_dir=data_dir and str(data_dir),
        manual_dir=manual_dir and str(manual_dir),
        seed=seed,
        verbose=verbose,
        **settings,
    )
    role = os.environ.get("KERASTUNER_TUNER_ID") if "KERASTUNER_ORACLE_IP" in os.environ else None
    if role is not None and "chief" not in role:  # keras-tuner's own test for the chief (dist_utils.is_chief_oracle)
        return work(role, job)
    setup = _Setup(**job)
    output = pathlib.Path(output)
    config = json.loads(
        json.dumps(
            dict(
                dataset=str(dataset) if isinstance(dataset, (str, os.PathLike)) else "arrays",
                tuner=tuner,
                max_trials=max_trials,
                recipe=recipe,
                validation_split=validation_split,
                steps_per_epoch=setup.steps,
                seed=seed,
                **settings,
            ),
            default=list,
        )
    )
    with files.claim(output, "tune", config, SEARCH_FILES, overwrite):
        hypermodel = setup.hypermodel
        if verbose:
            where = (
                (
                    f"{workers} worker process{'es' if workers > 1 else ''}, a process per trial"
                    if workers
                    else "this process"
                )
                if role is None
                else f"workers of the chief on {os.environ['KERASTUNER_ORACLE_IP']}"
            )
            print(
                f"tune: {tuner} search of up to {max_trials} trials over {list(hypermodel.families)} on "
                f"{setup.source.name} "
                f"({setup.train_size:,} training, {setup.held_out:,} validation images), {setup.recipe.epochs} epochs "
                f"of {setup.steps} steps per trial in {where}; files in {output}",
                flush=True,
            )
            if hypermodel.note:
                print(f"tune: {hypermodel.note}", flush=True)
        searcher = setup.tuner()
        ended = len(searcher.oracle.end_order)
        if workers or role is not None:
            serve(searcher, workers, job, verbose)
        else:
            setup.run(searcher)
        searcher.oracle.save()  # with no trial left ongoing (see make_tuner)
        if ended and len(searcher.oracle.end_order) == ended:
            print(
                f"tune: the search in {output} had finished ({ended} trials ended): no trial was trained again; "
                "choose another output or pass --overwrite to search again",
                flush=True,
            )
        rows = results(searcher)
        done = [row for row in rows if row["val_accuracy"] is not None]
        summary = dict(
            rows=rows,
            over_budget=sum(row["status"] == OVER_BUDGET for row in rows),
            results=write_results(rows, output / "results.csv"),
            plot=plot_results(rows, output / "results.png", hypermodel.max_params, hypermodel.max_flops),
        )
        if done:
            best = max(done, key=lambda row: row["val_accuracy"])
            model = searcher.load_model(searcher.oracle.trials[best["trial"]])
            with setup.distribution.scope():  # keras-tuner built the model under it
                optimizer.compile_model(
                    model, setup.recipe, setup.steps, setup.global_batch
                )  # the recipe's loss, to evaluate
            summary.update(best=best, test_accuracy=float(model.evaluate(setup.test_data, verbose=0)[1]))
            loop.save_model(model, output / "best.keras")
            loop.write_samples(model, setup.source.test_split, output / "samples.npz")
            files.write_json(output / "results.json", {"test": {"accuracy": summary["test_accuracy"]}, "best": best})
            summary["model"] = output / "best.keras"
    return summary


class _Setup:
    """What every process of a search builds the same way from its arguments: the data, the pipelines, the
    hypermodel and the tuner (see `search` for the arguments)."""

    def __init__(
        self,
        dataset,
        output,
        *,
        tuner,
        max_trials,
        recipe,
        validation_split,
        steps_per_epoch,
        strategy,
        cpu_devices,
        data_dir,
        manual_dir,
        seed,
        verbose,
        **settings,
    ):
        fields = {field.name for field in dataclasses.fields(recipes.Recipe)}
        self.recipe = recipes.get_recipe(recipe, **{k: v for k, v in settings.items() if k in fields})
        _check_tuner(tuner, max_trials)
        checks.check_all(
            validation_split=validation_split,
            steps_per_epoch=steps_per_epoch,
            cpu_devices=cpu_devices,
            seed=seed,
            verbose=verbose,
        )
        if cpu_devices:
            loop.configure_cpu_devices(cpu_devices)
        self.distribution = loop.make_strategy(strategy)
        self.output, self.name, self.max_trials, self.seed, self.verbose = (
            pathlib.Path(output),
            tuner,
            max_trials,
            seed,
            verbose,
        )
        files.check_writable(self.output)
        source = self.source = data.load(dataset, data_dir=data_dir, manual_dir=manual_dir, seed=seed)
        if source.image_shape[0] is None and self.recipe.augment != "imagenet":
            raise ValueError(f"{source.name} has images of different sizes: use augment='imagenet' to resize them")
        self.held_out = max(1, round(source.train_size * validation_split))
        self.train_size = source.train_size - self.held_out
        checks.check_batch(self.recipe.batch_size, self.distribution.num_replicas_in_sync, self.train_size, source.name)
        self.global_batch = self.recipe.batch_size * self.distribution.num_replicas_in_sync
        self.steps = steps_per_epoch or math.ceil(self.train_size / self.global_batch)
        options = data.recipe_options(self.recipe, source, seed)
        placed = dict(
            batch_size=self.global_batch,
            shard=getattr(self.distribution, "shard", (0, 1)),
            replicas=self.distribution.num_replicas_in_sync,
        )
        train = source.train_split.part(self.held_out)
        self.train_data = data.feed(train, training=True, steps=self.steps, **placed, **options)
        self.val_data = data.feed(source.train_split.part(0, self.held_out), training=False, **placed, **options)
        self.test_data = data.feed(source.test_split, training=False, **placed, **options)
        mean, std = source.stats()
        self.hypermodel = ResNetHyperModel(
            data.image_shape(source, **options),
            source.num_classes,
            recipe=recipe,
            preprocessing={"mean": mean.tolist(), "std": std.tolist()},
            **settings,
        )

    def tuner(self, one_trial=False):
        """The search's keras-tuner tuner (resumed from `output/search` when it is there)."""
        keras.utils.set_random_seed(self.seed)
        return make_tuner(
            self.hypermodel,
            self.name,
            directory=self.output,
            max_trials=self.max_trials,
            epochs=self.recipe.epochs,
            seed=self.seed,
            # keras-tuner takes tf.distribute strategies; keras.distribution's is entered around the search instead.
            distribution_strategy=None if isinstance(self.distribution, loop.KerasDistribution) else self.distribution,
            one_trial=one_trial,
        )

    def run(self, searcher):
        """Run `searcher`'s trials in this process (all of them, or one with `one_trial`)."""
        callbacks = [DiskGuard(self.output / "search"), *loop.tensorboard(self.output / "logs")]
        if isinstance(self.train_data, data.Batches):  # first: each epoch's batches follow from its number
            callbacks.insert(0, data.Epochs(self.train_data))
        # keras.distribution's strategy lays out every batch in fit: the whole search runs inside its scope.
        keras_scope = isinstance(self.distribution, loop.KerasDistribution)
        # _TrialDone is how `one_trial` ends the search after its trial.
        with self.distribution.scope() if keras_scope else contextlib.nullcontext(), contextlib.suppress(_TrialDone):
            searcher.search(
                self.train_data,
                validation_data=self.val_data,
                epochs=self.recipe.epochs,
                steps_per_epoch=self.steps,
                callbacks=callbacks,
                verbose=self.verbose,
            )


def run_trial_process(job, report, parent):
    """Run one trial of a search as a keras-tuner worker, in this fresh process: what a
    `keras_resnet.tuning.workers.Worker` starts.

    The worker's `KERASTUNER_*` variables name the chief. The process ends when its parent does (a killed
    chief leaves no worker behind).

    Args:
        job: the search's arguments as JSON (see `search`).
        report: a file descriptor that receives, as JSON, an error that stops the whole search.
        parent: the pid of the process that started this one (it may have died while this one started up).

    Returns:
        The exit status: 0 when the trial ran (whatever its outcome), `keras_resnet.tuning.workers.STOPPED_SEARCH`
        when it stopped the search.
    """

    def trial():
        setup = _Setup(**json.loads(job))
        setup.run(setup.tuner(one_trial=True))

    return trial_process(trial, int(report), int(parent))
