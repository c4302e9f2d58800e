"""keras_resnet.training.data: every source, the papers' augmentations, determinism and offline failures."""

import os
import pathlib
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from keras_resnet.training import data

SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"
if not SHARED.exists():
    SHARED = pathlib.Path("/work/shared/data")


def first_batch(dataset):
    images, labels = next(iter(dataset))
    return images.numpy(), labels.numpy()


def test_digits_are_real_images_with_a_stratified_split():
    source = data.load("digits")
    assert (source.num_classes, tuple(source.image_shape), source.train_size, source.test_size) == (
        10,
        (8, 8, 1),
        1347,
        450,
    )
    mean, std = source.stats()
    assert 60 < mean[0] < 100 and 80 < std[0] < 110  # dark background, bright strokes on a 0..255 scale


def test_pipeline_is_deterministic_under_a_seed_and_normalises():
    source = data.load("digits")
    stats = source.stats()
    a, b, c = (data.pipeline(source.train, training=True, batch_size=32, stats=stats, seed=s) for s in (1, 1, 2))
    x, y = first_batch(a)
    assert x.shape == (32, 8, 8, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x, first_batch(b)[0])
    assert not np.array_equal(x, first_batch(c)[0])
    test_images, _ = first_batch(data.pipeline(source.test, training=False, batch_size=450, stats=stats))
    assert abs(test_images.mean()) < 0.1 and 0.9 < test_images.std() < 1.1


def test_cifar_augmentation_crops_padded_images_and_flips():
    image = np.arange(8 * 8 * 3, dtype="uint8").reshape(1, 8, 8, 3).repeat(64, axis=0)
    source = data.load(((image, np.zeros(64)), (image[:4], np.zeros(4))))
    stats = (np.zeros(3, "float32"), np.ones(3, "float32"))
    x, _ = first_batch(data.pipeline(source.train, training=True, batch_size=64, stats=stats, pad=2))
    # Every crop is an 8x8 window of the image padded by 2 zeros, possibly mirrored: pixels are kept or zero.
    assert x.shape == (64, 8, 8, 3) and set(np.unique(x)) <= set(range(192))
    assert len({crop.tobytes() for crop in x}) > 10
    assert any((crop == 0).all(axis=(1, 2)).any() for crop in x)  # some crops show the zero padding
    x, _ = first_batch(data.pipeline(source.train, training=True, batch_size=64, stats=stats, pad=0))
    mirrored = [np.array_equal(crop, image[0][:, ::-1]) for crop in x]
    assert all(m or np.array_equal(crop, image[0]) for m, crop in zip(mirrored, x)) and 10 < sum(mirrored) < 54
    shape = first_batch(
        data.pipeline(source.test, training=False, batch_size=4, stats=stats, augment="imagenet", image_size=16)
    )[0].shape
    assert shape == (4, 16, 16, 3)


def test_one_hot_labels_and_keras_batch_mixers_and_the_decoded_once_cache():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (64, 8, 8, 3), dtype="uint8"), np.arange(64) % 4
    source = data.load(((x, y), (x[:8], y[:8])))
    plain = dict(training=True, batch_size=32, augment="none", flip=False, seed=0, shuffle_buffer=1, repeat=False)
    images, labels = first_batch(data.pipeline(source.train, classes=4, **plain))
    assert labels.shape == (32, 4) and set(np.unique(labels)) == {0.0, 1.0}  # one-hot, for label smoothing
    np.testing.assert_array_equal(labels.argmax(-1), y[:32])
    mixed_images, mixed = first_batch(data.pipeline(source.train, classes=4, mixup=0.4, **plain))
    # MixUp blends image pairs and their labels by the same weight: rows stay distributions, most not one-hot.
    np.testing.assert_allclose(mixed.sum(-1), 1.0, rtol=1e-6)
    assert np.mean(mixed.max(-1) < 1.0) > 0.5 and not np.allclose(mixed_images, images)
    _, cut = first_batch(data.pipeline(source.train, classes=4, cutmix=1.0, **plain))
    np.testing.assert_allclose(cut.sum(-1), 1.0, rtol=1e-6)
    augmented, _ = first_batch(data.pipeline(source.train, randaugment=2, **plain))
    assert augmented.shape == images.shape and not np.allclose(augmented, images)
    with pytest.raises(ValueError, match="give classes="):
        data.pipeline(source.train, mixup=0.2, **plain)
    cached = data.pipeline(source.train, cache=True, **plain)
    np.testing.assert_array_equal(first_batch(cached)[0], first_batch(cached)[0])  # the second pass reads the cache


