"""Data sources and the papers' augmentations, fed to `model.fit` by tf.data on TensorFlow and a PyDataset elsewhere.

A *source* is where images come from: a tfds name (read from `data_dir`, never downloaded), a local
folder with one sub-folder per class, NumPy arrays, the official MNIST / Fashion-MNIST files, or `"digits"`
(scikit-learn's 1,797 bundled 8x8 digits, real images that are always available). `load()` turns any of them
into a `Source` of two `Split`s that read `(image, label)` examples by index with NumPy and Pillow, on any
backend. Two adapters batch a split with the same augmentations, deterministic under a seed:

- `pipeline()`: a `tf.data` pipeline (shuffle, parallel map, `AUTOTUNE` prefetch), the fast path on the
  TensorFlow backend and the one `tf.distribute` shards;
- `Batches`: a `keras.utils.PyDataset` whose worker threads read and augment batches in NumPy, for the JAX and
  PyTorch backends, where TensorFlow may not be installed (and, where it is, would claim GPU memory and threads
  beside the backend's own). Threads, not processes: Pillow and NumPy let go of the GIL, and a forked process of
  a running JAX can deadlock.

`feed()` picks the adapter for the backend. TensorFlow is imported only by `pipeline`, `Split.dataset` and tfds
names (tfds reads through it).

    source = keras_resnet.training.data.load("digits")
    train = keras_resnet.training.data.feed(source.train_split, training=True, batch_size=64)
"""

import collections
import concurrent.futures
import dataclasses
import functools
import gzip
import math
import os
import pathlib
import sys

import keras
import numpy as np

from keras_resnet.training import digits
from keras_resnet.utils import checks

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")  # what tf.io.decode_image reads
GREY = ("L", "1", "I;16")  # PIL modes of one-channel images
# Hand-written digits change class when mirrored (a flipped 2 reads as a 5), so "flip=None" leaves them alone.
ORIENTED = {"digits", "mnist", "emnist", "kmnist", "svhn_cropped"}
# The official files of these tfds names are read without tfds (and so without TensorFlow) off TensorFlow.
IDX = {"mnist", "fashion_mnist"}
SIDE = 224  # the "imagenet" augmentation's default image side
OFFLINE_OPTIONS = (
    "pass data_dir= (--data-dir) holding a prepared tfds copy, manual_dir= (--manual-dir) holding the "
    "official files (e.g. ../shared/data/mnist), a folder with one sub-folder per class, NumPy arrays "
    "((x_train, y_train), (x_test, y_test)), or 'digits'"
)


class Split:
    """One split of a source: `len()` examples, `read(indices)` their images as one uint8/float array (NumPy and
    Pillow, any backend), `dataset()` the same `(image, label)` pairs as an unbatched `tf.data.Dataset`."""

    labels = None  # int32 labels by index (None for a tfds split, read only through TensorFlow)

    def read(self, indices):
        raise NotImplementedError

    def dataset(self):
        raise NotImplementedError

    def part(self, start, stop=None):
        """The examples `start` to `stop` (a validation hold-out, the rest)."""
        raise NotImplementedError

    def spread(self, count):
        """`count` images evenly spaced over the split and their labels, as arrays: a folder lists one class
        after another, so its first images would all be of one class."""
        picked = np.unique(np.linspace(0, len(self) - 1, min(count, len(self))).round().astype(int))
        return self.read(picked), self.labels[picked]

    def chunks(self, limit, size=256):
        """The first `limit` images, in arrays of up to `size`, read by a pool of threads (Pillow and NumPy let go
        of the GIL while they decode and copy)."""
        starts = range(0, min(limit, len(self)), size)
        with concurrent.futures.ThreadPoolExecutor(checks.cores()) as pool:
            yield from pool.map(lambda i: self.read(np.arange(i, min(i + size, limit, len(self)))), starts)


class ArraySplit(Split):
    """Images held in memory: NumPy arrays, the digits, MNIST's files, or a folder decoded once (`cache`)."""

    def __init__(self, images, labels):
        self.images, self.labels = images, np.asarray(labels).astype("int32")

    def __len__(self):
        return len(self.labels)

    def read(self, indices):
        return self.images[indices]

    def dataset(self):
        import tensorflow as tf

        return tf.data.Dataset.from_tensor_slices((self.images, self.labels))

    def part(self, start, stop=None):
        return ArraySplit(self.images[start:stop], self.labels[start:stop])


class FileSplit(Split):
    """Image files of one size and number of channels (an image of another size is resized to it, as decoded)."""

    def __init__(self, paths, labels, size, channels, mixed=False):
        self.paths, self.labels = list(paths), np.asarray(labels, "int32")
        self.size, self.channels, self.mixed = tuple(size), channels, mixed

    def __len__(self):
        return len(self.paths)

    def read(self, indices):
        return np.stack([_decode(self.paths[i], self.size, self.channels) for i in indices])

    def dataset(self):
        import tensorflow as tf

        size, channels = self.size, self.channels

        def read(path, label):
            image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
            if self.mixed:  # mixed sizes: bring every image to the most common one
                image = tf.cast(tf.image.resize(image, size), tf.uint8)
            return tf.ensure_shape(image, (*size, channels)), label

        pairs = tf.data.Dataset.from_tensor_slices((self.paths, self.labels))
        return pairs.map(read, tf.data.AUTOTUNE)

    def part(self, start, stop=None):
        return FileSplit(self.paths[start:stop], self.labels[start:stop], self.size, self.channels, self.mixed)

    def cached(self):
        """The split decoded once into memory (what `cache=True` asks for)."""
        return ArraySplit(np.concatenate(list(self.chunks(len(self)))), self.labels)


