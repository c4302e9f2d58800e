"""The `keras-resnet` command: argument parsing and progress only; each command calls a public function."""

import argparse
import os
import pathlib
import sys


def _models(args):
    from keras_resnet import specs  # the plans count parameters and FLOPs: no model is built, no Keras imported

    names = args.names or sorted(specs.MODELS)
    for name in names:
        if name not in specs.MODELS:
            raise specs.unknown_name(name, sorted(specs.MODELS))
    header = f"{'model':<20} {'family':<14} {'input':<14} {'parameters':>12} {'trainable':>12} {'FLOPs (MACs)':>13}"
    print(header)
    print("-" * len(header))
    for name in names:
        plan = specs.resolve(name)
        trainable, non_trainable = plan.parameters()
        size = "x".join(str(d) for d in plan.input_shape)
        print(
            f"{name:<20} {plan.family:<14} {size:<14} {trainable + non_trainable:>12,} {trainable:>12,} "
            f"{plan.flops() / 1e9:>12.3f}G",
            flush=True,
        )
    return 0


def add_models(commands):
    models = commands.add_parser(
        "models",
        help="list every model with its parameters and FLOPs",
        description="Print each model's parameter count (total and trainable) and its multiply-adds per image "
        "at its default input size, the 'FLOPs' of the ResNet papers, as its plan counts them (nothing is built; "
        "the tests check every count against the built model and the published one).",
    )
    models.add_argument("names", nargs="*", help="models to show (default: every name of available_models())")
    models.set_defaults(run=_models)


def _load(path):
    from keras_resnet.models import load_model_file  # importing keras_resnet registers the layers

    return load_model_file(path)


def _lesion(args):
    from keras_resnet.research import analysis

    model = _load(args.model)
    data = analysis.load_test_data(args.dataset, model.input_shape[1:])
    result = analysis.lesion(
        model,
        data,
        blocks=args.blocks,
        max_removed=args.max_removed,
        draws=args.draws,
        seed=args.seed,
        batch_size=args.batch_size,
        plot=args.png,
        progress=True,
    )
    print(result.table())
    if args.png:
        print(f"plot written to {args.png}")
    return 0


def add_lesion(commands):
    lesion = commands.add_parser(
        "lesion",
        help="test accuracy with residual blocks removed (Veit et al. 2016)",
        description="Remove each residual block's branch (keeping its shortcut) one at a time, then k random "
        "blocks at once for k = 1..K, and print the test accuracy of each lesion. In a plain net a removed "
        "block passes its input on (only blocks that keep the shape can be removed).",
    )
    lesion.add_argument("model", help="a trained model saved as .keras (e.g. runs/r56/model.keras)")
    lesion.add_argument(
        "--dataset",
        required=True,
        help="test data: 'digits' (scikit-learn's digits, test split), an .npz file with arrays x and y, or a "
        "folder with one sub-folder of images per class (pixels scaled to [0, 1], resized to the model's input)",
    )
    lesion.add_argument("--blocks", nargs="+", help="names of the blocks to remove (default: every removable block)")
    lesion.add_argument("--max-removed", type=int, help="largest number of blocks removed at once (default: all)")
    lesion.add_argument("--draws", type=int, default=5, help="random draws for each number removed (default 5)")
    lesion.add_argument("--seed", type=int, default=0, help="seed of the random draws (default 0)")
    lesion.add_argument("--batch-size", type=int, default=256, help="prediction batch size (default 256)")
    lesion.add_argument("--png", help="write the lesion plot to this PNG file")
    lesion.set_defaults(run=_lesion)


def _paths(args):
    from keras_resnet.research import paths as path_view  # a name or a number needs no Keras
    from keras_resnet.utils import checks

    target = args.model
    checks.check("mass", args.mass)  # before a model file is read
    if target.isascii() and target.isdigit():  # str.isdigit alone accepts '²', which int() refuses
        target = int(target)
    elif target.endswith(".keras"):
        from keras_resnet.research import analysis

        target = analysis.path_lengths(_load(target)).n
    paths = path_view.path_lengths(target)
    low, high = paths.interval(args.mass)
    share = sum(paths.probabilities[low : high + 1])
    print(f"{paths.n} residual blocks: 2^{paths.n} = {2**paths.n:.4g} paths, length ~ Binomial({paths.n}, 1/2)")
    print(
        f"mean length {paths.mean:g}, standard deviation {paths.std:.3f}, {share:.1%} of paths have length "
        f"{low}..{high}"
    )
    print(f"{'length':>6} {'paths':>24} {'fraction':>10}")
    for k, (count, probability) in enumerate(zip(paths.counts, paths.probabilities)):
        print(f"{k:>6} {count:>24,} {probability:>10.3e}")
    if args.png:
        path_view.plot_paths(paths, args.png)
        print(f"plot written to {args.png}")
    return 0