def test_arrays_pair_is_split_and_bad_arrays_are_refused():
    x, y = np.zeros((50, 4, 4)), np.arange(50) % 5
    source = data.load((x, y))
    assert (source.train_size, source.test_size, tuple(source.image_shape), source.num_classes) == (45, 5, (4, 4, 1), 5)
    with pytest.raises(ValueError, match="labels"):
        data.load(((x, y[:3]), (x, y)))
    with pytest.raises(ValueError, match="does not exist"):
        data.load("./no/such/folder")


def write_folder(root, bad=False):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for name in ("cat", "dog"):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(3):
                Image.fromarray(rng.integers(0, 255, (6, 6, 3), dtype="uint8")).save(folder / f"{i}.png")
    if bad:
        (root / "train" / "dog" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


def test_a_folder_of_class_folders_is_read_in_a_seeded_mixed_order(tmp_path):
    # A folder lists its classes one after the other; read in that order, a shuffle buffer smaller than the
    # split (10,000 of CIFAR's 50,000) would fill every early batch with the first classes only.
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for name in "abcde":
            (tmp_path / split / name).mkdir(parents=True)
            for i in range(20):
                Image.fromarray(rng.integers(0, 255, (4, 4, 3), dtype="uint8")).save(
                    tmp_path / split / name / f"{i}.png"
                )
    labels = [int(label) for _, label in data.load(str(tmp_path)).train]
    assert sorted(labels) == sorted(np.arange(100) // 20) and len(set(labels[:20])) >= 4
    assert labels == [int(label) for _, label in data.load(str(tmp_path)).train]  # the same order each time
    assert labels != [int(label) for _, label in data.load(str(tmp_path), seed=1).train]
    # The test images a run keeps with its answers (samples.npz) come from every class, not the first one.
    test = data.load(str(tmp_path)).test_split
    images, picked = test.spread(10)
    assert images.shape == (10, 4, 4, 3) and picked.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert len(test.spread(500)[1]) == 100


def test_a_study_reads_every_image_of_a_folder_in_sorted_order_as_pixels(tmp_path):
    # What `keras-resnet lesion --dataset <folder>` reads: all of it (no hold-out), brought to the model's input.
    rng = np.random.default_rng(0)
    pictures = {}
    for name in ("cat", "ant"):
        (tmp_path / name).mkdir()
        for i, side in enumerate((6, 9)):
            pictures[name, i] = rng.integers(0, 256, (side, side, 3), dtype="uint8")
            Image.fromarray(pictures[name, i]).save(tmp_path / name / f"{i}.png")
    x, y = data.read_folder(tmp_path, (6, 6, 3))
    assert x.dtype == np.float32 and x.shape == (4, 6, 6, 3) and y.tolist() == [0, 0, 1, 1]  # ant, then cat
    np.testing.assert_array_equal(x[0], pictures["ant", 0])  # its own size: the pixels as they are
    assert x[1].min() >= 0 and 1 < x[1].max() <= 255  # resized from 9x9, still 0-255
    grey, _ = data.read_folder(tmp_path, (6, 6, 1))
    assert grey.shape == (4, 6, 6, 1)
    assert data.read_folder(tmp_path)[0].shape == (4, 6, 6, 3)  # the first image's size
    with pytest.raises(ValueError, match="one sub-folder of images per class"):
        data.read_folder(tmp_path / "cat")


def test_folder_source_reports_and_skips_or_stops_on_corrupt_images(tmp_path, capsys):
    root = write_folder(tmp_path, bad=True)
    source = data.load(str(root))
    assert "broken.jpg" in capsys.readouterr().err
    assert (source.num_classes, tuple(source.image_shape), source.train_size, source.test_size) == (2, (6, 6, 3), 6, 6)
    assert sorted(int(label) for _, label in source.train) == [0, 0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match=r"1 unreadable image\(s\): .*broken\.jpg"):
        data.load(str(root), on_bad_image="stop")


def test_unprepared_tfds_name_fails_fast_naming_the_offline_options(tmp_path):
    start = time.perf_counter()
    with pytest.raises(ValueError, match="not prepared .* never downloads.*--data-dir.*folder.*arrays.*'digits'"):
        data.load("cifar10", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="neither a folder nor a tfds name"):
        data.load("cifar1O", data_dir=str(tmp_path))
    assert time.perf_counter() - start < 10
    assert not any(tmp_path.rglob("*.tfrecord*"))


def test_tfds_source_through_mock_data(tmp_path):
    with tfds.testing.mock_data(num_examples=20):
        source = data.load("mnist", data_dir=str(tmp_path), manual_dir=str(tmp_path))
        assert (source.num_classes, tuple(source.image_shape)) == (10, (28, 28, 1))
        x, y = first_batch(data.pipeline(source.train, training=True, batch_size=8, stats=source.stats(), flip=False))
    assert x.shape == (8, 28, 28, 1) and y.dtype == np.int64 and np.isfinite(x).all()


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "mnist").exists(), reason="../shared/data/mnist is not here")
def test_real_mnist_prepared_offline_from_the_official_files(tmp_path):
    source = data.load("mnist", data_dir=str(tmp_path), manual_dir=str(SHARED / "mnist"))
    assert (source.train_size, source.test_size, source.num_classes) == (60000, 10000, 10)
    mean, std = source.stats(samples=10000)
    assert abs(mean[0] - 33.3) < 1.5 and abs(std[0] - 78.6) < 2  # MNIST's well-known 0.1307 / 0.3081 x 255