class TfdsSplit(Split):
    """A split of a prepared tfds data set: read through TensorFlow, as a `tf.data.Dataset` only."""

    def __init__(self, builder, split, size, start=0, stop=None):
        self.builder, self.split, self.size, self.start, self.stop = builder, split, size, start, stop

    def __len__(self):
        return len(range(self.size)[self.start : self.stop])

    def read(self, indices):
        raise ValueError(_read_by_tensorflow(self.builder.name))

    def dataset(self):
        import tensorflow_datasets as tfds

        read = dict(as_supervised=True, read_config=tfds.ReadConfig(shuffle_seed=0), shuffle_files=False)
        dataset = self.builder.as_dataset(split=self.split, **read).skip(self.start)
        return dataset.take(self.stop - self.start) if self.stop is not None else dataset

    def part(self, start, stop=None):
        stop = len(self) if stop is None else stop
        return TfdsSplit(self.builder, self.split, self.size, self.start + start, self.start + stop)

    def spread(self, count):  # a tfds split is stored shuffled: its first images are a spread already
        return next(iter(self.dataset().batch(count).as_numpy_iterator()))

    def chunks(self, limit, size=256):
        for image, _ in self.dataset().take(limit).as_numpy_iterator():  # images of a tfds split may differ in size
            yield image[None]


@dataclasses.dataclass
class Source:
    """Train and test `Split`s of `(image, label)` pairs (images unbatched, any dtype, 0-255 or 0-1)."""

    name: str
    train_split: Split
    test_split: Split
    num_classes: int
    image_shape: tuple  # (height, width, channels); height/width None when images differ in size

    @property
    def train_size(self):
        return len(self.train_split)

    @property
    def test_size(self):
        return len(self.test_split)

    @property
    def train(self):
        """The training split as an unbatched `tf.data.Dataset` (needs TensorFlow)."""
        return self.train_split.dataset()

    @property
    def test(self):
        """The test split as an unbatched `tf.data.Dataset` (needs TensorFlow)."""
        return self.test_split.dataset()

    def stats(self, samples=5000):
        """Per-channel mean and standard deviation of (up to `samples`) training images, as float32 arrays."""
        total = np.zeros([3, self.image_shape[-1]])
        for images in self.train_split.chunks(samples):
            images = np.asarray(images, "float64")
            total[0] += images.sum(axis=(0, 1, 2))
            total[1] += np.square(images).sum(axis=(0, 1, 2))
            total[2] += images[..., 0].size
        mean = total[0] / total[2]
        std = np.sqrt(np.maximum(total[1] / total[2] - mean**2, 0.0))
        return mean.astype("float32"), np.maximum(std, 1e-3).astype("float32")


def load(dataset, *, data_dir=None, manual_dir=None, on_bad_image="skip", holdout=0.1, seed=0, classes=None):
    """Open a data set as a `Source`.

    Args:
        dataset: `"digits"`; a path to a folder of class sub-folders (`<dir>/train/<class>/*.jpg` and
            `<dir>/test/<class>/*.jpg`, or `<dir>/<class>/*.jpg` of which `holdout` is kept for testing);
            NumPy arrays `((x_train, y_train), (x_test, y_test))` as `keras.datasets` returns them, or one
            `(x, y)` pair of which `holdout` is kept for testing; or a tfds name such as `"cifar10"`.
        data_dir: tfds data directory holding a prepared copy (tfds' default when None).
        manual_dir: a folder with the data set's official files, from which tfds prepares `data_dir`
            without any download (see ../shared/data/README.md).
        on_bad_image: `"skip"` (report unreadable images by path and leave them out) or `"stop"`
            (raise a ValueError naming them). Folders are checked before training starts.
        holdout: fraction held out for testing when a folder or array pair has no test split.
        seed: seed of that hold-out split.
        classes: how many classes the labels must fit (e.g. a model's outputs); default: as many as
            the labels or class folders show.

    Returns:
        A `Source`.
    """
    if on_bad_image not in ("skip", "stop"):
        raise ValueError(f"on_bad_image={on_bad_image!r} is not valid: use 'skip' or 'stop'")
    source = _open(dataset, data_dir, manual_dir, on_bad_image, holdout, seed, classes)
    if classes is not None and source.num_classes > classes:
        raise ValueError(
            f"{source.name} has {source.num_classes} classes but classes={classes}: use a model with as many outputs."
        )
    return source


