"""Keras Tuner search over the residual design space (TensorFlow-only module, through `training` and `data`).

Is cardinality worth more than depth or width at a fixed budget (Xie et al. 2017)? `ResNetHyperModel`
spans family, depth (only the depths each family builds), cardinality and bottleneck width (ResNeXt),
widen factor (wide ResNets), the stochastic-depth survival probability p_L, learning rate and weight
decay. Family-only knobs are conditional hyperparameters: they exist only while their family is chosen.
Its `fit` trains with a `keras_resnet.training` recipe (SGD, warm-up and schedule, the papers' weight
decay); `search()` adds the `keras_resnet.data` pipelines, a strategy, resume, the best model as `.keras`,
a results CSV and a PNG of score against parameters and FLOPs.

    hm = ResNetHyperModel(input_shape=(32, 32, 3), classes=10, families=["cifar_resnet"], depths=[20, 56])
    tuner = keras_tuner.RandomSearch(hm, objective="val_accuracy", max_trials=4, directory="tuning")
    tuner.search(train_ds, validation_data=val_ds, epochs=30, steps_per_epoch=390)
"""

import csv
import dataclasses
import errno
import io
import json
import math
import os
import pathlib
import warnings

import keras
import keras_tuner

from keras_resnet import checks, data, files, models, optimizer, plots, recipes, specs, training

# The knobs only some families have, keyed by family (a family that is not built yet is left out of the
# space). Each knob is the family's `build()` argument of the same name.
FAMILY_KNOBS = {
    "resnext": ("cardinality", "bottleneck_width"),
    "cifar_resnext": ("cardinality", "bottleneck_width"),
    "wide_resnet": ("widen",),
    "cifar_wide_resnet": ("widen",),
}
# The refinements' knobs: every family of the ResNet builder takes a channel attention, those with an
# ImageNet stem the deep stem too. Their choices are names ("none" and "default" for the option's None).
for _name, _family in specs.FAMILIES.items():
    if _family.builder == "resnet":
        FAMILY_KNOBS[_name] = (*FAMILY_KNOBS.get(_name, ()), "attention", *(("stem_type",) if _family.stem == "imagenet" else ()))
UNSET = {"attention": "none", "stem_type": "default"}  # the choice that means the option's None
# Choices of each family-only knob when the caller gives none: the values of the ResNeXt and WRN papers (the
# refinements are searched only when asked: `attentions=["none", "se", "eca"]`). NAMED_CHOICES: smallest first.
KNOB_CHOICES = {"cardinality": (1, 2, 4, 8, 16, 32), "bottleneck_width": (4, 16, 64), "widen": (1, 2, 4, 8, 10)}
NAMED_CHOICES = {"attention": ("none", "eca", "se"), "stem_type": ("default", "deep")}


def _option(knob, value):
    """The build option of a knob's choice ("none" -> None)."""
    return None if UNSET.get(knob) == value else value


def _smallest(knob, values):
    """The choice of a knob that gives the smallest model."""
    return min(values, key=NAMED_CHOICES[knob].index) if knob in NAMED_CHOICES else min(values)
