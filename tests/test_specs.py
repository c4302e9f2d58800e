"""The spec table and its plans, without Keras: every named model's plan counts the papers' parameters
exactly, every bad argument is refused by the plan in one sentence, and resolving imports no Keras."""

import json
import pathlib
import subprocess
import sys

import pytest

from keras_resnet import specs
from oracle import CIFAR, TORCHVISION, TORCHVISION_GFLOPS, expected_counts

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(specs.MODELS))
def test_every_plan_counts_the_papers_parameters(name):
    plan = specs.resolve(name)
    assert plan.parameters() == expected_counts(name)
    if name in TORCHVISION or name in CIFAR:
        assert plan.parameters()[0] == TORCHVISION.get(name, CIFAR.get(name))
    if name in TORCHVISION_GFLOPS:
        assert round(plan.flops() / 1e9, 2) == TORCHVISION_GFLOPS[name]
    assert plan.name == name and plan.blocks and all(block.name.startswith("stage") for block in plan.blocks)


def test_resolving_every_plan_imports_no_keras():
    code = (
        "import json, sys; from keras_resnet import specs; "
        "counts = {n: specs.resolve(n).parameters() for n in specs.MODELS}; "
        "print(json.dumps({'keras': 'keras' in sys.modules, 'tensorflow': 'tensorflow' in sys.modules, 'n': "
        "len(counts)}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(done.stdout) == {"keras": False, "tensorflow": False, "n": len(specs.MODELS)}


def test_a_plan_holds_each_blocks_schedule_and_layout():
    plan = specs.resolve("ResNet110", stochastic_depth=0.5)
    blocks = plan.residual_blocks
    assert len(blocks) == 54 and [len(stage) for stage in plan.stages] == [18, 18, 18]
    assert blocks[0].survival_prob == pytest.approx(1 - 0.5 / 54) and blocks[-1].survival_prob == pytest.approx(0.5)
    assert [b.strides for b in blocks if b.strides > 1] == [2, 2] and blocks[18].name == "stage2_block1"
    assert [b.shortcut_layer for b in (blocks[0], blocks[18])] == ["identity", "zero_pad"]
    resnext = specs.resolve("ResNeXt50_32x4d").blocks
    assert [(b.width, b.groups, b.stride_in) for b in (resnext[0], resnext[3])] == [(128, 32, "3x3"), (256, 32, "3x3")]
    assert specs.resolve("ResNet50").blocks[3].stride_in == "1x1"  # v1: the paper's stride in the first 1x1


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: specs.resolve("ResNet110", stochastic_depth="0.5"),
            ValueError,
            r"stochastic_depth='0.5' must be a number in \(0, 1\]",
        ),
        (
            lambda: specs.resolve("ResNet20", cardinalty=4),
            TypeError,
            r"ResNet20 got unknown option\(s\) 'cardinalty': its options are block, variant, shortcut, cardinality",
        ),
        (
            lambda: specs.resolve("DenseNetBC100", shortcut="B"),
            TypeError,
            r"'shortcut': its options are block, growth_rate",
        ),
        (lambda: specs.resolve("ResNet20", dtype="float8"), ValueError, r"dtype='float8' is not one of"),
        (
            lambda: specs.resolve("ResNet20", bn_momentum=1.0),
            ValueError,
            r"bn_momentum=1.0 must be a number in \[0, 1\)",
        ),
        (
            lambda: specs.resolve("ResNet20", preprocessing={"mean": [1, 2]}),
            ValueError,
            r"preprocessing=.* must be None or",
        ),
        (
            lambda: specs.resolve("ResNet20", preprocessing={"mean": [1, 2], "std": 1}),
            ValueError,
            r"preprocessing mean=\[1, 2\] must be one finite number or 3 per-channel numbers",
        ),
        (
            lambda: specs.resolve("ResNet18", cardinality=4),
            ValueError,
            r"cardinality and bottleneck_width need bottleneck blocks",
        ),
        (lambda: specs.resolve("ResNet150"), ValueError, r"Did you mean .*ResNet152"),
    ],
)
def test_the_plan_refuses_bad_options_in_one_sentence(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_options_are_documented_and_follow_the_resolvers_signatures():
    for family in specs.FAMILIES:
        options = specs.family_options(family)
        assert set(options) <= set(specs.OPTIONS), family
        assert set(specs.COMMON) <= set(options)
    assert "growth_rate" in specs.family_options("densenet") and "shortcut" not in specs.family_options("densenet")


@pytest.mark.parametrize("name", sorted(specs.MODELS))
def test_a_plans_options_resolve_to_the_same_plan(name):
    # `Plan.options` holds every option's resolved value: handed back to resolve, they give the same network.
    plan = specs.resolve(name)
    again = specs.resolve(plan.family, depth=plan.depth, **plan.options)
    assert again.stem == plan.stem and again.blocks == plan.blocks and again.parameters() == plan.parameters()