def add_paths(commands):
    paths = commands.add_parser(
        "paths",
        help="path-length distribution of a residual net (Veit et al. 2016)",
        description="Unrolled, a net of n residual blocks has 2^n paths; C(n, k) of them pass through k "
        "residual branches. Print the exact counts, the fractions and the range holding most paths.",
    )
    paths.add_argument("model", help="a model name (e.g. ResNet110), a saved .keras model, or a number of blocks")
    paths.add_argument("--mass", type=float, default=0.95, help="share of paths the printed range holds (default 0.95)")
    paths.add_argument("--png", help="write the distribution plot to this PNG file")
    paths.set_defaults(run=_paths)


def recipe_help(what):
    """`--recipe`'s help: `what`, then each recipe with what it does."""
    from keras_resnet.training import recipes

    listed = "; ".join(f"{name}: {recipes.describe(name)}" for name in sorted(recipes.RECIPES))
    return f"{what} (default cifar). {listed}".replace("%", "%%")  # argparse formats help with %


def _train(args):
    import dataclasses

    from keras_resnet.training import loop, recipes

    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(recipes.Recipe)}
    settings = {k: v for k, v in vars(args).items() if k not in overrides and k not in ("command", "run")}
    output = settings.pop("output") or f"runs/{pathlib.Path(args.model).stem}-{pathlib.Path(args.dataset).name}"
    history = loop.train(settings.pop("model"), settings.pop("dataset"), output=output, **settings, **overrides)
    print(f"test accuracy {history.test['accuracy']:.4f} (loss {history.test['loss']:.4f}); files in {output}")
    return 0


def add_train(commands):
    import dataclasses

    from keras_resnet.training import recipes

    train = commands.add_parser(
        "train",
        help="train a model with a paper's recipe; re-running the same command resumes",
        description="Train a model with model.fit, the way the papers did, on the Keras backend KERAS_BACKEND names "
        "(TensorFlow: every device of this machine, MirroredStrategy when several GPUs are visible; JAX: one device, "
        "or every device with --strategy data-parallel; PyTorch: one device). The output directory receives "
        "best.keras, last.keras, final.keras, TensorBoard logs (logs/), history.csv, curves.png, config.json and "
        "results.json; an interrupted run resumes from its last backup when the same command is run again.",
    )
    train.add_argument(
        "--model",
        required=True,
        help="a name from `keras-resnet models`, e.g. ResNet20, or a .keras file to fine-tune "
        "(e.g. an earlier run's final.keras; its classes must match the data's)",
    )
    train.add_argument(
        "--freeze", metavar="PART", help="keep the stem and stages up to PART fixed: 'stem' or 'stage1', 'stage2', ..."
    )
    train.add_argument(
        "--freeze-batchnorm",
        default="frozen",
        choices=("frozen", "train"),
        help="the frozen part's BatchNormalization: 'frozen' (inference mode, statistics kept; default) or 'train' "
        "(statistics updated)",
    )
    train.add_argument(
        "--dataset",
        required=True,
        help="'digits' (scikit-learn's bundled 8x8 digits), a folder with one sub-folder per class "
        "(optionally split into train/ and test/), or a tfds name prepared in --data-dir (never downloaded)",
    )
    train.add_argument("--data-dir", help="tfds data directory holding a prepared copy of --dataset")
    train.add_argument(
        "--manual-dir", help="folder with the data set's official files, prepared into --data-dir offline"
    )
    train.add_argument("--output", help="run directory (default runs/<model>-<dataset>)")
    train.add_argument(
        "--overwrite", action="store_true", help="replace an output directory that holds a different run"
    )
    train.add_argument(
        "--recipe", default="cifar", choices=sorted(recipes.RECIPES), help=recipe_help("paper settings to start from")
    )
    recipe = train.add_argument_group(
        "recipe settings (each replaces the recipe's value; see keras_resnet.training.recipes.RECIPES)"
    )
    for field in dataclasses.fields(recipes.Recipe):
        kind = field.metadata["type"]
        flag = "--" + field.name.replace("_", "-")
        help = field.metadata["help"] + (f" (cifar recipe: {field.default})" if field.default is not None else "")
        if kind is bool:
            recipe.add_argument(flag, action=argparse.BooleanOptionalAction, help=help)
        else:
            recipe.add_argument(flag, type=kind, nargs="*" if isinstance(field.default, tuple) else None, help=help)
    train.add_argument(
        "--strategy",
        default="auto",
        choices=recipes.STRATEGIES,
        help="on TensorFlow, auto: MirroredStrategy when several GPUs are visible; mirrored: every GPU (or "
        "logical CPU); multiworker: MultiWorkerMirroredStrategy with the cluster in TF_CONFIG. On JAX (KERAS_BACKEND="
        "jax), auto: one device; data-parallel: keras.distribution.DataParallel over every device (of every host "
        "that KERAS_DISTRIBUTION_* or JAX_COORDINATOR_ADDRESS names). On PyTorch: one device (default auto)",
    )
    train.add_argument(
        "--cpu-devices",
        type=int,
        help="split the CPU into this many logical devices (mirrored or data-parallel on a CPU)",
    )
    train.add_argument("--mixed-precision", action="store_true", help="16-bit compute, float32 variables and logits")
    train.add_argument("--jit-compile", action="store_true", help="compile the training step with XLA")
    train.add_argument(
        "--on-bad-image",
        default="skip",
        choices=["skip", "stop"],
        help="unreadable folder images: report and skip (default), or stop",
    )
    train.add_argument("--steps-per-epoch", type=int, help="steps per epoch (default: one pass over the training set)")
    train.add_argument("--backup-every", type=int, help="also back up every this many steps (default: each epoch)")
    train.add_argument("--seed", type=int, default=0, help="seed of weights, shuffling and augmentation (default 0)")
    train.add_argument(
        "--verbose",
        type=int,
        default=1,
        choices=[0, 1, 2],
        help="1: progress bar (default), 2: a line per epoch, 0: quiet",
    )
    train.set_defaults(run=_train)


