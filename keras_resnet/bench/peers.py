"""The peer users would otherwise pick: timm on PyTorch, measured beside ours (no TensorFlow here).

`keras-resnet bench --only peer` times every family's representative against the same network in timm
(or, for the CIFAR nets timm lacks, written here in plain PyTorch with the same parameter count), each
measurement a fresh process: `keras_seconds` on Keras (the backend of the benchmark), `torch_seconds` on
PyTorch with timm, the two taking turns. Both train with SGD with momentum and cross-entropy on the same
random batch, held on the device, and infer one image at a time; PyTorch runs `channels_last`, its fast layout,
on the GPU where it sees one, and 16-bit rows use `torch.autocast` against Keras' `mixed_bfloat16` policy.
`benchmarks/gpu.py` uses the same two functions on a GPU, with `torch.compile` as a further row.

    keras_resnet.bench.peers.PEERS["ResNeXt50_32x4d"]  # ('resnext50_32x4d', {})
"""

import os
import time

import keras
import numpy as np

from keras_resnet import factory, specs

# Our model -> (timm's name, or a CIFAR twin of this module; options of ours that make it timm's network).
# timm's resnet50 is ResNet-50 v1.5 (the stride on the 3x3), as torchvision's; keras.applications' is v1.
PEERS = {
    "ResNet50": ("resnet50", {"variant": "v1.5"}),
    "ResNeXt50_32x4d": ("resnext50_32x4d", {}),
    "SEResNet50": ("seresnet50", {}),
    "SEResNeXt50_32x4d": ("seresnext50_32x4d", {}),
    "ECAResNet50D": ("ecaresnet50d", {}),
    "ResNet50D": ("resnet50d", {}),
    "ResNetBlur50": ("resnetblur50", {}),
    "ResNetRS50": ("resnetrs50", {}),
    "WideResNet50_2": ("wide_resnet50_2", {}),
    "DenseNet121": ("densenet121", {}),
    "ResNet20": ("cifar_resnet20", {}),  # the quick run's row
    "ResNet56": ("cifar_resnet56", {}),
    "ResNeXt29_8x64d": ("cifar_resnext29_8x64d", {}),
}


def _timings(train_step, infer, steps, calls):
    """Images/s of each of `steps` training steps and `calls` single-image inferences, after one warm-up of each
    (none of inference where `calls` is 0: compiling the prediction would be time spent on nothing timed)."""
    train_step()  # traces, compiles, allocates
    if calls:
        infer()
    trains = []
    for _ in range(steps):
        start = time.perf_counter()
        batch = train_step()
        trains.append(batch / (time.perf_counter() - start))
    infers = []
    for _ in range(calls):
        start = time.perf_counter()
        infer()
        infers.append(1 / (time.perf_counter() - start))
    return {"train": trains, "inference": infers}


def _keras_net(spec):
    """Ours as `keras_seconds` times it: (train_step, infer) on one random batch, and the model."""
    name, batch = spec["name"], spec["batch"]
    policy = "mixed_bfloat16" if spec["mixed"] else "float32"
    shape = {"input_shape": (spec["side"], spec["side"], 3)} if spec.get("side") else {}
    model = factory.build(name, **PEERS[name][1], **shape, dtype=policy)
    side = model.input_shape[1]
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    # On the device, as PyTorch's batch is: a step then times the step, not a copy of the batch to a GPU.
    x = keras.ops.convert_to_tensor(rng.random((batch, side, side, 3), dtype=np.float32))
    y = keras.ops.convert_to_tensor(rng.integers(0, model.output_shape[-1], batch))

    def train_step():
        model.train_on_batch(x, y)  # returns the loss as a number: waits for the device
        return batch

    one = x[:1]
    return train_step, lambda: model.predict_on_batch(one), model