def _open(dataset, data_dir, manual_dir, on_bad_image, holdout, seed, classes):
    if isinstance(dataset, (tuple, list)):
        return _from_arrays("arrays", dataset, holdout, seed, classes)
    if not isinstance(dataset, (str, os.PathLike)):
        raise TypeError(f"dataset must be a name, a folder path or NumPy arrays, not {type(dataset).__name__}")
    if str(dataset) == "digits":
        return _from_arrays("digits", digits.load(), 0.25, 0, classes)
    if os.path.isdir(dataset):
        return _from_folder(pathlib.Path(dataset), on_bad_image, holdout, seed)
    if str(dataset).startswith((".", "/", "~")):  # a path; tfds names may hold "/" (builder configs)
        raise ValueError(f"dataset folder {str(dataset)!r} does not exist; give an existing folder or a tfds name")
    if keras.backend.backend() != "tensorflow":  # the PyDataset adapter reads by index, which tfds does not
        if str(dataset) in IDX and manual_dir is not None:
            return _from_idx(str(dataset), pathlib.Path(manual_dir))
        raise ValueError(_read_by_tensorflow(str(dataset)))
    return _from_tfds(str(dataset), data_dir, manual_dir)


def _read_by_tensorflow(name):
    return (
        f"dataset {name!r} is neither a folder nor 'digits', and tfds data sets are read through TensorFlow, which "
        f"the {keras.backend.backend()} backend's loader does not use: give the images as a folder of class "
        f"sub-folders or as NumPy arrays (for {', '.join(sorted(IDX))}: the official files with manual_dir= "
        "(--manual-dir)), or train with KERAS_BACKEND=tensorflow"
    )


def _holdout_split(x, y, holdout, seed):
    from sklearn.model_selection import train_test_split

    if not 0 < holdout < 1:
        raise ValueError(f"holdout={holdout} is not valid: it must be a fraction between 0 and 1")
    return train_test_split(x, y, test_size=holdout, random_state=seed, stratify=y)


def _from_arrays(name, arrays, holdout, seed, classes):
    if len(arrays) == 2 and all(isinstance(a, (tuple, list)) and len(a) == 2 for a in arrays):
        (x_train, y_train), (x_test, y_test) = arrays
        checks.check_arrays(x_train, y_train, "train ", classes)
        # The model has as many outputs as the training split has classes: a test label beyond them is
        # a class it never learnt, which would be scored as always wrong.
        learnt = classes if classes is not None or not len(y_train) else int(np.max(y_train)) + 1
        checks.check_arrays(x_test, y_test, "test ", learnt)
    elif len(arrays) == 2:
        checks.check_arrays(*arrays, "", classes)  # before the split, so that indices are the caller's
        x_train, x_test, y_train, y_test = _holdout_split(np.asarray(arrays[0]), np.asarray(arrays[1]), holdout, seed)
    else:
        raise ValueError("arrays must be ((x_train, y_train), (x_test, y_test)) or (x, y)")
    x_train, x_test = np.asarray(x_train), np.asarray(x_test)
    y_train, y_test = np.asarray(y_train).reshape(-1), np.asarray(y_test).reshape(-1)
    if x_train.ndim == 3:  # grey-scale (n, h, w), as keras.datasets.mnist gives
        x_train, x_test = x_train[..., None], x_test[..., None]
    if x_train.ndim != 4 or x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"images must be (n, height, width, channels) arrays, got {x_train.shape} and {x_test.shape}")
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError(
            f"{len(x_train)} train images with {len(y_train)} labels, {len(x_test)} test with {len(y_test)}"
        )
    return Source(
        name,
        ArraySplit(x_train, y_train),
        ArraySplit(x_test, y_test),
        int(max(y_train.max(), y_test.max())) + 1,
        x_train.shape[1:],
    )


def _read_idx(path):
    """An array from an idx file (MNIST's format: zero bytes, a type byte, the rank, big-endian sizes, the data)."""
    with gzip.open(path) if path.suffix == ".gz" else open(path, "rb") as file:
        raw = file.read()
    if raw[:3] != b"\x00\x00\x08":  # unsigned bytes, the only type MNIST's files hold
        raise ValueError(f"{path} is not an idx file of unsigned bytes")
    shape = np.frombuffer(raw, ">u4", count=raw[3], offset=4)
    return np.frombuffer(raw, "uint8", offset=4 + 4 * raw[3]).reshape(shape)


def _from_idx(name, folder):
    """MNIST or Fashion-MNIST from their four official files in `folder` (.gz or not), as tfds would read them."""

    def find(stem):
        for path in (folder / f"{stem}.gz", folder / stem):
            if path.is_file():
                return path
        raise ValueError(f"{folder} does not hold {stem}.gz, one of the official files of {name}")

    images, labels = (
        [_read_idx(find(f"{split}-{kind}")) for split in ("train", "t10k")]
        for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
    )
    return _from_arrays(name, [(images[0], labels[0]), (images[1], labels[1])], None, 0, None)


def _converts(mode, channels):
    """Whether decoding an image of PIL `mode` to `channels` changes it: grey made RGB, or alpha dropped."""
    return (mode in GREY and channels == 3) or mode.endswith("A")


def _check_image(path):
    """(size, mode) of an image, or the reason it cannot be read."""
    from PIL import Image

    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # a name in another encoding: Python keeps it, TensorFlow's file reader cannot
        return None, "its file name is not UTF-8, which TensorFlow cannot open: rename it"

    try:
        with Image.open(path) as image:
            image.load()  # decodes every pixel: truncated files fail here, not mid-epoch
            return image.size[::-1], image.mode
    except Exception as error:  # PIL raises many types for bad files; each is reported by path
        return None, f"{type(error).__name__}: {error}"