def test_each_bad_or_converted_image_is_reported_by_path(tmp_path, capsys):
    root = write_folder(tmp_path)
    dog = root / "train" / "dog"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype="uint8")).save(dog / "whole.jpg")
    (dog / "truncated.jpg").write_bytes((dog / "whole.jpg").read_bytes()[:600])
    (dog / "whole.jpg").unlink()
    (dog / "empty.png").write_bytes(b"")
    rgba = rng.integers(0, 255, (6, 6, 4), dtype="uint8")
    Image.fromarray(rgba, "RGBA").save(dog / "rgba.png")
    grey = rng.integers(0, 255, (6, 6), dtype="uint8")
    Image.fromarray(grey, "L").save(dog / "grey.png")
    source = data.load(str(root))
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("keras_resnet.training.data: skipping 2 unreadable image(s): ")
    assert (
        f"{dog / 'empty.png'} (UnidentifiedImageError" in err[0]
        and f"{dog / 'truncated.jpg'} (OSError: Truncated" in err[0]
    )
    # Decision: grey and RGBA photos are still pictures of their class, so they are read as the data set's RGB
    # (as torchvision's ImageFolder does), and said so by path: nothing changes silently.
    assert err[1] == (
        f"keras_resnet.training.data: reading 2 image(s) as RGB (grey copied to 3 channels, alpha dropped): "
        f"{dog / 'grey.png'} (L); {dog / 'rgba.png'} (RGBA)"
    )
    images = {int(i): image.numpy() for i, (image, _) in enumerate(source.train)}
    assert source.train_size == 8 and tuple(source.image_shape) == (6, 6, 3)
    decoded = [image for image in images.values() if np.array_equal(image, rgba[..., :3])]
    assert len(decoded) == 1  # the RGB of the RGBA image, alpha dropped
    assert sum(np.array_equal(image, np.repeat(grey[..., None], 3, -1)) for image in images.values()) == 1