def _tune(args):
    from keras_resnet import tuning

    settings = {k: v for k, v in vars(args).items() if k not in ("command", "run") and v is not None}
    summary = tuning.search(settings.pop("dataset"), settings.pop("output"), **settings)
    if "worker" in summary:  # a worker of a chief elsewhere: the chief writes the results
        print(f"{summary['worker']} ran {len(summary['trials'])} trials; the chief writes the results")
        return 0
    print(
        f"{len(summary['rows'])} trials, {summary['over_budget']} over budget (not trained); table in "
        f"{summary['results']}"
    )
    if "best" not in summary:
        print("no trial completed: nothing to save", file=sys.stderr)
        return 1
    best = summary["best"]
    print(
        f"best: trial {best['trial']} {best['family']} depth {best['depth']}, {best['params']:,} parameters, "
        f"validation accuracy {best['val_accuracy']:.4f}, test accuracy {summary['test_accuracy']:.4f}; saved as "
        f"{summary['model']}"
    )
    return 0


def add_tune(commands):
    from keras_resnet.training import recipes

    tune = commands.add_parser(
        "tune",
        help="search family, depth, cardinality and width with Keras Tuner; re-running resumes",
        description="Search the residual design space with Keras Tuner: each trial builds a model and trains it "
        "with the recipe (a held-out part of the training split scores it). The output directory receives "
        "keras-tuner's state (search/), TensorBoard logs (logs/), results.csv, results.png (score against "
        "parameters and FLOPs) and best.keras; a killed search resumes without re-running finished trials "
        "when the same command is run again. Each trial trains in a fresh process (--workers of them at a "
        "time; keras-tuner's distributed mode on 127.0.0.1), so that its memory is returned when it ends. "
        "On a cluster, run the same command on every machine with keras-tuner's KERASTUNER_TUNER_ID "
        "('chief' on one machine, a unique name on each other), KERASTUNER_ORACLE_IP and "
        "KERASTUNER_ORACLE_PORT (the chief's address), and --output on a shared file system.",
    )
    tune.add_argument(
        "--dataset",
        required=True,
        help="'digits', a folder of class sub-folders, or a tfds name prepared in --data-dir",
    )
    tune.add_argument("--data-dir", help="tfds data directory holding a prepared copy of --dataset")
    tune.add_argument(
        "--manual-dir", help="folder with the data set's official files, prepared into --data-dir offline"
    )
    tune.add_argument("--output", required=True, help="search directory (resumed when it holds the same search)")
    tune.add_argument("--overwrite", action="store_true", help="start again in an output that holds a different search")
    tune.add_argument("--tuner", default="random", choices=recipes.TUNERS, help="search algorithm (default random)")
    tune.add_argument(
        "--workers",
        type=int,
        help="trials trained at a time, each in its own process (default 1; 0: "
        "every trial in this process; on a cluster's chief: local workers besides the remote ones)",
    )
    tune.add_argument("--max-trials", type=int, help="trials to run, for random and bayesian (default 10)")
    tune.add_argument(
        "--family",
        dest="families",
        nargs="+",
        help="families to search (default cifar_resnet; see keras_resnet.available_families()); "
        "an ImageNet family is searched in its CIFAR form on images under 64 pixels",
    )
    tune.add_argument(
        "--depth",
        dest="depths",
        type=int,
        nargs="+",
        help="depths to try; each family keeps those it builds "
        "(default: each family's named depths, at most three, e.g. 20 32 44 for cifar_resnet)",
    )
    tune.add_argument(
        "--cardinality",
        dest="cardinalities",
        type=int,
        nargs="+",
        help="ResNeXt cardinalities (ResNeXt families only; default: the named models', 8 16 for cifar_resnext)",
    )
    tune.add_argument(
        "--bottleneck-width",
        dest="bottleneck_widths",
        type=int,
        nargs="+",
        help="ResNeXt bottleneck widths (ResNeXt families only; default: the named models')",
    )
    tune.add_argument(
        "--widen",
        dest="widens",
        type=int,
        nargs="+",
        help="widen factors (wide-ResNet families only; default: the named models')",
    )
    tune.add_argument(
        "--attention",
        dest="attentions",
        nargs="+",
        choices=("none", "se", "eca"),
        help="channel attentions to try: none, se (squeeze-and-excitation), eca (default none)",
    )
    tune.add_argument(
        "--stem-type",
        dest="stem_types",
        nargs="+",
        choices=("default", "deep"),
        help="stems to try: default, deep (ResNet-C; ImageNet-stem families only; default default)",
    )
    tune.add_argument(
        "--stochastic-depth",
        dest="stochastic_depths",
        type=float,
        nargs="+",
        help="stochastic depth's last-block survival probabilities; 1 = off (default 1)",
    )
    tune.add_argument("--lr", dest="lrs", type=float, nargs="+", help="learning rates to try (default: the recipe's)")
    tune.add_argument(
        "--weight-decay",
        dest="weight_decays",
        type=float,
        nargs="+",
        help="weight decays to try (default: the recipe's)",
    )
    tune.add_argument("--max-params", type=int, help="reject (do not train) models with more parameters")
    tune.add_argument("--max-flops", type=int, help="reject (do not train) models with more multiply-adds per image")
    tune.add_argument(
        "--recipe", default="cifar", choices=sorted(recipes.RECIPES), help=recipe_help("training recipe of every trial")
    )
    tune.add_argument("--epochs", type=int, help="epochs per trial, Hyperband's maximum (default: the recipe's)")
    tune.add_argument("--batch-size", type=int, help="images per replica and step (default: the recipe's)")
    tune.add_argument("--steps-per-epoch", type=int, help="steps per epoch (default: one pass over the training part)")
    tune.add_argument(
        "--validation-split", type=float, help="fraction of the training split that scores trials (default 0.1)"
    )
    tune.add_argument(
        "--strategy",
        default="auto",
        choices=recipes.STRATEGIES,
        help="distribution strategy of every trial (default auto)",
    )
    tune.add_argument(
        "--cpu-devices", type=int, help="split the CPU into this many logical devices in each trial (mirrored on a CPU)"
    )
    tune.add_argument("--seed", type=int, default=0, help="seed of the search, the weights and the data (default 0)")
    tune.add_argument(
        "--verbose", type=int, default=1, choices=[0, 1, 2], help="Keras' progress: 1 bar, 2 a line per epoch, 0 quiet"
    )
    tune.set_defaults(run=_tune)