def _list_classes(root):
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    files = [(str(f), index) for index, c in enumerate(classes) for f in sorted((root / c).iterdir())]
    return classes, [(f, i) for f, i in files if f.lower().endswith(IMAGE_SUFFIXES)]


def read_folder(root, image_shape=None):
    """Every image of a folder of class sub-folders (e.g. CIFAR-10's `test/`), in sorted order, as arrays.

    Args:
        root: the folder; its sub-folders, sorted by name, are the classes 0, 1, ...
        image_shape: (height, width, channels) to bring the images to (a model's input); default: the first
            image's size, 3 channels.

    Returns:
        `(x, y)`: float32 0-255 pixels (N, height, width, channels), what models trained by keras_resnet take,
        and int32 labels.
    """
    root = pathlib.Path(root)
    classes, files = _list_classes(root)
    if len(classes) < 2 or not files:
        raise ValueError(f"{root} must hold one sub-folder of images per class (found {len(classes)} classes)")
    if image_shape is None:
        size, _ = _check_image(files[0][0])
        if size is None:
            raise ValueError(f"{files[0][0]} cannot be read: fix or remove it")
        image_shape = (*size, 3)
    paths, labels = zip(*files)
    decoded = FileSplit(paths, labels, image_shape[:2], image_shape[2]).cached()
    return decoded.images.astype("float32"), decoded.labels


def _from_folder(root, on_bad_image, holdout, seed):
    if (root / "train").is_dir() and (root / "test").is_dir():
        classes, train = _list_classes(root / "train")
        test_classes, test = _list_classes(root / "test")
        if test_classes != classes:
            raise ValueError(f"{root}/test has classes {test_classes} but {root}/train has {classes}")
    else:
        classes, files = _list_classes(root)
        if len(classes) < 2:
            raise ValueError(f"{root} must hold one sub-folder of images per class (found {len(classes)} classes)")
        paths, labels = zip(*files) if files else ((), ())
        p_train, p_test, l_train, l_test = _holdout_split(list(paths), list(labels), holdout, seed)
        train, test = list(zip(p_train, l_train)), list(zip(p_test, l_test))
    if not train or not test:
        raise ValueError(f"{root} holds no {'/'.join(IMAGE_SUFFIXES)} images in its class sub-folders")
    with concurrent.futures.ThreadPoolExecutor() as pool:
        checks = dict(zip([f for f, _ in train + test], pool.map(_check_image, [f for f, _ in train + test])))
    bad = {f: reason for f, (size, reason) in checks.items() if size is None}
    if bad:
        listing = "; ".join(
            f"{f.encode('utf-8', 'backslashreplace').decode()} ({reason})" for f, reason in sorted(bad.items())
        )
        if on_bad_image == "stop":
            raise ValueError(f"{len(bad)} unreadable image(s): {listing}; fix or remove them, or skip them")
        print(f"keras_resnet.training.data: skipping {len(bad)} unreadable image(s): {listing}", file=sys.stderr)
        train, test = [(f, i) for f, i in train if f not in bad], [(f, i) for f, i in test if f not in bad]
    found = collections.Counter(label for _, label in train)
    empty = [c for i, c in enumerate(classes) if not found[i]]
    if empty:
        raise ValueError(
            f"class folder(s) {empty} in {root} hold no readable training images: add images or remove the folder(s)."
        )
    # Folders list one class after another; a shuffle buffer smaller than the split (tf.data's, 10,000 of
    # CIFAR's 50,000) would then fill early batches from the first classes only. Mixed once, seeded.
    train = [train[i] for i in np.random.default_rng(seed).permutation(len(train))]
    good = [checks[f] for f, _ in train + test if f not in bad]
    channels = 1 if all(mode in GREY for _, mode in good) else 3
    # Like torchvision's ImageFolder, bring every image to the data set's channels, but say so.
    changed = sorted(f for f, _ in train + test if f not in bad and _converts(checks[f][1], channels))
    if changed:
        more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        listing = "; ".join(f"{f} ({checks[f][1]})" for f in changed[:5]) + more
        print(
            f"keras_resnet.training.data: reading {len(changed)} image(s) as RGB "
            "(grey copied to 3 channels, alpha dropped): "
            f"{listing}",
            file=sys.stderr,
        )
    sizes = collections.Counter(size for size, _ in good)
    size = sizes.most_common(1)[0][0]

    def split(pairs):
        paths, labels = zip(*pairs)
        return FileSplit(paths, labels, size, channels, mixed=len(sizes) > 1)

    return Source(str(root), split(train), split(test), len(classes), (*size, channels))


def _decode(path, size, channels):
    """An image file as a uint8 (height, width, channels) array, as `tf.io.decode_image` gives it: grey copied to
    RGB or RGB made grey as asked, alpha dropped, 16-bit grey scaled to 8 bits; resized (bilinear) to `size`."""
    from PIL import Image

    with Image.open(path) as image:
        if image.mode.startswith("I;16"):
            image = Image.fromarray((np.asarray(image) >> 8).astype("uint8"), "L")
        pixels = np.asarray(image.convert("L" if channels == 1 else "RGB"))
    pixels = pixels[..., None] if channels == 1 else pixels
    if pixels.shape[:2] != tuple(size):
        pixels = resize(pixels.astype("float32"), size).astype("uint8")
    return pixels