def keras_seconds(spec):
    """Ours, in this process: `spec` holds `name` (of `PEERS`), `batch`, `steps`, `calls` and `mixed`, and may
    hold `side` (the image side; default the model's own).

    Returns:
        {"train": [images/s per step], "inference": [images/s per single-image call], "parameters": int,
        "backend": Keras' backend}.
    """
    train_step, infer, model = _keras_net(spec)
    answer = _timings(train_step, infer, spec["steps"], spec["calls"])
    return {**answer, "parameters": model.count_params(), "backend": keras.backend.backend()}


def _torch_net(spec):
    """The peer as `torch_seconds` times it: (train_step, infer) on one random batch, the model's parameter count
    (as Keras counts) and its device (torch imported here)."""
    import torch

    name, batch = spec["name"], spec["batch"]
    device = spec.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True  # as timm's own benchmark: the fastest kernels for the fixed shapes
    model = torch_model(PEERS[name][0]).to(device, memory_format=torch.channels_last)
    plan = specs.resolve(name)  # the CIFAR twins have the plan's 10 classes, timm's models its 1000
    side, classes = spec.get("side") or plan.input_shape[0], plan.classes
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    parameters = torch_parameters(model)
    if spec.get("compile"):
        model = torch.compile(model, backend=spec["compile"])
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, side, side, generator=generator).to(device, memory_format=torch.channels_last)
    y = torch.randint(0, classes, (batch,), generator=generator).to(device)

    def autocast():
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=spec["mixed"])

    def train_step():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        loss.item()  # waits for the step
        return batch

    def infer():
        model.eval()
        with torch.inference_mode(), autocast():
            model(x[:1]).float().cpu().numpy()

    return train_step, infer, parameters, device


def torch_seconds(spec):
    """The peer of `spec["name"]` on PyTorch, in this process (torch and timm imported here, not at module load).

    `spec` holds what `keras_seconds` takes, and may hold `device` (default: "cuda" where PyTorch sees a GPU, else
    "cpu") and `compile`: a `torch.compile` backend ("inductor", its default) to train and infer through.

    Returns:
        {"train": [...], "inference": [...], "parameters": parameters plus BatchNorm statistics (as Keras counts),
        "version": "torch X, timm Y", "device": the device's name, "peer": the name in `PEERS`}.
    """
    import timm
    import torch

    train_step, infer, parameters, device = _torch_net(spec)
    answer = _timings(train_step, infer, spec["steps"], spec["calls"])
    return {
        **answer,
        "parameters": parameters,
        "version": f"torch {torch.__version__}, timm {timm.__version__}",
        "device": torch.cuda.get_device_name(device) if device.startswith("cuda") else device,
        "peer": PEERS[spec["name"]][0],
    }


# A profile's rows: the layer type an op of either framework works for, by the first of these words in its name
# (TensorFlow's op types, e.g. _MklNativeConv2DBackpropFilter; PyTorch's aten ops, e.g. convolution_backward).
# XLA's CPU runs convolutions (and their gradients) as YNNPACK fusions, named "ynn_fusion.N" in its trace.
OP_KINDS = (
    ("normalisation", ("batchnorm", "batch_norm", "moments")),
    ("convolution", ("conv", "depthwise", "ynn_fusion")),
    ("layout transposes", ("transpose",)),
    ("split and concatenation", ("split", "concat", "cat", "slice")),
    ("activation", ("relu", "threshold", "clamp", "sigmoid", "swish", "silu")),
    ("pooling", ("pool",)),
    ("matrix multiply", ("matmul", "addmm", "mm")),
    ("optimizer", ("sgd", "resourceapply", "assign", "foreach", "zero_grad")),
    ("elementwise", ("add", "mul", "sub", "div", "square", "sum", "mean", "tile", "copy", "cast", "pad", "fill")),
)


def op_kind(op):
    """The layer type (a row of `OP_KINDS`, else "other") that a framework's op `op` (its type or name) works for."""
    lowered = op.lower()
    return next((kind for kind, words in OP_KINDS if any(word in lowered for word in words)), "other")


