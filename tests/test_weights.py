"""Converted weights compute what the source computes: keras.applications files and torchvision state dicts.

Each source is built with random weights and randomised BN statistics and biases (so that bias folding and
the epsilon correction really matter), saved in the format users bring, converted, and run on the same
images: the outputs (logits) agree to 1e-4 in float32.
"""

import pathlib
import re

import h5py
import keras
import numpy as np
import pytest
from keras.src.legacy.saving import legacy_h5_format

import keras_resnet
from keras_resnet.cli import main

SIZE = (64, 64, 3)
TOLERANCE = 1e-4
KERAS_TARGET = {"": {}, "V2": {"use_bias": True, "stride_position": "last"}}


def randomise(model, seed=0):
    """Kernels of variance 1/fan_in (random ResNet-152 logits stay O(1)), non-zero biases/betas/means,
    gammas in [0.5, 1], variances in [0.5, 2]."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        name, shape = variable.path.rpartition("/")[2], tuple(variable.shape)
        if name == "kernel":
            value = rng.normal(0.0, np.sqrt(1.0 / np.prod(shape[:-1])), shape)
        elif name == "gamma":
            value = rng.uniform(0.5, 1.0, shape)
        elif name == "moving_variance":
            value = rng.uniform(0.5, 2.0, shape)
        else:
            value = rng.normal(0.0, 0.1, shape)
        variable.assign(value.astype("float32"))


def max_difference(source, target, images):
    """Max |source(images) - target(images)|, both called eagerly (tracing a ResNet for predict costs more)."""
    return float(np.abs(np.asarray(source(images, training=False)) - np.asarray(target(images, training=False))).max())


def keras_source(name, path):
    """keras.applications' model with random weights, saved as keras.applications caches it (legacy .h5)."""
    source = getattr(keras.applications, name)(weights=None, input_shape=SIZE, classifier_activation=None)
    randomise(source)
    if path.endswith(".weights.h5"):
        source.save_weights(path)
    else:
        with h5py.File(path, "w") as file:
            legacy_h5_format.save_weights_to_hdf5_group(file, source)
    return source


def check_keras(name, path, images, **options):
    """Save a randomised keras.applications `name` to `path`, convert it, compare."""
    source = keras_source(name, str(path))
    target = keras_resnet.build(
        name,
        weights=str(path),
        input_shape=SIZE,
        classifier_activation=None,
        weights_source="keras.applications",
        **options,
    )
    difference = max_difference(source, target, images)
    assert difference < TOLERANCE, f"{name}: max |difference| {difference}"
    return target


def test_keras_resnet50v2_weights_h5(tmp_path, images):
    """ResNetV2 strides in each stage's last block and has biases without a BN after them: use_bias=True."""
    check_keras("ResNet50V2", tmp_path / "v2.weights.h5", images(SIZE, 2), **KERAS_TARGET["V2"])
    with pytest.raises(ValueError, match="stride_position='last'"):
        keras_resnet.ResNet50V2(
            weights=str(tmp_path / "v2.weights.h5"),
            input_shape=SIZE,
            use_bias=True,
            weights_source="keras.applications",
        )
    with pytest.raises(ValueError, match="conv1_conv.*use_bias=True"):
        keras_resnet.ResNet50V2(
            weights=str(tmp_path / "v2.weights.h5"),
            input_shape=SIZE,
            stride_position="last",
            weights_source="keras.applications",
        )


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ResNet101", "ResNet152", "ResNet101V2", "ResNet152V2"])
def test_keras_applications_deep(tmp_path, images, name):
    check_keras(name, tmp_path / f"{name}.h5", images(SIZE, 2), **KERAS_TARGET["V2" if name.endswith("V2") else ""])


def test_keras_densenet121(tmp_path, images):
    """DenseNet's dense layers and transitions map onto keras.applications' conv{S}_block{b} and pool{S}."""
    check_keras("DenseNet121", tmp_path / "densenet121.weights.h5", images(SIZE, 2))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["DenseNet169", "DenseNet201"])
