"""scikit-learn's 1,797 bundled 8x8 hand-written digits as 0-255 images: real data that is always there.

The one source of these arrays for `keras_resnet.training.data` ("digits") and
`keras_resnet.research.analysis`, so that a model trained on one is scored on the same pixels by the other.
No TensorFlow here.
"""


def load(test_size=0.25, seed=0):
    """The digits as `((x_train, y_train), (x_test, y_test))`, images uint8 (N, 8, 8, 1) in 0..255.

    Args:
        test_size: the fraction held out for testing (stratified by class).
        seed: seed of the split.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    # 0..16 grey levels scaled to the 0..255 range of every other image source.
    images = (digits.images[..., None] * (255.0 / 16.0)).round().astype("uint8")
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=test_size, random_state=seed, stratify=digits.target
    )
    return (x_train, y_train), (x_test, y_test)
