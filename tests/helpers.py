"""keras-hub's `run_layer_test` / `run_backbone_test`, for keras_resnet: one thorough check per kind of
object, so that each layer's and each family's test is a line. Backend-neutral (no TensorFlow)."""

import keras
import numpy as np

POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def run_layer_test(
    cls,
    init_kwargs,
    input_shape,
    expected_output_shape,
    expected_num_trainable_weights,
    expected_num_non_trainable_weights,
    tmp_path,
    trains=True,
):
    """Build `cls(**init_kwargs)` on `input_shape` (batch first) and check what every layer must do.

    Output shape and `compute_output_shape`, weight counts, a get_config/from_config round trip that gives
    the same outputs, the dtype of the output and of every sublayer under each of `POLICIES`, one training
    step that moves its trainable weights (`trains=False` for a layer whose weights only its block's call
    uses, as the highway gate), and a `.keras` round trip with equal outputs.
    """
    x = np.random.default_rng(0).random(input_shape, dtype=np.float32)
    layer = cls(**init_kwargs)
    out = numpy(layer(x))
    assert (
        out.shape == expected_output_shape and tuple(layer.compute_output_shape(input_shape)) == expected_output_shape
    )
    assert np.isfinite(out).all()
    assert (len(layer.trainable_weights), len(layer.non_trainable_weights)) == (
        expected_num_trainable_weights,
        expected_num_non_trainable_weights,
    ), cls.__name__
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(numpy(clone(x)), out, atol=1e-6)
    for policy in POLICIES:
        typed = cls(**init_kwargs, dtype=policy)
        result = typed(x)
        compute = keras.DTypePolicy(policy).compute_dtype
        assert keras.backend.standardize_dtype(result.dtype) == compute, (cls.__name__, policy, result.dtype)
        inner = [sub for sub in typed._flatten_layers(include_self=False)]
        assert all(sub.dtype_policy.name == policy for sub in inner), (
            cls.__name__,
            policy,
            [(s.name, s.dtype_policy.name) for s in inner],
        )
    inputs = keras.Input(input_shape[1:])
    pooled = keras.layers.GlobalAveragePooling2D()(cls(**init_kwargs, name="tested")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3)(pooled))
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = [numpy(w).copy() for w in model.get_layer("tested").trainable_weights]
    model.fit(x, np.arange(len(x)) % 3, batch_size=len(x), epochs=1, verbose=0)
    after = [numpy(w) for w in model.get_layer("tested").trainable_weights]
    assert not trains or not before or any(not np.array_equal(a, b) for a, b in zip(before, after)), (
        f"a step moved no weight of {cls.__name__}"
    )
    path = tmp_path / f"{cls.__name__}.keras"
    model.save(path)
    np.testing.assert_allclose(numpy(keras.saving.load_model(path)(x)), numpy(model(x)), atol=1e-6)


def run_backbone_test(name, tmp_path, input_shape, **options):
    """Build `keras_resnet.build(name, ...)` small and check it as keras-hub checks a backbone: its plan's
    parameter count, a finite forward pass, a config round trip, two training steps and a `.keras` round
    trip giving equal outputs."""
    import keras_resnet

    model = keras_resnet.build(name, input_shape=input_shape, classes=3, **options)
    plan = keras_resnet.specs.resolve(name, input_shape=input_shape, classes=3, **options)
    assert model.count_params() == sum(plan.parameters())
    x = np.random.default_rng(0).random((4, *input_shape), dtype=np.float32)
    out = numpy(model(x, training=False))
    assert out.shape == (4, 3) and np.isfinite(out).all()
    assert type(model).from_config(model.get_config()).get_config() == model.get_config()
    model.compile(keras.optimizers.SGD(0.01, clipnorm=1.0), "sparse_categorical_crossentropy")
    history = model.fit(x, np.arange(4) % 3, batch_size=2, epochs=1, verbose=0)  # two steps
    assert np.isfinite(history.history["loss"]).all()
    path = tmp_path / "backbone.keras"
    model.save(path)
    np.testing.assert_allclose(
        numpy(keras.saving.load_model(path)(x, training=False)), numpy(model(x, training=False)), atol=1e-5
    )
    return model


def gradients(fn, *arrays):
    """`fn(*arrays)` (a tensor) and the gradients of `sum(fn(*arrays) ** 2)` with respect to each array, as
    NumPy arrays, on whichever backend Keras runs."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        def loss(*xs):
            return (fn(*xs) ** 2).sum()

        return numpy(fn(*arrays)), [numpy(g) for g in jax.grad(loss, argnums=tuple(range(len(arrays))))(*arrays)]
    if backend == "torch":
        import torch

        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*tensors)
        (out**2).sum().backward()
        return numpy(out.detach()), [numpy(t.grad) for t in tensors]
    import tensorflow as tf

    tensors = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        out = fn(*tensors)
        loss = tf.reduce_sum(out**2)
    return numpy(out), [numpy(g) for g in tape.gradient(loss, tensors)]