def _per_kind(times, steps):
    """{kind: ms per step} from {op: total microseconds over `steps` steps}, the largest first."""
    kinds = {}
    for op, micros in times.items():
        kinds[op_kind(op)] = kinds.get(op_kind(op), 0.0) + micros / 1000 / steps
    return dict(sorted(((k, round(v, 1)) for k, v in kinds.items()), key=lambda item: -item[1]))


def keras_profile(spec):
    """Where ours spends a training step and a single-image inference, by layer type, on TensorFlow's profiler.

    `spec` as `keras_seconds` takes it: `steps` training steps and `calls` inferences are profiled after a
    warm-up of each. The times are ops' self times summed: TensorFlow may run two ops at once on two cores,
    so their sum can exceed the step's wall time.

    Returns:
        {"train": {kind: ms per step}, "inference": {kind: ms per call}} (kinds as `op_kind` names them).
    """
    import glob
    import json
    import tempfile

    import tensorflow as tf

    # Private: TensorFlow's only reader of its own traces (the public one is the TensorBoard profile plugin).
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin

    train_step, infer, _ = _keras_net(spec)
    answer = {}
    for what, run, count in (("train", train_step, spec["steps"]), ("inference", infer, spec["calls"])):
        run()  # traces, compiles, allocates
        with tempfile.TemporaryDirectory() as folder:
            tf.profiler.experimental.start(folder, tf.profiler.experimental.ProfilerOptions(python_tracer_level=0))
            for _ in range(count):
                run()
            tf.profiler.experimental.stop()
            traces = glob.glob(os.path.join(folder, "**", "*.xplane.pb"), recursive=True)
            table, _ = _pywrap_profiler_plugin.xspace_to_tools_data(traces, "framework_op_stats", {})
        times = {}
        for row in json.loads(table)[0]["rows"]:
            kind, micros = row["c"][2]["v"], row["c"][7]["v"]  # "Operation Type", "Total self-time (us)"
            if kind != "IDLE":
                times[kind] = times.get(kind, 0.0) + micros
        answer[what] = _per_kind(times, count)
    return answer


def jax_trace(spec):
    """Ours on Keras' JAX backend under JAX's profiler: `spec` as `keras_profile` takes it, plus `folder`, where the
    traces of the training steps and of the inferences go (read them with `xla_profile`; JAX has no reader).

    Returns:
        {"train": a trace folder, "inference": a trace folder}.
    """
    import jax

    train_step, infer, _ = _keras_net(spec)
    answer = {}
    for what, run, count in (("train", train_step, spec["steps"]), ("inference", infer, spec["calls"])):
        run()  # traces, compiles, allocates
        answer[what] = os.path.join(spec["folder"], what)
        jax.profiler.start_trace(answer[what])
        for _ in range(count):
            run()
        jax.profiler.stop_trace()
    return answer


def xla_profile(folder, count):
    """{kind: ms per step} of a `jax_trace` folder holding `count` steps: the XLA CPU thunks' times (by the
    `op_kind` of their names), read with TensorFlow's copy of the profiler's protocol buffers."""
    import glob

    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    times = {}
    for path in glob.glob(os.path.join(folder, "**", "*.xplane.pb"), recursive=True):
        space = xplane_pb2.XSpace()
        with open(path, "rb") as file:
            space.ParseFromString(file.read())
        for plane in space.planes:
            names = {key: value.name for key, value in plane.event_metadata.items()}
            for line in plane.lines:
                if line.name == "python":  # the Python tracer's calls, around the thunks
                    continue
                for event in line.events:
                    name = names.get(event.metadata_id, "")
                    if name and not name.startswith(("ThunkExecutor", "end:", "SlinkyThreadPool")):
                        times[name] = times.get(name, 0.0) + event.duration_ps / 1e6
    return _per_kind(times, count)


