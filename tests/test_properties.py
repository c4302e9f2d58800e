"""Property-based: any combination of build() arguments builds a finite model or raises a clear error."""

import datetime

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import keras_resnet

ARGUMENT_NAMES = (
    "depth",
    "block",
    "shortcut",
    "stochastic_depth",
    "dropout",
    "variant",
    "classes",
    "input_shape",
    "pooling",
    "include_top",
    "zero_init_residual",
)


def mostly(valid, invalid):
    """Valid values three times out of four, so that many examples really build, the rest must be refused."""
    return st.one_of(valid, valid, valid, invalid)


arguments = st.fixed_dictionaries(
    {
        "family_and_depth": mostly(
            st.sampled_from(
                [
                    ("cifar_resnet", 8),
                    ("cifar_resnet", 14),
                    ("cifar_resnet", 20),
                    ("preact_resnet", 11),
                    ("preact_resnet", 29),
                    ("resnet", 18),
                    ("resnet_v2", 18),
                ]
            ),
            st.tuples(
                st.sampled_from(["cifar_resnet", "preact_resnet", "resnet", "resnet_v2", "nope"]),
                st.one_of(st.integers(-5, 70), st.floats(0, 60), st.text(max_size=3)),
            ),
        ),
    },
    optional={
        "block": mostly(st.sampled_from(["basic", "bottleneck", None]), st.just("wide")),
        "shortcut": mostly(st.sampled_from(["A", "B", "C", "none", None]), st.just("highwayish")),
        "stochastic_depth": mostly(
            st.one_of(st.none(), st.floats(0.01, 1)), st.sampled_from([0.0, -0.5, 1.5, float("nan")])
        ),
        "dropout": mostly(st.floats(0, 0.9), st.sampled_from([1.0, -0.1, 3])),
        "variant": mostly(st.sampled_from(["v1", "v1.5", None]), st.just("v3")),
        "classes": mostly(st.integers(1, 20), st.sampled_from([0, -2, "ten", True])),
        "input_shape": mostly(
            st.sampled_from([(32, 32, 3), (8, 8, 1), (40, 36, 2), (None, None, 3), (64, 64, 3)]),
            st.one_of(
                st.tuples(st.integers(0, 80), st.integers(0, 80), st.integers(0, 5)),
                st.tuples(st.integers(1, 40), st.integers(1, 40)),
            ),
        ),
        "pooling": mostly(st.sampled_from([None, "avg", "max"]), st.just("min")),
        "include_top": st.booleans(),
        "zero_init_residual": st.sampled_from([None, True, False]),
    },
)


BLOCKS = {"basic": "BasicBlock", "bottleneck": "BottleneckBlock"}


# Never a hang: one example may take two minutes on a crowded machine (a deadline, with hypothesis'
# re-run before it reports one), the whole test fifteen (pytest-timeout).
@pytest.mark.timeout(900)
@settings(max_examples=80, deadline=datetime.timedelta(minutes=2), suppress_health_check=[HealthCheck.too_slow])
@given(arguments)
@example({"family_and_depth": ("resnet", 18), "block": "bottleneck"})  # a published layout's block is fixed
@example({"family_and_depth": ("cifar_resnet", 8), "include_top": False, "classes": "ten"})  # found by this test
@example(
    {
        "family_and_depth": ("cifar_resnet", 8),
        "shortcut": "B",
        "stochastic_depth": 0.7,
        "dropout": 0.1,
        "zero_init_residual": False,
        "input_shape": (8, 8, 1),
        "include_top": False,
        "pooling": "max",
    }
)
def test_build_either_works_or_names_the_argument(kwargs):
    family, kwargs["depth"] = kwargs.pop("family_and_depth")
    try:
        model = keras_resnet.build(family, **kwargs)
    except (ValueError, TypeError) as error:
        message = str(error)
        assert message.endswith((".", "?")), message
        named = [name for name in (*ARGUMENT_NAMES, "model") if name in message]
        assert named, f"error names no argument: {message}"
        event(f"rejected: {named[0]}")
        return
    event("built")
    # It built: every requested value was honoured, and the untrained model computes finite outputs.
    if kwargs.get("classes") is not None and kwargs.get("include_top", True):
        assert model.output_shape[-1] == kwargs["classes"]
    if kwargs.get("depth") is not None:
        assert model.name.endswith(str(kwargs["depth"]))
    if kwargs.get("input_shape") is not None:
        assert model.input_shape[1:] == tuple(kwargs["input_shape"])
    if not kwargs.get("include_top", True):
        assert len(model.output_shape) == (4 if kwargs.get("pooling") is None else 2)
    blocks = [
        layer.get_config() | {"type": type(layer).__name__} for layer in model.layers if hasattr(layer, "survival_prob")
    ]
    assert blocks
    for option, key in (("shortcut", "shortcut"), ("dropout", "dropout"), ("zero_init_residual", "zero_init")):
        if kwargs.get(option) is not None and not (option == "zero_init_residual" and kwargs.get("shortcut") == "none"):
            assert {block[key] for block in blocks} == {kwargs[option]}, option
    if kwargs.get("block") is not None:
        assert {block["type"] for block in blocks} == {BLOCKS[kwargs["block"]]}
    if kwargs.get("stochastic_depth") is not None:  # the last block's survival probability p_L
        assert np.isclose(blocks[-1]["survival_prob"], kwargs["stochastic_depth"])
    shape = [d or 64 for d in model.input_shape[1:]]
    out = keras.ops.convert_to_numpy(model(np.ones((1, *shape), "float32"), training=False))
    assert np.isfinite(out).all()
