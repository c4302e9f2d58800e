"""Input pipelines with tf.data (TensorFlow-only module): data sources and the papers' augmentations.

A *source* is where images come from: a tfds name (read from `data_dir`, never downloaded), a local
folder with one sub-folder per class, NumPy arrays, or `"digits"` (scikit-learn's 1,797 bundled 8x8
digits, real images that are always available). `load()` turns any of them into a `Source` of
`(image, label)` datasets; `pipeline()` adds shuffling, augmentation, normalisation, batching and
prefetching with `AUTOTUNE`, deterministic under a seed.

    source = keras_resnet.training.data.load("digits")
    train = keras_resnet.training.data.pipeline(source.train, training=True, batch_size=64)
"""

import collections
import concurrent.futures
import dataclasses
import os
import pathlib
import sys

import keras
import numpy as np
import tensorflow as tf

from keras_resnet.training import digits
from keras_resnet.utils import checks

AUTOTUNE = tf.data.AUTOTUNE
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")  # what tf.io.decode_image reads
GREY = ("L", "1", "I;16")  # PIL modes of one-channel images
# Hand-written digits change class when mirrored (a flipped 2 reads as a 5), so "flip=None" leaves them alone.
ORIENTED = {"digits", "mnist", "emnist", "kmnist", "svhn_cropped"}
OFFLINE_OPTIONS = (
    "pass data_dir= (--data-dir) holding a prepared tfds copy, manual_dir= (--manual-dir) holding the "
    "official files (e.g. ../shared/data/mnist), a folder with one sub-folder per class, NumPy arrays "
    "((x_train, y_train), (x_test, y_test)), or 'digits'"
)


@dataclasses.dataclass
class Source:
    """Train and test datasets of `(image, label)` pairs (images unbatched, any dtype, 0-255 or 0-1)."""

    name: str
    train: tf.data.Dataset
    test: tf.data.Dataset
    num_classes: int
    image_shape: tuple  # (height, width, channels); height/width None when images differ in size
    train_size: int
    test_size: int

    def stats(self, samples=5000):
        """Per-channel mean and standard deviation of (up to `samples`) training images, as float32 arrays."""
        sums = self.train.take(samples).map(
            lambda image, label: tf.stack(
                [
                    tf.reduce_sum(tf.cast(image, tf.float64), axis=(0, 1)),
                    tf.reduce_sum(tf.square(tf.cast(image, tf.float64)), axis=(0, 1)),
                    tf.fill([image.shape[-1]], tf.cast(tf.shape(image)[0] * tf.shape(image)[1], tf.float64)),
                ]
            ),
            num_parallel_calls=AUTOTUNE,
        )
        total = sums.reduce(tf.zeros([3, self.image_shape[-1]], tf.float64), lambda a, b: a + b).numpy()
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
    return _from_tfds(str(dataset), data_dir, manual_dir)


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
        tf.data.Dataset.from_tensor_slices((x_train, y_train.astype("int32"))),
        tf.data.Dataset.from_tensor_slices((x_test, y_test.astype("int32"))),
        int(max(y_train.max(), y_test.max())) + 1,
        x_train.shape[1:],
        len(x_train),
        len(x_test),
    )


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

    def read(path, label):
        image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        if len(sizes) > 1:  # mixed sizes: bring every image to the most common one
            image = tf.cast(tf.image.resize(image, size), tf.uint8)
        return tf.ensure_shape(image, (*size, channels)), label

    def dataset(pairs):
        paths, labels = zip(*pairs)
        return tf.data.Dataset.from_tensor_slices((list(paths), np.array(labels, "int32"))).map(read, AUTOTUNE)

    return Source(str(root), dataset(train), dataset(test), len(classes), (*size, channels), len(train), len(test))


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
    read = dict(as_supervised=True, read_config=tfds.ReadConfig(shuffle_seed=0), shuffle_files=False)

    def size(split):
        return info.splits[split].num_examples if split in info.splits else 0

    return Source(
        name,
        builder.as_dataset(split="train", **read),
        builder.as_dataset(split=test_split, **read),
        info.features[label_key].num_classes,
        tuple(info.features[image_key].shape),
        size("train"),
        size(test_split),
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
    """Batches of `(float32 image, int32 label)` for `model.fit`, with the papers' augmentations.

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
    if augment not in ("cifar", "imagenet", "none"):
        raise ValueError(f"augment={augment!r} is not valid: use 'cifar', 'imagenet' or 'none'")
    if (mixup or cutmix) and classes is None:
        raise ValueError("mixup and cutmix blend labels: give classes= so that the labels are one-hot")
    mean, std = (tf.constant(s, tf.float32) for s in stats) if stats is not None else (0.0, 1.0)
    side = image_size or 224

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
