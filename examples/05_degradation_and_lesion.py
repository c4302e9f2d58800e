"""Why residual networks work, measured: degradation, lesion study, paths and stochastic depth.

    python examples/05_degradation_and_lesion.py [--epochs 10] [--out runs/05_degradation_and_lesion]

Runs on scikit-learn's bundled 8x8 digits (real images, nothing downloaded), in about 10 minutes on two
CPU cores; KERAS_RESNET_QUICK=1 shrinks the data and epochs to a smoke test of a minute or two.

1. Degradation (He et al. 2015, Fig. 1/6): PlainNet20/56 and ResNet20/56 trained by one recipe. In the
   paper the deeper plain net has the higher training and test error, the deeper residual net the lower.
2. Lesion study (Veit et al. 2016): in the paper removing one residual block barely hurts a ResNet,
   removing one layer of a plain net ruins it, and removing k random blocks degrades a ResNet smoothly.
3. Paths: the Binomial(n, 1/2) path lengths of ResNet-110 and, on the trained ResNet-56, the gradient
   magnitude per path length and its product with the path counts (the "effective" short paths).
4. Stochastic depth (Huang et al. 2016): test accuracy with and without scaling branches by survival
   probability.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

import keras_resnet  # noqa: E402
from keras_resnet import analysis  # noqa: E402


def main(argv=None):
    quick = os.environ.get("KERAS_RESNET_QUICK") == "1"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2 if quick else 10, help="training epochs of every model")
    parser.add_argument("--out", default="runs/05_degradation_and_lesion", help="folder for the PNGs and logs")
    args = parser.parse_args(argv)

    (x_train, y_train), (x_test, y_test) = analysis.digits()
    if quick:
        (x_train, y_train), (x_test, y_test) = (x_train[:384], y_train[:384]), (x_test[:192], y_test[:192])
    data = ((x_train, y_train), (x_test, y_test))
    png = lambda name: os.path.join(args.out, name)  # noqa: E731

    print(f"1. degradation: {len(x_train)} training and {len(x_test)} test digits, {args.epochs} epochs each")
    runs = analysis.degradation(
        dataset=data, epochs=args.epochs, plot=png("degradation.png"), log_dir=os.path.join(args.out, "logs")
    )
    for name, run in runs.items():
        print(f"   {name:<11} final training error {run.train_error[-1]:6.2%}   test error {run.test_error[-1]:6.2%}")

    print("2. lesion study: single blocks of the 20-layer nets (both train well), k random blocks of all three")
    lesions = {}
    for name in ("ResNet20", "PlainNet20", "ResNet56"):
        model = runs[name].model
        most = min(10, len(analysis.removable_blocks(model)))  # PlainNet20 has 7 shape-keeping blocks
        lesions[name] = analysis.lesion(model, (x_test, y_test), max_removed=most, draws=3 if quick else 5)
        single = list(lesions[name].single.values())
        curve = ", ".join(f"{k}: {sum(a) / len(a):.3f}" for k, a in lesions[name].random.items())
        print(f"   {name}: none removed {lesions[name].baseline:.3f}; one removed: mean {sum(single) / len(single):.3f}, "
              f"worst {min(single):.3f}; k random removed: {curve}")
        print(f"     each block removed: {', '.join(f'{b}: {a:.3f}' for b, a in lesions[name].single.items())}")
    analysis.plot_lesion(lesions, png("lesion.png"))

    print("3. paths")
    paths = analysis.path_lengths("ResNet110")
    low, high = paths.interval(0.95)
    print(f"   ResNet110: {paths.n} blocks, mean path length {paths.mean:g} (std {paths.std:.2f}), "
          f"{sum(paths.probabilities[low:high + 1]):.1%} of paths have length {low}..{high}")
    analysis.plot_paths(paths, png("paths_resnet110.png"))
    gradients = analysis.gradient_by_path_length(
        runs["ResNet56"].model, (x_test[:128], y_test[:128]), samples=2 if quick else 4, plot=png("gradients.png")
    )
    total = gradients.total
    share = [t / sum(total) for t in total]
    top = sorted(range(len(share)), key=share.__getitem__, reverse=True)[:5]
    print(f"   ResNet56 (27 blocks): gradient per path at lengths 0, 5, 10, 20: "
          f"{', '.join(f'{gradients.gradient[k]:.2e}' for k in (0, 5, 10, 20))}")
    print(f"   the gradient is carried mostly by paths of length {sorted(gradients.lengths[k] for k in top)} "
          f"(paths average {gradients.paths.mean:g})")

    # The package's zero-initialised branches here: with the papers' init this 56-layer net trains too
    # slowly in a few epochs on 1,347 digits for its accuracies to say anything.
    print("4. stochastic depth: ResNet56 with p_L = 0.5 (zero-initialised branches), trained by the same recipe")
    keras.utils.set_random_seed(0)
    model = keras_resnet.ResNet56(input_shape=x_train.shape[1:], classes=10, stochastic_depth=0.5)
    analysis.fit(model, data, epochs=args.epochs)
    check = analysis.stochastic_depth_scaling(model, (x_test, y_test))
    print(f"   test accuracy with branches scaled by survival probability {check['scaled']:.3f}, unscaled {check['unscaled']:.3f}")
    print(f"plots written to {args.out}/")
    return {"runs": runs, "lesions": lesions, "paths": paths, "gradients": gradients, "stochastic_depth": check}


if __name__ == "__main__":
    main()