def _from_tfds(name, data_dir, manual_dir):
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(f"dataset {name!r} is neither a folder nor a tfds name; {OFFLINE_OPTIONS}") from None
    # Checked before anything could reach for the network: tfds would otherwise try to download.
    if not builder.is_prepared():
        if manual_dir is None:
            raise ValueError(
                f"tfds data set {name!r} is not prepared in {builder.data_dir} and this package never downloads; "
                + OFFLINE_OPTIONS
            )
        extract = pathlib.Path(builder.data_dir).parent / f"extracted_{name.replace('/', '_')}"  # one per data set
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(
                manual_dir=str(manual_dir), extract_dir=str(extract), try_download_gcs=False
            )
        )
    info = builder.info
    if not info.supervised_keys:
        raise ValueError(f"tfds data set {name!r} has no (image, label) supervised keys to classify")
    image_key, label_key = info.supervised_keys
    splits = list(info.splits.keys()) or ["train", "test"]  # mocked builders list no splits
    test_split = next((s for s in ("test", "validation") if s in splits), None)
    if "train" not in splits or test_split is None:
        raise ValueError(f"tfds data set {name!r} needs 'train' and 'test' (or 'validation') splits, has {splits}")

    def size(split):
        return info.splits[split].num_examples if split in info.splits else 0

    return Source(
        name,
        TfdsSplit(builder, "train", size("train")),
        TfdsSplit(builder, test_split, size(test_split)),
        info.features[label_key].num_classes,
        tuple(info.features[image_key].shape),
    )


def recipe_options(recipe, source, seed=0):
    """The `pipeline` arguments a `keras_resnet.training.recipes.Recipe` asks for, for a data set.

    Args:
        recipe: the recipe (augmentation, padding, flips, image size, caching, one-hot labels, batch mixers).
        source: the `Source` (its name decides the default of flips, its classes the one-hot width).
        seed: the seed of every random crop, flip and mix.

    Returns:
        A dict of `pipeline` keyword arguments (all but `training` and `batch_size`).
    """
    flip = recipe.flip if recipe.flip is not None else source.name not in ORIENTED
    return dict(
        augment=recipe.augment,
        pad=recipe.pad,
        flip=flip,
        image_size=recipe.image_size,
        seed=seed,
        cache=recipe.cache,
        classes=source.num_classes if recipe.one_hot else None,
        randaugment=recipe.randaugment,
        mixup=recipe.mixup,
        cutmix=recipe.cutmix,
    )