def test_keras_densenet_deep(tmp_path, images, name):
    check_keras(name, tmp_path / f"{name}.h5", images(SIZE, 2))


def test_a_keras_applications_weights_file_is_converted_only_when_its_source_is_named(tmp_path):
    """A `.weights.h5` is ours unless `weights_source` says otherwise: no silent second try as another format."""
    path = str(tmp_path / "resnet50.weights.h5")
    keras_source("ResNet50", path)
    with pytest.raises(
        ValueError, match=r"does not fit ResNet50: only part of it would load.*pass weights_source='keras.applications'"
    ):
        keras_resnet.ResNet50(weights=path, input_shape=SIZE)
    keras_resnet.ResNet50(weights=path, input_shape=SIZE, weights_source="keras.applications")
    with pytest.raises(ValueError, match=r"weights_source='caffe' must be one of"):
        keras_resnet.ResNet50(weights=path, input_shape=SIZE, weights_source="caffe")


def test_a_file_that_would_load_only_in_part_is_refused(tmp_path):
    """Keras' loader ignores arrays it has no place for and only warns about layers it finds no group for:
    the file's arrays are compared with the model's, by path and shape, and any warning filter is irrelevant."""
    import warnings

    model = keras_resnet.build("ResNet20", input_shape=(8, 8, 1), classes=3)
    path = str(tmp_path / "resnet20.weights.h5")
    model.save_weights(path)
    with h5py.File(path, "a") as file:
        file["layers/extra/vars/0"] = np.zeros(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(
            ValueError,
            match=r"only part of it would load: 1 of its arrays have no place in the model \(e.g. "
            r"\['layers/extra/vars/0'\]",
        ):
            keras_resnet.build("ResNet20", input_shape=(8, 8, 1), classes=3, weights=path)
    with h5py.File(path, "a") as file:
        del file["layers/extra"]
        group = next(key for key in file["layers"] if "block" in key)
        file.move(f"layers/{group}", "layers/renamed")
    with pytest.raises(ValueError, match=r"only part of it would load: \d+ of the model's arrays are missing"):
        keras_resnet.build("ResNet20", input_shape=(8, 8, 1), classes=3, weights=path)


def test_wrong_targets_name_the_layer(tmp_path):
    path = str(tmp_path / "resnet50.h5")
    keras_source("ResNet50", path)
    with pytest.raises(ValueError, match="variant='v1'"):
        keras_resnet.ResNet50(weights=path, variant="v1.5")
    with pytest.raises(ValueError, match=r"not a keras.applications ResNet50 file.*predictions.*\(2048, 10\)"):
        keras_resnet.ResNet50(weights=path, classes=10)


# Written by a separate process, as a user's file is: keras.applications' model with random weights, saved in
# each format users bring, and its outputs on fixed images.
SOURCE_SCRIPT = """
import sys, h5py, keras, numpy as np
from keras.src.legacy.saving import legacy_h5_format
sys.path.insert(0, sys.argv[1])
from test_weights import SIZE, randomise
name, folder = sys.argv[2], sys.argv[3]
source = getattr(keras.applications, name)(weights=None, input_shape=SIZE, classifier_activation=None)
randomise(source)
source.save(f"{folder}/{name}.keras")
source.save_weights(f"{folder}/{name}.weights.h5")
with h5py.File(f"{folder}/{name}.h5", "w") as file:
    legacy_h5_format.save_weights_to_hdf5_group(file, source)
images = np.random.default_rng(0).random((2, *SIZE), dtype=np.float32)
np.savez(f"{folder}/{name}.npz", images=images, outputs=np.asarray(source(images, training=False)))
"""


def convert_from_another_process(tmp_path, name):
    """Each format of `name` written by another process, converted here with any warning an error."""
    import subprocess
    import sys
    import warnings

    subprocess.run(
        [sys.executable, "-c", SOURCE_SCRIPT, str(pathlib.Path(__file__).parent), name, str(tmp_path)],
        check=True,
        capture_output=True,
    )
    reference = np.load(tmp_path / f"{name}.npz")
    options = KERAS_TARGET["V2" if name.endswith("V2") else ""]
    for suffix in (".h5", ".weights.h5", ".keras"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # Keras' "retain their freshly-initialized weights" would fail here
            target = keras_resnet.build(
                name,
                weights=str(tmp_path / f"{name}{suffix}"),
                input_shape=SIZE,
                classifier_activation=None,
                weights_source="keras.applications",
                **options,
            )
        difference = float(np.abs(np.asarray(target(reference["images"], training=False)) - reference["outputs"]).max())
        assert difference < TOLERANCE, f"{name}{suffix}: max |difference| {difference}"


# DenseNet-121's file (20 s) joins the slow run: ResNet-50's crosses the same process boundary in the default one.
@pytest.mark.parametrize("name", ["ResNet50", pytest.param("DenseNet121", marks=pytest.mark.slow)])
def test_keras_applications_files_from_another_process_convert_without_warnings(tmp_path, name):
    convert_from_another_process(tmp_path, name)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2", "ResNet152V2", "DenseNet169", "DenseNet201"]
)
def test_every_keras_applications_twin_converts_without_warnings(tmp_path, name):
    convert_from_another_process(tmp_path, name)


def test_every_array_of_a_keras_applications_file_is_read_once(tmp_path):
    """An array with no place, a missing one and a file of older Keras 3 (layers without a name) are told."""
    path = str(tmp_path / "resnet50.weights.h5")
    keras_source("ResNet50", path)
    with h5py.File(path, "a") as file:
        for group in file["layers"].values():
            group.attrs.pop("name", None)  # as Keras 3 versions before the name attribute wrote it
    keras_resnet.ResNet50(
        weights=path, input_shape=SIZE, weights_source="keras.applications"
    )  # placed by the layers' order
    with h5py.File(path, "a") as file:
        file["layers/conv2d/vars/extra"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"1 of its arrays have no place \(e.g. \['layers/conv2d/vars/extra'\]"):
        keras_resnet.ResNet50(weights=path, input_shape=SIZE, weights_source="keras.applications")
    with h5py.File(path, "a") as file:
        del file["layers/conv2d/vars/extra"], file["layers/batch_normalization/vars/3"]
    with pytest.raises(ValueError, match="gives nothing for conv1_bn/moving_variance"):
        keras_resnet.ResNet50(weights=path, input_shape=SIZE, weights_source="keras.applications")


def torchvision_key(layer, densenet):
    """torchvision's key for our layer path; DenseNet layers as in torchvision's published files ("norm.1")."""
    if densenet:
        fixed = {
            "stem_conv": "features.conv0",
            "stem_bn": "features.norm0",
            "post_bn": "features.norm5",
            "predictions": "classifier",
        }
        if layer in fixed:
            return fixed[layer]
        found = re.fullmatch(r"stage(\d)_(?:block(\d+)/(bn|conv)(\d)|transition/(bn|conv))", layer)

        def norm(part):
            return "norm" if part == "bn" else part

        if found[2]:
            return f"features.denseblock{found[1]}.denselayer{found[2]}.{norm(found[3])}.{found[4]}"
        return f"features.transition{found[1]}.{norm(found[5])}"
    block = re.fullmatch(r"stage(\d)_block(\d+)/(.+)", layer)
    return {"stem_conv": "conv1", "stem_bn": "bn1", "predictions": "fc"}.get(layer) or (
        f"layer{block[1]}.{int(block[2]) - 1}."
        + {"shortcut/conv": "downsample.0", "shortcut/bn": "downsample.1"}.get(block[3], block[3])
    )


def torchvision_state_dict(model):
    """`model`'s variables under torchvision's keys and layouts, written out here from torchvision's naming."""
    names = {
        "kernel": "weight",
        "bias": "bias",
        "gamma": "weight",
        "beta": "bias",
        "moving_mean": "running_mean",
        "moving_variance": "running_var",
    }
    state = {}
    for variable in model.weights:
        layer, _, name = variable.path.rpartition("/")
        key = torchvision_key(layer, densenet=model.name.lower().startswith("densenet"))
        value = np.asarray(variable.numpy())
        if name == "kernel":  # Keras (kh, kw, in, out) / (in, out) -> torch (out, in, kh, kw) / (out, in)
            value = value.transpose(3, 2, 0, 1) if value.ndim == 4 else value.T
        if name == "moving_variance":  # torch's BN adds 1e-5 where ours adds 1.001e-5
            value = value + np.float32(1.001e-5 - 1e-5)
            state[f"{key}.num_batches_tracked"] = np.array(7)
        state[f"{key}.{names[name]}"] = np.ascontiguousarray(value)
    return state


# ----- torchvision: a reference written from the published architecture (He et al. 2015, torchvision's v1.5)
try:
    import torch
    from torch import nn
except ImportError:
    torch = None

TORCH_STAGES = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}