def test_a_class_folder_without_readable_images_is_refused_by_name(tmp_path):
    root = write_folder(tmp_path)
    (root / "train" / "bird").mkdir()
    (root / "test" / "bird").mkdir()
    with pytest.raises(ValueError, match=rf"class folder\(s\) \['bird'\] in {root} hold no readable training images"):
        data.load(str(root))
    (root / "train" / "bird" / "0.png").write_bytes(b"not an image")  # unreadable, so skipped: still empty
    with pytest.raises(ValueError, match=r"\['bird'\] .* hold no readable training images"):
        data.load(str(root))


@pytest.mark.parametrize(
    "bad, classes, message",
    [
        # a test split's labels must be among the training split's classes (0 to 4 here)
        (
            ("y", [7], -1),
            None,
            r"label -1 at index 7 is out of range: labels must be (whole numbers from 0|0 to 4 for 5 classes)\.",
        ),
        (("y", [3], 2.5), None, "label 2.5 at index 3 is out of range"),
        (("y", [9], 5), 5, "label 5 at index 9 is out of range: labels must be 0 to 4 for 5 classes."),
        (("x", [11], np.nan), None, r"image at index 11 holds NaN or Inf values \(1 such image\(s\)\): fix or remove"),
        (("x", [6, 4], -np.inf), None, r"image at index 4 holds NaN or Inf values \(2 such image"),
    ],
)
@pytest.mark.parametrize("split", ["", "train ", "test "])
def test_bad_labels_and_non_finite_images_are_refused_by_index(bad, classes, message, split):
    arrays = {"x": np.zeros((50, 4, 4, 1), "float32"), "y": np.arange(50) % 5}
    good = (arrays["x"].copy(), arrays["y"].copy())
    name, indices, value = bad
    arrays[name] = arrays[name].astype(np.result_type(arrays[name], value))
    arrays[name][indices] = value
    given = {"": (arrays["x"], arrays["y"]), "train ": ((arrays["x"], arrays["y"]), good)}
    given["test "] = (good, (arrays["x"], arrays["y"]))
    with pytest.raises(ValueError, match="^" + split + message):
        data.load(given[split], classes=classes)


# Promise: an image whose file name is not UTF-8 is reported by its path and skipped like any unreadable image,
# instead of aborting the whole data set.
def test_a_file_name_that_is_not_utf8_is_reported_and_skipped(tmp_path, capfd):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (6, 6, 3), dtype="uint8")).save(tmp_path / name / f"{i}.png")
    odd = os.path.join(os.fsencode(tmp_path / "cat"), b"caf\xe9.png")  # Latin-1, as an old camera wrote it
    with open(odd, "wb") as file:
        file.write((tmp_path / "cat" / "0.png").read_bytes())
    source = data.load(str(tmp_path), holdout=0.25)
    assert source.train_size + source.test_size == 8
    err = capfd.readouterr().err
    assert "skipping 1 unreadable image(s)" in err and "caf\\udce9.png" in err and "not UTF-8" in err
    assert len(list(source.train.as_numpy_iterator())) == source.train_size