def pipeline(
    dataset,
    *,
    training,
    batch_size,
    stats=None,
    augment="cifar",
    pad=None,
    flip=True,
    image_size=None,
    seed=0,
    shuffle_buffer=10000,
    repeat=None,
    cache=False,
    classes=None,
    randaugment=0,
    mixup=0.0,
    cutmix=0.0,
):
    """Batches of `(float32 image, int32 label)` for `model.fit` as a tf.data pipeline, with the papers' augmentations.

    Images keep their pixel values (0-255) unless `stats` is given: `keras_resnet.training.train` puts the
    normalisation into the model instead, so that the saved model takes raw pixels.

    Args:
        dataset: unbatched `(image, label)` pairs, e.g. `Source.train`.
        training: shuffle and augment (train) or only resize and normalise (evaluation).
        batch_size: the global batch size.
        stats: optional `(mean, std)` per channel from `Source.stats()`: images become `(image - mean) / std`.
        augment: `"cifar"` (He 2015: pad by `pad` pixels, random crop back, random horizontal flip),
            `"imagenet"` (random-resized crop to `image_size` with 8%-100% of the area and aspect
            3/4-4/3, flip; evaluation resizes the short side to `image_size / 0.875` and crops the
            center, 256 -> 224) or `"none"`.
        pad: padding of the CIFAR crop; None gives a 1/8 of the image side (4 pixels at 32x32).
        flip: random horizontal flips.
        image_size: output side for `"imagenet"` (224 when None); other augmentations keep the size.
        seed: seed of the shuffle and of every random crop and flip: the same seed gives the same batches.
        shuffle_buffer: elements in the shuffle buffer.
        repeat: repeat the data forever (default: when training), so that `steps_per_epoch` sets epochs.
        cache: keep the decoded images in memory after their first pass (tf.data's cache): a folder of JPEGs
            is then decoded once, not every epoch.
        classes: give one-hot labels of this many classes (needed by label smoothing, MixUp and CutMix).
        randaugment: RandAugment operations per training image (`keras.layers.RandAugment`, on 0-255 pixels).
        mixup, cutmix: MixUp's alpha and CutMix's factor (`keras.layers.MixUp`, `keras.layers.CutMix`) for
            training batches; 0 leaves them out. Both need `classes`.

    Returns:
        A batched, prefetched `tf.data.Dataset`.
    """
    import tensorflow as tf

    _check_augmentation(augment, mixup, cutmix, classes)
    AUTOTUNE = tf.data.AUTOTUNE
    mean, std = (tf.constant(s, tf.float32) for s in stats) if stats is not None else (0.0, 1.0)
    side = image_size or SIDE

    def train_map(seeds, example):
        image, label = example
        image = tf.cast(image, tf.float32)
        crop, mirror = seeds[0], seeds[1]
        if augment == "cifar":
            height, width, channels = image.shape
            margin = pad if pad is not None else max(1, height // 8)
            padded = tf.pad(image, [[margin, margin], [margin, margin], [0, 0]])
            image = tf.image.stateless_random_crop(padded, (height, width, channels), seed=crop)
        elif augment == "imagenet":
            begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
                tf.shape(image),
                tf.zeros([1, 0, 4]),
                seed=crop,
                min_object_covered=0.0,
                aspect_ratio_range=(3 / 4, 4 / 3),
                area_range=(0.08, 1.0),
                max_attempts=10,
                use_image_if_no_bounding_boxes=True,
            )
            image = tf.image.resize(tf.slice(image, begin, size), (side, side))
        if flip and augment != "none":
            image = tf.image.stateless_random_flip_left_right(image, seed=mirror)
        return (image - mean) / std, label

    def eval_map(image, label):
        image = tf.cast(image, tf.float32)
        if augment == "imagenet":
            shape = tf.cast(tf.shape(image)[:2], tf.float32)
            scaled = tf.cast(tf.round(shape * (side / 0.875) / tf.reduce_min(shape)), tf.int32)
            image = tf.image.resize(image, scaled)
            top, left = (scaled[0] - side) // 2, (scaled[1] - side) // 2
            image = image[top : top + side, left : left + side]
            image = tf.ensure_shape(image, (side, side, image.shape[-1]))
        return (image - mean) / std, label

    options = tf.data.Options()
    options.deterministic = True
    # Sharding by element works for every source (files or tensors) under MultiWorkerMirroredStrategy.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = dataset.with_options(options)
    if cache:
        dataset = dataset.cache()
    if training:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        if repeat is not False:
            dataset = dataset.repeat()
        # Per-element seeds from a seeded random stream make the parallel map deterministic.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(4, drop_remainder=True)
        seeds = seeds.map(lambda s: tf.reshape(s, (2, 2)))
        dataset = tf.data.Dataset.zip(seeds, dataset).map(train_map, num_parallel_calls=AUTOTUNE)
    else:
        if repeat:
            dataset = dataset.repeat()
        dataset = dataset.map(eval_map, num_parallel_calls=AUTOTUNE)
    dataset = dataset.batch(batch_size)
    if classes is not None:
        dataset = dataset.map(lambda image, label: (image, tf.one_hot(label, classes)), num_parallel_calls=AUTOTUNE)
    if training:  # Keras' own batch augmentations, each seeded, on the 0-255 pixels
        mixers = [keras.layers.RandAugment(value_range=(0, 255), num_ops=randaugment, seed=seed)] if randaugment else []
        mixers += [keras.layers.MixUp(alpha=mixup, seed=seed)] if mixup else []
        mixers += [keras.layers.CutMix(factor=cutmix, seed=seed)] if cutmix else []
        for mixer in mixers:
            dataset = dataset.map(
                lambda image, label, mixer=mixer: _mixed(mixer, image, label), num_parallel_calls=AUTOTUNE
            )
    return dataset.prefetch(AUTOTUNE)


def _mixed(layer, images, labels):
    if isinstance(layer, keras.layers.RandAugment):
        return layer(images, training=True), labels
    mixed = layer({"images": images, "labels": labels}, training=True)
    return mixed["images"], mixed["labels"]


def _check_augmentation(augment, mixup, cutmix, classes):
    if augment not in ("cifar", "imagenet", "none"):
        raise ValueError(f"augment={augment!r} is not valid: use 'cifar', 'imagenet' or 'none'")
    if (mixup or cutmix) and classes is None:
        raise ValueError("mixup and cutmix blend labels: give classes= so that the labels are one-hot")


def image_shape(source, augment="cifar", image_size=None, **options):
    """The shape of the images a source's batches hold: the source's, or `image_size` square for "imagenet".

    Args:
        source: a `Source`.
        augment, image_size: as for `pipeline`.
        **options: the other `pipeline` options (`recipe_options` gives them all), which keep the shape.

    Returns:
        A `(height, width, channels)` tuple.
    """
    if augment == "imagenet":
        return (image_size or SIDE, image_size or SIDE, source.image_shape[-1])
    return tuple(source.image_shape)


def resize(image, size):
    """Bilinear resize of one image, as `tf.image.resize` does (half-pixel centres, no antialiasing), in NumPy.

    Args:
        image: a float `(height, width, channels)` array.
        size: the `(height, width)` to resize to.

    Returns:
        A `(*size, channels)` array of the image's float type.
    """
    rows, columns = (_taps(out, size_in) for out, size_in in zip(size, image.shape[:2]))
    blended = image[rows[0]] * (1 - rows[2])[:, None, None] + image[rows[1]] * rows[2][:, None, None]
    return blended[:, columns[0]] * (1 - columns[2])[None, :, None] + blended[:, columns[1]] * columns[2][None, :, None]


def _taps(out, size):
    """For each of `out` output pixels, the two input pixels it blends (of `size`) and the second one's weight."""
    x = np.clip((np.arange(out) + 0.5) * size / out - 0.5, 0, size - 1)
    low = np.floor(x).astype(int)
    return low, np.minimum(low + 1, size - 1), (x - low).astype("float32")