if torch is not None:

    class Block(nn.Module):
        """torchvision's BasicBlock / Bottleneck (stride in the 3x3), with torchvision's attribute names."""

        def __init__(self, kind, cin, planes, stride, groups=1, width_per_group=64):
            super().__init__()
            expansion = 4 if kind == "bottleneck" else 1
            cout = planes * expansion
            # ResNeXt (Xie 2017) and wide ResNets widen the grouped 3x3 as torchvision does.
            width = int(planes * width_per_group / 64) * groups
            if kind == "basic":
                shapes = [(cin, planes, 3, stride, 1), (planes, planes, 3, 1, 1)]
            else:
                shapes = [(cin, width, 1, 1, 1), (width, width, 3, stride, groups), (width, cout, 1, 1, 1)]
            for n, (i, o, k, s, g) in enumerate(shapes, start=1):
                setattr(self, f"conv{n}", nn.Conv2d(i, o, k, stride=s, padding=k // 2, groups=g, bias=False))
                setattr(self, f"bn{n}", nn.BatchNorm2d(o))
            self.count = len(shapes)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            out = x
            for n in range(1, self.count + 1):
                out = getattr(self, f"bn{n}")(getattr(self, f"conv{n}")(out))
                out = torch.relu(out) if n < self.count else out
            return torch.relu(out + (x if self.downsample is None else self.downsample(x)))

    class TorchResNet(nn.Module):
        def __init__(self, depth, groups=1, width_per_group=64, classes=1000):
            super().__init__()
            kind, counts = TORCH_STAGES[depth]
            self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
            cin = 64
            for stage, (blocks, width) in enumerate(zip(counts, (64, 128, 256, 512)), start=1):
                layer = []
                for index in range(blocks):
                    layer.append(Block(kind, cin, width, 2 if stage > 1 and index == 0 else 1, groups, width_per_group))
                    cin = width * (4 if kind == "bottleneck" else 1)
                setattr(self, f"layer{stage}", nn.Sequential(*layer))
            self.fc = nn.Linear(cin, classes)

        def forward(self, x):
            x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
            for stage in range(1, 5):
                x = getattr(self, f"layer{stage}")(x)
            return self.fc(x.mean((2, 3)))

    class TorchDenseNet(nn.Module):
        """torchvision's DenseNet-BC (Huang 2017): BN-ReLU-1x1 conv to 4k, BN-ReLU-3x3 conv to k, concatenated
        after the inputs; transitions halve the channels (floor) and average-pool 2x2."""

        def __init__(self, growth, counts, classes=1000):
            super().__init__()
            cin = 2 * growth
            self.features = nn.Sequential()
            self.features.add_module("conv0", nn.Conv2d(3, cin, 7, stride=2, padding=3, bias=False))
            self.features.add_module("norm0", nn.BatchNorm2d(cin))
            for stage, count in enumerate(counts, start=1):
                block = nn.ModuleDict()
                for index in range(1, count + 1):
                    block[f"denselayer{index}"] = nn.ModuleDict(
                        {
                            "norm1": nn.BatchNorm2d(cin),
                            "conv1": nn.Conv2d(cin, 4 * growth, 1, bias=False),
                            "norm2": nn.BatchNorm2d(4 * growth),
                            "conv2": nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False),
                        }
                    )
                    cin += growth
                self.features.add_module(f"denseblock{stage}", block)
                if stage < len(counts):
                    transition = nn.ModuleDict(
                        {"norm": nn.BatchNorm2d(cin), "conv": nn.Conv2d(cin, cin // 2, 1, bias=False)}
                    )
                    self.features.add_module(f"transition{stage}", transition)
                    cin //= 2
            self.features.add_module("norm5", nn.BatchNorm2d(cin))
            self.classifier = nn.Linear(cin, classes)

        def forward(self, x):
            f = self.features
            x = nn.functional.max_pool2d(torch.relu(f.norm0(f.conv0(x))), 3, stride=2, padding=1)
            for stage in range(1, 5):
                for layer in getattr(f, f"denseblock{stage}").values():
                    new = layer.conv1(torch.relu(layer.norm1(x)))
                    x = torch.cat([x, layer.conv2(torch.relu(layer.norm2(new)))], 1)
                if stage < 4:
                    transition = getattr(f, f"transition{stage}")
                    x = nn.functional.avg_pool2d(transition.conv(torch.relu(transition.norm(x))), 2)
            return self.classifier(torch.relu(f.norm5(x)).mean((2, 3)))


# Our name -> torchvision's architecture: ResNet/ResNeXt/wide (depth, groups, width_per_group) and
# DenseNet (growth rate, layers per block), as torchvision's model functions set them.
TORCH_RESNETS = {
    **{f"ResNet{d}": (d, 1, 64) for d in TORCH_STAGES},
    "ResNeXt50_32x4d": (50, 32, 4),
    "ResNeXt101_32x8d": (101, 32, 8),
    "ResNeXt101_64x4d": (101, 64, 4),
    "WideResNet50_2": (50, 1, 128),
    "WideResNet101_2": (101, 1, 128),
}
TORCH_DENSENETS = {
    "DenseNet121": (32, (6, 12, 24, 16)),
    "DenseNet161": (48, (6, 12, 36, 24)),
    "DenseNet169": (32, (6, 12, 32, 32)),
    "DenseNet201": (32, (6, 12, 48, 32)),
}


def torch_source(name, path):
    """A randomised torch `name` (random BN statistics too) saved as a state dict; returns its forward."""
    torch.manual_seed(len(name))
    model = (
        TorchResNet(*TORCH_RESNETS[name]) if name in TORCH_RESNETS else TorchDenseNet(*TORCH_DENSENETS[name])
    ).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.0), module.bias.normal_(0.0, 0.1)
                module.running_mean.normal_(0.0, 0.1), module.running_var.uniform_(0.5, 2.0)
    if path.endswith(".safetensors"):
        from safetensors.torch import save_file

        save_file(model.state_dict(), path)
    else:
        torch.save(model.state_dict(), path)

    def forward(images, training=False):  # channels-last NumPy in, logits out (training: as Keras calls)
        with torch.no_grad():
            return model(torch.from_numpy(images).permute(0, 3, 1, 2)).numpy()

    return forward


def check_torch(name, path, images):
    source = torch_source(name, str(path))
    options = {} if name.startswith("DenseNet") else {"variant": "v1.5"}
    target = keras_resnet.build(name, weights=str(path), input_shape=SIZE, classifier_activation=None, **options)
    difference = max_difference(source, target, images)
    assert difference < TOLERANCE, f"{name}: max |difference| {difference}"


needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed (optional extra)")


@needs_torch
@pytest.mark.parametrize("depth, suffix", [(50, ".pth"), (18, ".safetensors")])
def test_torchvision_resnet(tmp_path, images, depth, suffix):
    check_torch(f"ResNet{depth}", tmp_path / f"resnet{depth}{suffix}", images(SIZE, 2))


@needs_torch
@pytest.mark.slow
@pytest.mark.parametrize("depth", [34, 101, 152])
def test_torchvision_resnet_deep(tmp_path, images, depth):
    check_torch(f"ResNet{depth}", tmp_path / f"resnet{depth}.pth", images(SIZE, 2))


@needs_torch
@pytest.mark.parametrize(
    "name, suffix", [("ResNeXt50_32x4d", ".pth"), ("WideResNet50_2", ".safetensors"), ("DenseNet121", ".safetensors")]
)
def test_torchvision_resnext_wide_densenet(tmp_path, images, name, suffix):
    """Grouped 3x3s, widened bottlenecks and DenseNet's features.denseblock keys convert exactly."""
    check_torch(name, tmp_path / f"{name}{suffix}", images(SIZE, 2))


@needs_torch
@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["ResNeXt101_32x8d", "ResNeXt101_64x4d", "WideResNet101_2", "DenseNet161", "DenseNet169", "DenseNet201"]
)
def test_torchvision_resnext_wide_densenet_deep(tmp_path, images, name):
    check_torch(name, tmp_path / f"{name}.pth", images(SIZE, 2))


@needs_torch
def test_torchvision_needs_v15_and_the_right_depth(tmp_path):
    path = str(tmp_path / "resnet50.pth")
    torch_source("ResNet50", path)
    with pytest.raises(ValueError, match="variant='v1.5'"):
        keras_resnet.ResNet50(weights=path)
    with pytest.raises(ValueError, match="'layer3.6.conv1'.*stage3_block7/conv1"):
        keras_resnet.ResNet101(weights=path, variant="v1.5")


@pytest.mark.parametrize(
    "name, other, error",
    [
        ("ResNeXt50_32x4d", "WideResNet50_2", r"'layer1.0.conv2' gives shape \(3, 3, 4, 128\).*\(3, 3, 128, 128\)"),
        ("DenseNet121", "DenseNet169", r"no layer 'features.denseblock3.denselayer25.norm1'"),
    ],
    ids=["resnext", "densenet"],
)
def test_torchvision_keys_without_torch(tmp_path, images, name, other, error):
    """Without torch (CI): a state dict in torchvision's keys and layouts (grouped kernels (out, in/groups,
    kh, kw); DenseNet's published "norm.1" keys) converts back to the model it was written from."""
    from safetensors.numpy import save_file

    options = {} if name.startswith("DenseNet") else {"variant": "v1.5"}
    source = keras_resnet.build(name, input_shape=SIZE, classifier_activation=None, **options)
    randomise(source)
    save_file(torchvision_state_dict(source), str(tmp_path / "source.safetensors"))
    target = keras_resnet.build(
        name, weights=str(tmp_path / "source.safetensors"), input_shape=SIZE, classifier_activation=None, **options
    )
    assert max_difference(source, target, images(SIZE, 2)) < TOLERANCE
    with pytest.raises(ValueError, match=error):  # a grouped kernel or a missing dense layer is named
        keras_resnet.build(other, weights=str(tmp_path / "source.safetensors"), input_shape=SIZE, **options)


def test_cli_convert_writes_a_keras_file_once(tmp_path, images, capsys):
    """`keras-resnet convert` turns a torchvision-keyed state dict into a .keras file and never overwrites it."""
    from safetensors.numpy import save_file

    source = keras_resnet.build("resnet", depth=18, variant="v1.5", input_shape=SIZE, classifier_activation=None)
    randomise(source)
    save_file(torchvision_state_dict(source), str(tmp_path / "resnet18.safetensors"))
    output = tmp_path / "resnet18.keras"
    argv = [
        "convert",
        "ResNet18",
        str(tmp_path / "resnet18.safetensors"),
        str(output),
        "--variant",
        "v1.5",
        "--input-shape",
        "64,64,3",
        "--logits",
    ]
    assert main(argv) == 0
    assert max_difference(source, keras.saving.load_model(output), images(SIZE, 2)) < TOLERANCE
    assert main(argv) == 2
    assert "exists" in capsys.readouterr().err