# The PyDataset adapter (the JAX and PyTorch backends' feed): the same augmentations as the tf.data pipeline, made in
# NumPy, and batches that depend only on the seed and the step. Here on TensorFlow, so that both adapters are at hand.
def test_batches_make_the_pipelines_augmentations_in_numpy():
    image = np.arange(8 * 8 * 3, dtype="uint8").reshape(1, 8, 8, 3).repeat(64, axis=0)
    split = data.load(((image, np.zeros(64)), (image[:4], np.zeros(4)))).train_split
    x, y = data.Batches(split, training=True, batch_size=64, pad=2)[0]
    assert x.shape == (64, 8, 8, 3) and x.dtype == np.float32 and y.dtype == np.int32
    assert set(np.unique(x)) <= set(range(192)) and len({crop.tobytes() for crop in x}) > 10
    assert any((crop == 0).all(axis=(1, 2)).any() for crop in x)  # some crops show the zero padding
    x, _ = data.Batches(split, training=True, batch_size=64, pad=0)[0]
    mirrored = [np.array_equal(crop, image[0][:, ::-1]) for crop in x]
    assert all(m or np.array_equal(crop, image[0]) for m, crop in zip(mirrored, x)) and 10 < sum(mirrored) < 54
    x, _ = data.Batches(split, training=True, batch_size=64, pad=0, flip=False)[0]
    assert all(np.array_equal(crop, image[0]) for crop in x)
    for training in (True, False):
        x, _ = data.Batches(split, training=training, batch_size=4, augment="imagenet", image_size=16)[0]
        assert x.shape == (4, 16, 16, 3)
    # Evaluation batches are the images as they are, normalised when asked, every one once.
    stats = (np.full(3, 10.0, "float32"), np.full(3, 2.0, "float32"))
    test = data.Batches(split, training=False, batch_size=48, augment="none", stats=stats)
    assert len(test) == 2 and [len(test[i][0]) for i in range(2)] == [48, 16]
    np.testing.assert_allclose(test[1][0], (image[:16] - 10.0) / 2.0)


def test_batches_depend_only_on_seed_and_step_whatever_the_shards_or_the_order():
    source = data.load("digits")
    options = dict(training=True, batch_size=64, seed=3)
    first = data.Batches(source.train_split, **options)
    epoch0 = [first[i] for i in range(len(first))]
    # One pass over the data is a permutation of it: every image once per epoch (21 full batches of 1,347 images).
    assert len(first) == 22
    seen = np.concatenate([y for _, y in epoch0])[:1347]
    np.testing.assert_array_equal(np.sort(seen), np.sort(source.train_split.labels))
    first.epoch = 1
    epoch1 = first[0]
    again = data.Batches(source.train_split, **options)  # a resumed run: epoch 1 made without epoch 0 first
    again.epoch = 1
    np.testing.assert_array_equal(again[0][0], epoch1[0])
    assert not np.array_equal(epoch1[0], epoch0[0][0])  # each epoch its own order and crops
    assert not np.array_equal(data.Batches(source.train_split, **{**options, "seed": 4})[0][0], epoch0[0][0])
    # Two hosts make the two halves of the same global batch, with the same crops.
    halves = [data.Batches(source.train_split, shard=(k, 2), **options)[5] for k in (0, 1)]
    np.testing.assert_array_equal(np.concatenate([h[0] for h in halves]), epoch0[5][0])
    np.testing.assert_array_equal(np.concatenate([h[1] for h in halves]), epoch0[5][1])


def test_evaluation_batches_split_evenly_over_devices_with_weightless_padding():
    x, y = np.arange(13 * 4, dtype="uint8").reshape(13, 2, 2, 1), np.arange(13) % 3
    split = data.load(((x, y), (x, y))).test_split
    images, labels, weights = data.Batches(split, training=False, batch_size=16, augment="none", replicas=4)[0]
    assert len(images) == 16 and list(weights) == [1.0] * 13 + [0.0] * 3  # three copies of the last image
    np.testing.assert_array_equal(images[13:], np.repeat(x[12:].astype("float32"), 3, axis=0))
    hosts = [
        data.Batches(split, training=False, batch_size=16, augment="none", replicas=4, shard=(k, 2)) for k in (0, 1)
    ]
    assert [len(h[0][0]) for h in hosts] == [8, 8]
    with pytest.raises(IndexError):
        hosts[0][1]