def _convert(args):
    from keras_resnet.factory import convert

    options = {"include_top": not args.no_top, "classifier_activation": None if args.logits else "softmax"}
    options.update({key: getattr(args, key) for key in ("variant", "stride_position", "classes") if getattr(args, key)})
    if args.use_bias:
        options["use_bias"] = True
    if args.input_shape:
        options["input_shape"] = args.input_shape
    print(f"convert {args.source} into {args.model} and save it as {args.output}", flush=True)
    model = convert(args.model, args.source, args.output, **options)
    print(f"wrote {args.output}: {model.name}, {model.count_params():,} parameters, weights from {args.source}")
    return 0


def _shape(text):
    try:
        return tuple(int(size) for size in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be three integers H,W,C, e.g. 224,224,3") from None


def add_convert(commands):
    convert = commands.add_parser(
        "convert",
        help="convert keras.applications / torchvision / timm weights into a .keras file",
        description="Build MODEL with the weights of SOURCE, converted exactly (layers mapped by structure, "
        "convolution biases folded into the next BatchNorm, BN epsilon accounted for), and save it to OUTPUT.",
    )
    convert.add_argument("model", help="model name, e.g. ResNet50 or ResNet50V2 (see `keras-resnet models`)")
    convert.add_argument(
        "source",
        help="'imagenet' or a source tag (downloaded, checked and cached, see docs/weights.md), a keras.applications "
        ".h5 / .weights.h5 / .keras file, or a torchvision/timm state dict (.safetensors; .pth needs torch)",
    )
    convert.add_argument("output", help="the .keras file to write (never overwritten)")
    convert.add_argument(
        "--variant", choices=("v1", "v1.5"), help="ImageNet v1 stride placement: v1.5 for torchvision/timm"
    )
    convert.add_argument(
        "--stride-position", choices=("first", "last"), help="'last' for keras.applications' ResNetV2 weights"
    )
    convert.add_argument(
        "--use-bias", action="store_true", help="convolutions with biases (needed for ResNetV2 weights)"
    )
    convert.add_argument("--no-top", action="store_true", help="without the classifier (a notop source)")
    convert.add_argument("--classes", type=int, help="classifier size when the source's differs from 1000")
    convert.add_argument(
        "--input-shape", type=_shape, help="input shape as H,W,C (default: the model's, e.g. 224,224,3)"
    )
    convert.add_argument("--logits", action="store_true", help="classifier outputs logits instead of softmax")
    convert.set_defaults(run=_convert)


def _export(args):
    from keras_resnet.serving import export

    name = export.check_name(args.name) if args.name is not None else None
    model = export.load_model(args.model)
    name = name or export.check_name(model.name)
    target = os.path.join(args.base, name)
    given = {key: getattr(args, key) for key in ("scale", "mean", "std") if getattr(args, key) is not None}
    shape = "x".join(map(str, model.input_shape[1:]))
    print(
        f"export {args.model} ({model.name}, {model.count_params():,} parameters, {shape} -> {model.output_shape[-1]} "
        f"classes) as the next version of {target}",
        flush=True,
    )
    path = export.export_saved_model(
        args.model,
        target,
        labels=args.labels,
        top_k=args.top_k,
        version=args.version,
        max_pixels=args.max_pixels,
        **given,
    )
    print(f"exported {args.model} to {path}; TF Serving config: {export.write_models_config(args.base)}")
    return 0


def add_export(commands):
    export = commands.add_parser(
        "export",
        help="export a .keras model as the next version of a TF Serving model",
        description="Write a .keras model as <base>/<name>/<next integer version>/ (a SavedModel with tag "
        "'serve'), atomically and never over an existing version, with two signatures: serving_default "
        "(float32 images [None,H,W,C], pixels 0-255) and serving_bytes (encoded JPEG/PNG/GIF/BMP strings), both "
        "returning probabilities, classes and top-k scores/classes/labels. The model's own preprocessing (a "
        "model trained by `keras-resnet train` carries its normalisation) is all the export applies, unless "
        "--scale/--mean/--std describe the inputs of a model trained elsewhere. A model file written by a run "
        "brings its test images and answers, which `verify` compares the served answers with. Also writes "
        "<base>/models.config listing every model under <base>.",
    )
    export.add_argument("model", help="path of a saved .keras model (e.g. runs/digits/final.keras)")
    export.add_argument("--name", help="model name in TF Serving, one path component (default: the model's name)")
    export.add_argument(
        "--base", default="saved_models", help="directory holding the model directories (default saved_models)"
    )
    export.add_argument("--labels", help="text file with one class name per line, for the top_k_labels output")
    export.add_argument("--top-k", type=int, default=5, help="how many best classes the top_k outputs give (default 5)")
    export.add_argument(
        "--scale",
        type=float,
        help="only for a model trained elsewhere on scaled inputs: the graph computes (pixels*scale - mean)/std "
        "(default: nothing, the model takes the pixels)",
    )
    export.add_argument("--mean", type=float, nargs="+", help="with --scale: mean, one value or one per channel")
    export.add_argument("--std", type=float, nargs="+", help="with --scale: std, one value or one per channel")
    export.add_argument(
        "--version", type=int, help="explicit version number, which must not exist (default: latest + 1)"
    )
    export.add_argument(
        "--max-pixels",
        type=int,
        default=4096 * 4096,
        help="largest image (height x width, read from its header before decoding) serving_bytes accepts; a "
        "larger one fails its request with INVALID_ARGUMENT (default 16777216 = 4096x4096)",
    )
    export.set_defaults(run=_export)


def _verify(args):
    from keras_resnet.serving import export

    print(
        f"verify {args.path} as TF Serving loads it"
        + (f", classifying the test split of {args.dataset}" if args.dataset else ""),
        flush=True,
    )
    result = export.verify(
        args.path,
        model=args.model,
        tolerance=args.tolerance,
        port=args.port,
        dataset=args.dataset,
        data_dir=args.data_dir,
        trusted=args.trusted,
    )
    print(result)
    return 0 if result.ok else 1


def add_verify(commands):
    verify = commands.add_parser(
        "verify",
        help="load an export the way TF Serving does and check its answers",
        description="Load a SavedModel version with the tf.compat.v1 Session loader in a process where "
        "importing keras or keras_resnet fails, run both signatures by their tensor names on the stored sample "
        "images (float and PNG bytes) and a corrupt image, and print the max abs difference from the answers "
        "stored at export (a training run's answers on real test images when the export came from a run's "
        "file), the checks, `saved_model_cli show --all` and a ready curl request. With --dataset, classify "
        "its test split through both signatures and report the served accuracy beside the run's. Exit status "
        "1 if a check fails. verify runs the export's graph, as the server would: an export whose signatures "
        "hold ops that reach files, the network or other processes (WriteFile, ReadFile, PyFunc, ...) is refused "
        "before anything runs, unless --trusted.",
    )
    verify.add_argument("path", help="a model directory (its latest version is checked) or one version directory")
    verify.add_argument("--model", help="a .keras model to compare with (default: the answers stored at export time)")
    verify.add_argument(
        "--dataset", help="classify this data set's test split ('digits', a folder, a prepared tfds name)"
    )
    verify.add_argument("--data-dir", help="tfds data directory holding a prepared copy of --dataset")
    verify.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed abs difference (default 1e-4)")
    verify.add_argument(
        "--port", type=int, default=8501, help="TF Serving REST port for the curl request (default 8501)"
    )
    verify.add_argument(
        "--trusted",
        action="store_true",
        help="run the export's graph even if it holds file, network or process ops (an export you trust)",
    )
    verify.set_defaults(run=_verify)


def _bench(args):
    from keras_resnet.bench import benchmark

    sections = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else list(benchmark.SECTIONS)
    report = benchmark.run(
        sections,
        repeats=args.repeats,
        quick=args.quick,
        output=args.output,
        jax_python=args.jax_python,
        torch_python=args.torch_python,
    )
    missed = [c["benchmark"] for c in report["comparisons"] if c["verdict"] in ("missed", "could not run")]
    print(f"{len(report['comparisons'])} comparisons, {len(missed)} targets missed or not measured")
    return 0


def add_bench(commands):
    bench = commands.add_parser(
        "bench",
        help="time our models side by side with keras.applications and flat builds",
        description="Run the benchmark suite: training images/s and peak memory (ResNet-50 vs "
        "keras.applications, ResNet-56 vs a flat functional build; float32, XLA, mixed precision), inference "
        "images/s (Keras and SavedModel, batch 1 and 32), build and first-step times, the phases up to the "
        "first training step and prediction in fresh processes (first_step: build, compile, first "
        "train_on_batch, first predict; ResNet-50 vs keras.applications, ResNet-110/1202 and PreActResNet-1001 "
        "vs flat functional graphs; on JAX too with --jax-python), stochastic-depth epoch time (on JAX too with "
        "--jax-python), tf.data "
        "throughput vs training, CLI start-up, and ours against timm on PyTorch (peer: one row of every family, "
        "training and single-image inference, fresh processes; skipped where torch and timm are not installed). "
        "Compared variants take turns (in one process, or one fresh "
        "process each for memory and first_step); each row is min/median/max over the repeats, each "
        "comparison a ratio of medians against its target. Writes bench.json and bench.md (bench-quick.* "
        "with --quick).",
    )
    bench.add_argument(
        "--only",
        help="comma-separated sections to run, e.g. build,first_step (default: all of train, inference, build, "
        "first_step, stochastic_depth, pipeline, startup, peer)",
    )
    bench.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="interleaved repeats of every measurement (default 3; first_step repeats the 1000-layer nets once)",
    )
    bench.add_argument(
        "--output",
        help="directory for bench.json and bench.md (default: benchmarks/results in a checkout of this "
        "project, else ./bench-results)",
    )
    bench.add_argument(
        "--quick",
        action="store_true",
        help="tiny models, images and step counts: every section in well under a minute (a smoke test)",
    )
    bench.add_argument(
        "--jax-python",
        metavar="PYTHON",
        help="a Python interpreter that has jax and keras_resnet (e.g. .venv-jax/bin/python): first_step then "
        "also runs each variant in fresh processes of it on Keras' JAX backend, taking turns with the "
        "TensorFlow ones, and reports JAX / TensorFlow ratios; stochastic_depth then also times its pair on JAX; "
        "peer then also times ResNet-50 and ResNeXt-50 on JAX against timm (default: TensorFlow only)",
    )
    bench.add_argument(
        "--torch-python",
        metavar="PYTHON",
        help="a Python interpreter that has torch, timm and keras_resnet (e.g. .venv-torch/bin/python) for the "
        "peer section (default: this one)",
    )
    bench.set_defaults(run=_bench)


