"""Quick start: build a CIFAR-style ResNet-20 and train it on scikit-learn's bundled digits (no download).

    python examples/quickstart.py [--epochs 5] [--model ResNet20]

The 1,797 8x8 grey-scale digits are real images that ship with scikit-learn, so this runs anywhere.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import keras_resnet  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ResNet20", help="a name from keras_resnet.available_models() (CIFAR family)")
    parser.add_argument("--epochs", type=int, default=5, help="training epochs (default 5)")
    parser.add_argument("--batch-size", type=int, default=64, help="mini-batch size (default 64)")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    digits = load_digits()
    images = (digits.images[..., None] / 16.0).astype("float32")  # 8x8x1, pixel values 0..16
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=0, stratify=digits.target
    )
    model = keras_resnet.build(args.model, input_shape=(8, 8, 1), classes=10)
    print(f"{model.name}: {model.count_params():,} parameters, {keras_resnet.flops(model) / 1e6:.1f}M multiply-adds")
    model.compile(
        optimizer=keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, validation_split=0.1, verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy {accuracy:.4f} (loss {loss:.4f}) on {len(x_test)} held-out digits")
    predicted = np.argmax(model.predict(x_test[:10], verbose=0), axis=1)
    print(f"first ten predictions {predicted.tolist()}, labels {y_test[:10].tolist()}")
    return accuracy


if __name__ == "__main__":
    main()