def test_batches_one_hot_labels_keras_mixers_and_the_decoded_once_cache(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (64, 8, 8, 3), dtype="uint8"), np.arange(64) % 4
    split = data.load(((x, y), (x[:8], y[:8]))).train_split
    plain = dict(training=True, batch_size=32, augment="none", flip=False, classes=4)
    images, labels = data.Batches(split, **plain)[0]
    assert labels.shape == (32, 4) and set(np.unique(labels)) == {0.0, 1.0}
    mixed_images, mixed = data.Batches(split, mixup=0.4, **plain)[0]
    np.testing.assert_allclose(mixed.sum(-1), 1.0, rtol=1e-6)
    assert np.mean(mixed.max(-1) < 1.0) > 0.5 and not np.allclose(mixed_images, images)
    np.testing.assert_array_equal(mixed_images, data.Batches(split, mixup=0.4, **plain)[0][0])  # seeded per batch
    _, cut = data.Batches(split, cutmix=1.0, **plain)[0]
    np.testing.assert_allclose(cut.sum(-1), 1.0, rtol=1e-6)
    augmented, _ = data.Batches(split, randaugment=2, **plain)[0]
    assert augmented.shape == images.shape and not np.allclose(augmented, images)
    with pytest.raises(ValueError, match="give classes="):
        data.Batches(split, training=True, batch_size=8, mixup=0.2)
    folder = data.load(str(write_folder(tmp_path))).train_split
    cached = data.Batches(folder, training=False, batch_size=6, augment="none", cache=True)
    assert isinstance(cached.split, data.ArraySplit)
    np.testing.assert_array_equal(
        cached[0][0], data.Batches(folder, training=False, batch_size=6, augment="none")[0][0]
    )


def test_images_read_without_tensorflow_equal_tensorflows_decoding(tmp_path):
    """Pillow and NumPy read a folder (grey made RGB, alpha dropped, a mixed size resized) as tf.io does."""
    root = write_folder(tmp_path)
    rng = np.random.default_rng(2)
    Image.fromarray(rng.integers(0, 255, (6, 6, 4), dtype="uint8"), "RGBA").save(root / "train" / "cat" / "a.png")
    Image.fromarray(rng.integers(0, 255, (6, 6), dtype="uint8"), "L").save(root / "train" / "cat" / "g.png")
    Image.fromarray(rng.integers(0, 255, (9, 12, 3), dtype="uint8")).save(root / "train" / "dog" / "big.png")
    split = data.load(str(root)).train_split
    by_tf = np.stack([image for image, _ in split.dataset().as_numpy_iterator()])
    by_numpy = split.read(np.arange(len(split)))
    assert by_numpy.shape == by_tf.shape == (9, 6, 6, 3) and by_numpy.dtype == by_tf.dtype
    resized = [i for i, path in enumerate(split.paths) if path.endswith("big.png")]
    others = [i for i in range(len(split)) if i not in resized]
    np.testing.assert_array_equal(by_numpy[others], by_tf[others])
    assert np.abs(by_numpy[resized].astype(int) - by_tf[resized]).max() <= 1  # the same bilinear resize
    import tensorflow as tf

    image = rng.random((9, 12, 3), dtype=np.float32) * 255
    for size in ((6, 6), (20, 17), (9, 12)):
        np.testing.assert_allclose(data.resize(image, size), tf.image.resize(image, size).numpy(), atol=1e-3)


@pytest.mark.skipif(not (SHARED / "mnist").exists(), reason="../shared/data/mnist is not here")
def test_mnist_official_files_are_read_without_tfds():
    source = data._from_idx("mnist", SHARED / "mnist")
    assert (source.train_size, source.test_size, source.num_classes, tuple(source.image_shape)) == (
        60000,
        10000,
        10,
        (28, 28, 1),
    )
    mean, std = source.stats(samples=10000)
    assert abs(mean[0] - 33.3) < 1.5 and abs(std[0] - 78.6) < 2  # MNIST's well-known 0.1307 / 0.3081 x 255