# Each command is one `add_<command>(commands)` function that adds its sub-parser and sets `run`.
COMMANDS = [add_models, add_train, add_tune, add_convert, add_export, add_verify, add_lesion, add_paths, add_bench]


class Parser(argparse.ArgumentParser):
    """argparse's parser, with its usage errors as one line (the usage is one `--help` away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def parser():
    top = Parser(
        prog="keras-resnet",
        description="Every member of the residual-network family, one call away (Keras 3).",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for add in COMMANDS:
        add(commands)
    return top


# Libraries whose errors stop a command with one line and exit status 1 (theirs is not a bad argument).
LIBRARIES = ("tensorflow", "keras", "keras_tuner", "h5py", "numpy", "jax", "torch", "grpc", "PIL")


def _origin(error):
    """The top-level package whose code raised `error` (its innermost frame): "keras_resnet" for a refusal."""
    frame = error.__traceback__
    while frame.tb_next is not None:
        frame = frame.tb_next
    return frame.tb_frame.f_globals.get("__name__", "").split(".")[0]


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0][:500] if text else type(error).__name__


def main(argv=None):
    """Run `keras-resnet`; exit status 0 when done, 2 for a bad argument or input (one sentence on stderr,
    nothing done), 1 when the work failed (a full disk, a diverging loss: the last good files kept; or an error
    inside TensorFlow, Keras or another library, told in one line)."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as done:  # --help, or a usage error already printed
        return done.code
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        return args.run(args)
    except ValueError as error:
        if _origin(error) == "keras_resnet":  # the package checked an argument or an input and refused it
            print(f"keras-resnet {args.command}: {error}", file=sys.stderr)
            return 2
        print(f"keras-resnet {args.command}: failed inside {_origin(error)}: {_first_line(error)}", file=sys.stderr)
        return 1
    except (FloatingPointError, OSError) as error:
        print(f"keras-resnet {args.command}: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        if _origin(error) not in LIBRARIES:
            raise  # a fault of this package: its traceback is what a bug report needs
        print(
            f"keras-resnet {args.command}: failed inside {_origin(error)} ({type(error).__name__}): "
            f"{_first_line(error)}",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