def _crops(images, margin, tops, lefts):
    """The He 2015 crop of each image: padded by `margin` zeros, then cut back to its size at (top, left)."""
    height, width = images.shape[1:3]
    padded = np.pad(images, ((0, 0), (margin, margin), (margin, margin), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (height, width), axis=(1, 2))
    return np.moveaxis(windows[np.arange(len(images)), tops, lefts], 1, -1)


def _resized_crop(image, rng, side):
    """Inception's crop (Szegedy et al. 2015): 8%-100% of the area at an aspect of 3/4-4/3 (ten tries, else the
    whole image), resized to side x side."""
    height, width = image.shape[:2]
    for _ in range(10):
        area = rng.uniform(0.08, 1.0) * height * width
        aspect = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        h, w = round(math.sqrt(area / aspect)), round(math.sqrt(area * aspect))
        if 0 < h <= height and 0 < w <= width:
            top, left = rng.integers(0, height - h + 1), rng.integers(0, width - w + 1)
            return resize(image[top : top + h, left : left + w], (side, side))
    return resize(image, (side, side))


def _center_crop(image, side):
    """Evaluation's resize of the short side to side / 0.875, then the centre side x side (256 -> 224)."""
    shape = np.array(image.shape[:2])
    scaled = np.round(shape * (side / 0.875) / shape.min()).astype(int)
    image = resize(image, scaled)
    top, left = (scaled - side) // 2
    return image[top : top + side, left : left + side]


@functools.lru_cache(maxsize=4)
def _order(seed, size, epoch):
    """The examples of one pass over a split of `size`, shuffled under `seed`."""
    return np.random.default_rng([seed, 0, epoch]).permutation(size)


class Batches(keras.utils.PyDataset):
    """Batches of `(float32 image, int32 label)` for `model.fit` as a `keras.utils.PyDataset`, made in NumPy by
    worker threads: the same sources, augmentations and options as `pipeline`, without TensorFlow.

    Training batches follow a stream of passes over the split, each pass a fresh seeded permutation (a shuffle
    of the whole split, which `pipeline`'s buffer approximates), cut into batches of `batch_size`; a batch and its
    random crops and flips depend only on the seed and its step, never on which worker made it or when, so a
    resumed run gets the batches it would have had. Under data parallelism over several hosts each host makes its
    `shard` of every global batch. Keras moves the epoch on through `Epochs`, a callback `keras_resnet.training`
    adds.

    The worker threads are this class's, not Keras' (`PyDataset(workers=1)`: Keras then asks for batches 0, 1, ...
    of each epoch in order): Keras' enqueuer keeps the batches it made ahead when an epoch ends and serves them
    in the next one, which mixes epochs when batches change from epoch to epoch, as here. These threads make
    the next batches ahead by (epoch, index), across the end of an epoch too, and drop any that Keras does not ask
    for (a resumed run starts at a later epoch).

    Data parallelism needs batches that split evenly over the devices: with `replicas` > 1, an evaluation batch
    that does not (the last one) is padded with copies of its last image, and evaluation batches carry sample
    weights, 1 for each image and 0 for the copies, so that accuracy (a weighted metric, see
    `keras_resnet.training.optimizer.compile_model`) counts every test image once. The loss counts each copy as
    a loss of 0: at most `replicas` - 1 images in the whole test split.

    Args:
        split: a `Split` (e.g. `Source.train_split`).
        training: make training batches (shuffled, augmented) or evaluation batches.
        batch_size: the global batch size.
        stats, augment, pad, flip, image_size, seed, cache, classes, randaugment, mixup, cutmix: as for `pipeline`.
        steps: batches in an epoch of training (default: one pass); evaluation takes every example once, the
            last batch smaller.
        shard: `(index, count)`: this host makes the `index`-th of `count` equal parts of each batch.
        replicas: devices each batch is split over (all hosts'), for the padding of evaluation batches.
        workers: threads making batches (default: one per core, at most 8).
    """

    def __init__(
        self,
        split,
        *,
        training,
        batch_size,
        steps=None,
        stats=None,
        augment="cifar",
        pad=None,
        flip=True,
        image_size=None,
        seed=0,
        cache=False,
        classes=None,
        randaugment=0,
        mixup=0.0,
        cutmix=0.0,
        shard=(0, 1),
        replicas=1,
        workers=None,
    ):
        _check_augmentation(augment, mixup, cutmix, classes)
        if batch_size % shard[1]:
            raise ValueError(f"batch_size={batch_size} does not split into {shard[1]} equal parts, one per host")
        super().__init__(workers=1, use_multiprocessing=False)
        workers = workers or min(8, checks.cores())
        self.pool = concurrent.futures.ThreadPoolExecutor(workers)
        self.ahead, self.made = 2 * workers, {}  # batches made ahead, by (epoch, index)
        self.split = split.cached() if cache and isinstance(split, FileSplit) else split
        self.training, self.batch_size, self.seed, self.shard, self.epoch = training, batch_size, seed, shard, 0
        self.replicas = replicas
        self.steps = steps or math.ceil(len(split) / batch_size)
        self.stats = tuple(np.asarray(s, "float32") for s in stats) if stats is not None else None
        self.augment, self.pad, self.flip, self.side = augment, pad, flip, image_size or SIDE
        self.classes, self.randaugment, self.mixup, self.cutmix = classes, randaugment, mixup, cutmix

    def __len__(self):
        return self.steps if self.training else math.ceil(len(self.split) / self.batch_size)

    def __getitem__(self, index):
        if index >= len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        keys = [divmod(self.epoch * len(self) + index + ahead, len(self)) for ahead in range(self.ahead + 1)]
        for key in set(self.made) - set(keys):
            self.made.pop(key).cancel()
        for key in keys:
            if key not in self.made:
                self.made[key] = self.pool.submit(self._batch, *key)
        return self.made.pop(keys[0]).result()

    def _examples(self, epoch, index):
        """Indices into the split of this host's part of batch `index` of `epoch`, the batch's random generator
        (None in evaluation) and the examples' weights (0 for padding)."""
        if not self.training:
            start = index * self.batch_size
            examples = np.arange(start, min(start + self.batch_size, len(self.split)))
            copies = -len(examples) % self.replicas
            weights = np.concatenate([np.ones(len(examples), "float32"), np.zeros(copies, "float32")])
            examples = np.concatenate([examples, np.repeat(examples[-1:], copies)])
            part = len(examples) // self.shard[1]
            mine = slice(self.shard[0] * part, (self.shard[0] + 1) * part)
            return examples[mine], None, weights[mine]
        part = self.batch_size // self.shard[1]
        step = epoch * self.steps + index
        at = step * self.batch_size + self.shard[0] * part + np.arange(part)
        size = len(self.split)
        passes = at // size
        examples = np.empty(part, int)
        for epoch in np.unique(passes):
            examples[passes == epoch] = _order(self.seed, size, int(epoch))[at[passes == epoch] % size]
        return examples, np.random.default_rng([self.seed, 1, step]), None

    def _batch(self, epoch, index):
        examples, rng, weights = self._examples(epoch, index)
        images = np.asarray(self.split.read(examples), "float32")
        if rng is not None:
            images = self._augmented(images, rng)
        elif self.augment == "imagenet":
            images = np.stack([_center_crop(image, self.side) for image in images])
        if self.stats is not None:
            images = (images - self.stats[0]) / self.stats[1]
        labels = self.split.labels[examples]
        if self.classes is not None:
            labels = np.eye(self.classes, dtype="float32")[labels]
        if rng is not None:
            images, labels = self._mixed(images, labels, rng)
        return (images, labels) if self.replicas == 1 or self.training else (images, labels, weights)

    def _augmented(self, images, rng):
        # The draws are made for the whole global batch and this host takes its part: the same images as on one host.
        whole, part = self.batch_size, self.batch_size // self.shard[1]
        mine = slice(self.shard[0] * part, (self.shard[0] + 1) * part)
        if self.augment == "cifar":
            margin = self.pad if self.pad is not None else max(1, images.shape[1] // 8)
            tops, lefts = rng.integers(0, 2 * margin + 1, (2, whole))[:, mine]
            images = _crops(images, margin, tops, lefts)
        elif self.augment == "imagenet":
            seeds = rng.integers(0, 2**63, whole)[mine]
            images = np.stack([_resized_crop(i, np.random.default_rng(s), self.side) for i, s in zip(images, seeds)])
        mirrored = rng.random(whole)[mine] < 0.5
        if self.flip and self.augment != "none":
            images[mirrored] = images[mirrored, :, ::-1]
        return images

    def _mixed(self, images, labels, rng):
        """Keras' own batch augmentations on the backend, each seeded for this batch."""
        seeds = rng.integers(0, 2**31, 3)
        mixers = [keras.layers.RandAugment(value_range=(0, 255), num_ops=self.randaugment, seed=int(seeds[0]))]
        mixers += [keras.layers.MixUp(alpha=self.mixup, seed=int(seeds[1]))]
        mixers += [keras.layers.CutMix(factor=self.cutmix, seed=int(seeds[2]))]
        for mixer, used in zip(mixers, (self.randaugment, self.mixup, self.cutmix)):
            if used:
                images, labels = (keras.ops.convert_to_numpy(x) for x in _mixed(mixer, images, labels))
        return images, labels


class Epochs(keras.callbacks.Callback):
    """Tell training `Batches` which epoch `model.fit` begins (also the first epoch of a resumed run)."""

    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.epoch = epoch

    def __deepcopy__(self, memo):
        return Epochs(self.batches)  # keras-tuner copies callbacks for each trial: the copies follow the same batches


def feed(split, *, training, batch_size, steps=None, shard=(0, 1), replicas=1, **options):
    """The batches `model.fit` takes on this Keras backend, with the options of `pipeline`.

    Args:
        split: a `Split` (e.g. `Source.train_split`).
        training, batch_size: as for `pipeline`.
        steps: batches in an epoch of training (`Batches` only; a `pipeline` repeats forever).
        shard, replicas: this host's part of each batch, the devices a batch is split over (`Batches` only;
            tf.distribute shards and splits a pipeline itself).
        **options: `pipeline` options (`recipe_options` gives a recipe's).

    Returns:
        A `pipeline` (tf.data) on the TensorFlow backend, `Batches` (a PyDataset) on JAX and PyTorch.
    """
    if keras.backend.backend() == "tensorflow":
        return pipeline(split.dataset(), training=training, batch_size=batch_size, **options)
    return Batches(
        split, training=training, batch_size=batch_size, steps=steps, shard=shard, replicas=replicas, **options
    )
