"""timm's own forward pass, recorded for the models keras_resnet names after timm's, so that the conversion
is checked against timm where neither torch nor timm is installed.

For each model: timm's state-dict keys and shapes, its parameter counts (`sum(p.numel() for p in
model.parameters())` and the BN buffers), and its logits on `INPUT` with deterministic weights that
`synthetic_state_dict` recreates from the keys and shapes with NumPy alone. The tests write those weights
to a `.safetensors` file, convert it with `weights=` and compare the logits. Regenerate with timm installed:

    python tests/timm_reference.py        # writes tests/data/timm_reference.npz
"""

import os
import zlib

import numpy as np

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "timm_reference.npz")
# keras_resnet name -> timm name.
TIMM_NAMES = {
    "ResNet26": "resnet26",
    "ResNet18D": "resnet18d",
    "ResNet26D": "resnet26d",
    "ResNet34D": "resnet34d",
    "ResNet50D": "resnet50d",
    "ResNet101D": "resnet101d",
    "ResNet152D": "resnet152d",
    "ResNet200D": "resnet200d",
    "ResNet50C": "resnet50c",
    "ResNet50S": "resnet50s",
    "SEResNet50": "seresnet50",
    "SEResNet101": "seresnet101",
    "SEResNet152": "seresnet152",
    "SEResNeXt50_32x4d": "seresnext50_32x4d",
    "SEResNeXt101_32x8d": "seresnext101_32x8d",
    "ECAResNet50D": "ecaresnet50d",
    "ECAResNet101D": "ecaresnet101d",
    "ResNetBlur50": "resnetblur50",
    "ResNetRS50": "resnetrs50",
    "ResNetRS101": "resnetrs101",
    "ResNetRS152": "resnetrs152",
    "ResNetRS200": "resnetrs200",
    "ResNetRS270": "resnetrs270",
    "ResNetRS350": "resnetrs350",
    "ResNetRS420": "resnetrs420",
}
# Odd sizes after the third downsampling (72 -> 36 -> 18 -> 9 -> 5 -> 3): the average pools of ResNet-D and
# the blur's reflect padding meet windows cut at the border, where layouts that differ would disagree.
SIZE = 72


def inputs():
    """Two deterministic images, channels-last, shape (2, SIZE, SIZE, 3)."""
    return np.random.default_rng(0).standard_normal((2, SIZE, SIZE, 3)).astype("float32")


def synthetic_state_dict(keys, shapes):
    """Deterministic weights for a timm ResNet state dict, from its keys and shapes only.

    Convolutions and linear layers He-scaled; BN statistics and affine terms spread around 1 and 0, the
    last BN of each residual branch small so that 100+ blocks stay finite without training. Each tensor's
    values depend on its key alone (a CRC of it seeds the generator).

    Returns:
        `{key: float32 array}`.
    """
    last_bn = {}
    for key in keys:  # the highest-numbered bn of each block: layer1.0.bn3 in a bottleneck, .bn2 in a basic block
        parts = key.split(".")
        if len(parts) == 4 and parts[2].startswith("bn"):
            block = ".".join(parts[:2])
            last_bn[block] = max(last_bn.get(block, ""), parts[2])
    state = {}
    for key, shape in zip(keys, shapes):
        rng = np.random.default_rng(zlib.crc32(key.encode()))
        name = key.rsplit(".", 1)[-1]
        parts = key.split(".")
        if name == "weight" and len(shape) > 1:
            value = rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))
        elif name == "weight":  # a BN's gamma
            small = len(parts) == 4 and last_bn.get(".".join(parts[:2])) == parts[2]
            value = rng.uniform(0.05, 0.2, shape) if small else rng.uniform(0.5, 1.5, shape)
        elif name == "running_var":
            value = rng.uniform(0.5, 1.5, shape)
        elif name in ("bias", "running_mean"):
            value = rng.standard_normal(shape) * 0.1
        else:
            raise ValueError(f"unexpected state dict entry {key!r}")
        state[key] = value.astype("float32")
    return state


def load():
    """`{keras_resnet name: {"keys", "shapes", "parameters", "buffers", "logits"}}` from the recorded file."""
    with np.load(PATH) as data:
        found = {}
        for name in TIMM_NAMES:
            if f"{name}/keys" not in data:
                continue
            lengths = data[f"{name}/ranks"]
            flat = iter(data[f"{name}/dims"].tolist())
            shapes = [tuple(next(flat) for _ in range(rank)) for rank in lengths]
            found[name] = {
                "keys": data[f"{name}/keys"].tolist(),
                "shapes": shapes,
                "parameters": int(data[f"{name}/parameters"]),
                "buffers": int(data[f"{name}/buffers"]),
                "logits": data[f"{name}/logits"],
            }
        found["version"] = str(data["timm_version"])
    return found


def record():
    """Run timm on every model of `TIMM_NAMES` and write `PATH`."""
    import timm
    import torch

    arrays = {"timm_version": np.array(timm.__version__), "torch_version": np.array(torch.__version__)}
    x = torch.from_numpy(inputs().transpose(0, 3, 1, 2).copy())
    for ours, theirs in TIMM_NAMES.items():
        model = timm.create_model(theirs, pretrained=False).eval()
        state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
        keys, shapes = list(state), [tuple(v.shape) for v in state.values()]
        model.load_state_dict(
            {k: torch.from_numpy(v) for k, v in synthetic_state_dict(keys, shapes).items()}, strict=False
        )
        with torch.no_grad():
            logits = model(x).numpy()
        assert np.isfinite(logits).all(), theirs
        arrays.update(
            {
                f"{ours}/keys": np.array(keys),
                f"{ours}/ranks": np.array([len(s) for s in shapes]),
                f"{ours}/dims": np.array([d for s in shapes for d in s]),
                f"{ours}/parameters": np.array(sum(p.numel() for p in model.parameters())),
                f"{ours}/buffers": np.array(
                    sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
                ),
                f"{ours}/logits": logits,
            }
        )
        print(f"{theirs}: {arrays[f'{ours}/parameters']:,} parameters, logits std {logits.std():.3g}", flush=True)
    np.savez_compressed(PATH, **arrays)


if __name__ == "__main__":
    record()