TUNERS = {  # keys: keras_resnet.recipes.TUNERS, which the command line offers
    "random": keras_tuner.RandomSearch,
    "bayesian": keras_tuner.BayesianOptimization,
    "hyperband": keras_tuner.Hyperband,
}
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
        depths: depths to try; each family keeps those it can build (trying its other block types, e.g.
            29 = 9n+2 is a bottleneck depth for cifar_resnet), and a family that keeps none is an error.
        cardinalities, bottleneck_widths: ResNeXt choices (default `KNOB_CHOICES`); only for ResNeXt families.
        widens: wide-ResNet widen factors (default `KNOB_CHOICES`); only for wide-ResNet families.
        attentions: channel attentions to try among "none", "se" and "eca" (default "none"); ResNet families.
        stem_types: stems to try among "default" and "deep" (ResNet-C; default "default"); ImageNet-stem families.
        stochastic_depths: values of the models' `stochastic_depth`, the last block's survival probability
            p_L of Huang et al. (1.0: no stochastic depth). `survival_probs=` is its deprecated name.
        lrs, weight_decays: learning rates and weight decays to try (None: the recipe's).
        recipe: a name in `keras_resnet.recipes.RECIPES`; `**overrides` replace its fields (batch_size=32...).
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
        depths=(20, 29, 56),
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
        self.families = _choices("families", families)
        unknown = sorted(set(self.families) - set(specs.FAMILIES))
        if unknown:
            raise ValueError(f"families {unknown} are not known; choose among {sorted(specs.FAMILIES)}")
        self.recipe_name, self.overrides = recipe, overrides
        chosen = recipes.get_recipe(recipe, **overrides)
        given = {"cardinality": cardinalities, "bottleneck_width": bottleneck_widths, "widen": widens,
                 "attention": attentions, "stem_type": stem_types}  # fmt: skip
        for knob, choices in NAMED_CHOICES.items():
            unknown = sorted(set(given[knob] or ()) - set(choices))
            if unknown:
                raise ValueError(f"{knob} choices {unknown} are not known; choose among {list(choices)}")
        # The refinements are searched only when asked for: a search left at its defaults keeps its old space.
        used = {knob for family in self.families for knob in FAMILY_KNOBS.get(family, ())
                if knob not in NAMED_CHOICES or given[knob] is not None}  # fmt: skip
        for knob, values in given.items():
            if values is not None and knob not in used:
                owners = sorted(f for f, knobs in FAMILY_KNOBS.items() if knob in knobs)
                raise ValueError(f"{knob} choices were given but none of families={list(self.families)} has it; add one of {owners}")
        self.knobs = {k: _choices(k + "s", given[k] if given[k] is not None else KNOB_CHOICES[k]) for k in sorted(used)}
        self.stochastic_depths = checks.check("stochastic_depths", _choices("stochastic_depths", stochastic_depths))
        self.lrs = _choices("lrs", lrs if lrs is not None else [chosen.lr])
        self.weight_decays = _choices("weight_decays", weight_decays if weight_decays is not None else [chosen.weight_decay])
        for value in (*self.lrs, *self.weight_decays):
            if not (isinstance(value, (int, float)) and value >= 0 and math.isfinite(value)):
                raise ValueError(f"learning rates and weight decays must be finite numbers >= 0, not {value!r}")
        self.max_params, self.max_flops = max_params, max_flops
        self.depths, self.options, smallest = self._valid_depths(_choices("depths", depths))
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

    def _valid_depths(self, depths):
        """Each family's buildable depths, the extra options each needs, and the smallest (params, flops).

        Read from plans: nothing is built."""
        valid, options, smallest = {}, {}, (math.inf, math.inf)
        for family in self.families:
            small_knobs = {k: _option(k, _smallest(k, self.knobs[k])) for k in FAMILY_KNOBS.get(family, ()) if k in self.knobs}
            errors = []
            for depth in depths:
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
                raise ValueError(f"none of depths={list(depths)} builds a {family} for {self.input_shape}: {errors[0]}")
        return valid, options, smallest

    def plan(self, family, depth, options):
        """The `keras_resnet.specs.Plan` of one configuration (ValueError if it does not build)."""
        return specs.resolve(family, depth=depth, input_shape=self.input_shape, classes=self.classes,
                             preprocessing=self.preprocessing, **options)  # fmt: skip

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
            with hp.conditional_scope("family", [f for f in self.families if knob in FAMILY_KNOBS.get(f, ())]):
                value = _choose(hp, knob, values)
            if knob in FAMILY_KNOBS.get(family, ()) and _option(knob, value) is not None:
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
        recipe = recipes.get_recipe(self.recipe_name, **{**self.overrides, "lr": hp.get("lr"), "weight_decay": hp.get("weight_decay")})
        steps = steps_per_epoch or int(x.cardinality())
        if steps < 1:
            raise keras_tuner.errors.FatalValueError("the training data repeats forever: pass steps_per_epoch to search()")
        strategy = model.distribute_strategy
        with strategy.scope():
            optimizer.compile_model(model, recipe, steps, recipe.batch_size * strategy.num_replicas_in_sync,
                                    epochs=epochs - initial_epoch)  # fmt: skip
        callbacks = [keras.callbacks.TerminateOnNaN(), *(callbacks or [])]
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


def make_tuner(hypermodel, tuner="random", *, directory, project_name="search", max_trials=10, epochs=10, seed=0, overwrite=False, distribution_strategy=None):
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

    Returns:
        The tuner; call its `search(...)`.

    Raises:
        ValueError: an unknown tuner or a max_trials that is not a positive integer.
    """
    _check_tuner(tuner, max_trials)
    budget = {"max_epochs": epochs} if tuner == "hyperband" else {"max_trials": max_trials}
    return TUNERS[tuner](
        hypermodel, objective="val_accuracy", seed=seed, directory=directory, project_name=project_name,
        overwrite=overwrite, distribution_strategy=distribution_strategy, max_consecutive_failed_trials=10**9, **budget,
    )


def _check_tuner(tuner, max_trials):
    if tuner not in TUNERS:
        raise ValueError(f"tuner={tuner!r} is not known; choose one of {sorted(TUNERS)}")
    if not isinstance(max_trials, int) or isinstance(max_trials, bool) or max_trials < 1:
        raise ValueError(f"max_trials={max_trials!r} must be a positive integer")


def results(tuner):
    """The trials of a search as rows, in the order the trials started.

    Args:
        tuner: a keras-tuner tuner built on a `ResNetHyperModel`.

    Returns:
        A list of dicts: `trial`, `family`, `depth`, the other hyperparameters, `status` ("completed",
        "over budget", "failed"...), `params`, `flops` and `val_accuracy` (None unless completed).
    """
    rows = []
    for trial_id in tuner.oracle.start_order:
        trial = tuner.oracle.trials[trial_id]
        try:
            params, multiply_adds = tuner.hypermodel.measure(trial.hyperparameters.copy())[1:]
        except keras_tuner.errors.FailedTrialError:
            params = multiply_adds = None
        message = trial.message or ""
        values = dict(trial.hyperparameters.values)
        family = values.pop("family")
        values = dict(family=family, depth=values.pop(f"{family}_depth"), **values)
        status = OVER_BUDGET if OVER_BUDGET in message else str(trial.status).lower()
        rows.append(
            dict(
                trial=trial_id, **values, status=status, params=params, flops=multiply_adds,
                val_accuracy=float(trial.score) if status == "completed" else None,
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


def plot_results(rows, path, max_params=None, max_flops=None):
    """A PNG of validation accuracy against parameters and FLOPs, one colour per family; x marks over-budget trials.

    Args:
        rows: a list of dicts, as `results()` returns.
        path: the PNG to write.
        max_params, max_flops: the budget, drawn as a dotted line (None: none).

    Returns:
        `path`.
    """
    pyplot, figure, axes = plots.figure(2, width=5.5, sharey=True)
    for axis, size, limit in zip(axes, ("params", "flops"), (max_params, max_flops)):
        for family in dict.fromkeys(row["family"] for row in rows):
            done = [r for r in rows if r["family"] == family and r["val_accuracy"] is not None]
            points = axis.scatter([r[size] for r in done], [r["val_accuracy"] for r in done], label=family)
            for row in done:
                axis.annotate(str(row["depth"]), (row[size], row["val_accuracy"]), fontsize="small")
            rejected = [r[size] for r in rows if r["family"] == family and r["status"] == OVER_BUDGET]
            axis.scatter(rejected, [0.0] * len(rejected), marker="x", color=points.get_facecolor())
        if limit:
            axis.axvline(limit, linestyle=":", color="grey", label="budget")
        axis.set(xscale="log", xlabel="parameters" if size == "params" else "FLOPs (multiply-adds)")
        axis.grid(alpha=0.3)
    axes[0].set(ylabel="validation accuracy (x: over budget, not trained)")
    axes[0].legend(fontsize="small")
    return plots.save(pyplot, figure, path, dpi=100)


def search(
    dataset,
    output,
    *,
    tuner="random",
    max_trials=10,
    recipe="cifar",
    validation_split=0.1,
    steps_per_epoch=None,
    strategy="auto",
    data_dir=None,
    manual_dir=None,
    overwrite=False,
    seed=0,
    verbose=1,
    **settings,
):
    """Search the residual design space on `dataset`; re-running the same call resumes a killed search.

    Args:
        dataset: anything `keras_resnet.data.load` takes (`"digits"`, a folder, arrays, a tfds name).
        output: directory for keras-tuner's state (`search/`), TensorBoard logs (`logs/`), `best.keras`,
            `results.csv`, `results.png` and `config.json`.
        tuner: "random", "bayesian" or "hyperband".
        max_trials: trials to run (random and bayesian; Hyperband's count follows from the epochs).
        recipe: training recipe of every trial, a name in `keras_resnet.training.RECIPES`.
        validation_split: fraction of the training split held out to score trials (the test split is
            only used once, for the best model).
        steps_per_epoch: steps per epoch (default: one pass over the rest of the training split).
        strategy: `keras_resnet.training.make_strategy` name, given to keras-tuner as its distribution_strategy.
        data_dir, manual_dir: passed to `keras_resnet.data.load`.
        overwrite: start again in an `output` that holds a different search instead of refusing.
        seed: seed of the data split, the pipelines, the weights and the tuner.
        verbose: keras-tuner's and Keras' verbosity (0: silent).
        **settings: the space, budget and recipe fields of `ResNetHyperModel` (`families=`, `depths=`,
            `max_params=`, `epochs=` (each trial's epochs, Hyperband's maximum), `batch_size=`...).

    Returns:
        A dict: `rows` (see `results()`), `best` (the best row), `test_accuracy` of the best model,
        `over_budget` (how many trials were rejected) and the paths of the written files.
    """
    fields = {field.name for field in dataclasses.fields(recipes.Recipe)}
    chosen = recipes.get_recipe(recipe, **{k: v for k, v in settings.items() if k in fields})
    _check_tuner(tuner, max_trials)
    checks.check_all(validation_split=validation_split, steps_per_epoch=steps_per_epoch, seed=seed, verbose=verbose)
    distribution = training.make_strategy(strategy)
    output = pathlib.Path(output)
    files.check_writable(output)
    source = data.load(dataset, data_dir=data_dir, manual_dir=manual_dir, seed=seed)
    if source.image_shape[0] is None and chosen.augment != "imagenet":
        raise ValueError(f"{source.name} has images of different sizes: use augment='imagenet' to resize them")
    held_out = max(1, round(source.train_size * validation_split))
    global_batch = chosen.batch_size * distribution.num_replicas_in_sync
    steps = steps_per_epoch or math.ceil((source.train_size - held_out) / global_batch)
    options = dict(batch_size=global_batch, **data.recipe_options(chosen, source, seed))
    train_data = data.pipeline(source.train.skip(held_out), training=True, **options)
    val_data = data.pipeline(source.train.take(held_out), training=False, **options)
    test_data = data.pipeline(source.test, training=False, **options)
    mean, std = source.stats()
    hypermodel = ResNetHyperModel(tuple(train_data.element_spec[0].shape[1:]), source.num_classes, recipe=recipe,
                                  preprocessing={"mean": mean.tolist(), "std": std.tolist()}, **settings)  # fmt: skip
    config = json.loads(json.dumps(dict(
        dataset=str(dataset) if isinstance(dataset, (str, os.PathLike)) else "arrays", tuner=tuner,
        max_trials=max_trials, recipe=recipe, validation_split=validation_split, steps_per_epoch=steps, seed=seed,
        **settings,
    ), default=list))
    with files.claim(output, "tune", config, SEARCH_FILES, overwrite):
        if verbose:
            print(f"tune: {tuner} search of up to {max_trials} trials over {list(hypermodel.families)} on {source.name} "
                  f"({source.train_size - held_out:,} training, {held_out:,} validation images), {chosen.epochs} epochs "
                  f"of {steps} steps per trial; files in {output}", flush=True)  # fmt: skip
        keras.utils.set_random_seed(seed)
        searcher = make_tuner(hypermodel, tuner, directory=output, max_trials=max_trials, epochs=chosen.epochs,
                              seed=seed, distribution_strategy=distribution)  # fmt: skip
        searcher.search(train_data, validation_data=val_data, epochs=chosen.epochs, steps_per_epoch=steps,
                        callbacks=[DiskGuard(output / "search"), keras.callbacks.TensorBoard(output / "logs")],
                        verbose=verbose)  # fmt: skip
        rows = results(searcher)
        done = [row for row in rows if row["val_accuracy"] is not None]
        summary = dict(rows=rows, over_budget=sum(row["status"] == OVER_BUDGET for row in rows),
                       results=write_results(rows, output / "results.csv"),
                       plot=plot_results(rows, output / "results.png", hypermodel.max_params, hypermodel.max_flops))  # fmt: skip
        if done:
            best = max(done, key=lambda row: row["val_accuracy"])
            model = searcher.load_model(searcher.oracle.trials[best["trial"]])
            optimizer.compile_model(model, chosen, steps, global_batch)  # the recipe's loss, to evaluate
            summary.update(best=best, test_accuracy=float(model.evaluate(test_data, verbose=0)[1]))
            training.save_model(model, output / "best.keras")
            training.write_samples(model, source.test, output / "samples.npz")
            files.write_json(output / "results.json", {"test": {"accuracy": summary["test_accuracy"]}, "best": best})
            summary["model"] = output / "best.keras"
    return summary