def torch_profile(spec):
    """Where the peer spends a training step and a single-image inference, by layer type, on PyTorch's profiler
    (`keras_profile`'s counterpart and return value; aten ops' self times)."""
    from torch import profiler

    train_step, infer, _, _ = _torch_net(spec)
    answer = {}
    for what, run, count in (("train", train_step, spec["steps"]), ("inference", infer, spec["calls"])):
        run()
        with profiler.profile(activities=[profiler.ProfilerActivity.CPU]) as trace:
            for _ in range(count):
                run()
        times = {e.key: e.self_cpu_time_total for e in trace.key_averages() if e.key.startswith("aten::")}
        answer[what] = _per_kind(times, count)
    return answer


def torch_model(peer):
    """A peer's PyTorch model: timm's `peer`, or this module's CIFAR twin of that name (torch imported here).

    Args:
        peer: a name of `PEERS`' first column.

    Returns:
        A `torch.nn.Module` with random weights.
    """
    import timm

    return CIFAR_TWINS[peer]() if peer in CIFAR_TWINS else timm.create_model(peer, pretrained=False)


def torch_parameters(model):
    """A PyTorch model's parameters plus its BatchNorm statistics, as Keras' `count_params` counts them.

    Args:
        model: a `torch.nn.Module`.

    Returns:
        An int.
    """
    statistics = (b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var")))
    return sum(p.numel() for p in model.parameters()) + sum(statistics)


def _cifar_resnet(depth):
    """He et al.'s CIFAR ResNet in plain PyTorch: 3x3 stem of 16, 3 stages of (depth - 2) / 6 basic blocks
    (16/32/64), option-A shortcuts (subsample, zero-pad the new channels), as `keras_resnet.ResNet56`."""
    from torch import nn
    from torch.nn import functional

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
            self.conv2, self.bn2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
            self.stride, self.pad = stride, cout - cin

        def forward(self, x):
            shortcut = x[:, :, :: self.stride, :: self.stride]
            if self.pad:
                shortcut = functional.pad(shortcut, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
            y = functional.relu(self.bn1(self.conv1(x)))
            return functional.relu(shortcut + self.bn2(self.conv2(y)))

    blocks, cin = [], 16
    for stage, cout in enumerate((16, 32, 64)):
        for index in range((depth - 2) // 6):
            blocks.append(Block(cin, cout, 2 if stage and not index else 1))
            cin = cout
    stem = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    return nn.Sequential(*stem, *blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def _cifar_resnext29_8x64d():
    """Xie et al.'s CIFAR ResNeXt-29 (8x64d) in plain PyTorch: 3x3 stem of 64, 3 stages of 3 bottlenecks with a
    grouped 3x3 of 8 groups (widths 512/1024/2048, outputs 256/512/1024, stride on the 3x3), 1x1 projections."""
    from torch import nn
    from torch.nn import functional

    def conv_bn(cin, cout, kernel, stride=1, groups=1):
        return nn.Sequential(
            nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)
        )

    class Block(nn.Module):
        def __init__(self, cin, width, cout, stride):
            super().__init__()
            self.conv1, self.conv2 = conv_bn(cin, width, 1), conv_bn(width, width, 3, stride, groups=8)
            self.conv3 = conv_bn(width, cout, 1)
            self.shortcut = conv_bn(cin, cout, 1, stride) if stride > 1 or cin != cout else nn.Identity()

        def forward(self, x):
            y = functional.relu(self.conv2(functional.relu(self.conv1(x))))
            return functional.relu(self.shortcut(x) + self.conv3(y))

    blocks, cin = [], 64
    for stage, cout in enumerate((256, 512, 1024)):
        for index in range(3):
            blocks.append(Block(cin, 2 * cout, cout, 2 if stage and not index else 1))
            cin = cout
    stem = [conv_bn(3, 64, 3), nn.ReLU()]
    return nn.Sequential(*stem, *blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1024, 10))


CIFAR_TWINS = {
    "cifar_resnet20": lambda: _cifar_resnet(20),
    "cifar_resnet56": lambda: _cifar_resnet(56),
    "cifar_resnext29_8x64d": _cifar_resnext29_8x64d,
}
