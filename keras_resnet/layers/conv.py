"""A grouped convolution that is fast on every device (ResNeXt's cardinality).

Keras' `Conv2D(groups=...)` on the TensorFlow backend compiles every grouped convolution with XLA, whose CPU
kernel is about 150x slower than the same arithmetic run as one convolution per group (a 3x3, 128-channel,
32-group convolution at 56x56, batch 16, forward and backward: 15.7 s against 0.10 s); so is XLA's on the
JAX backend. TensorFlow's own grouped kernel (oneDNN's on the CPU, cuDNN's on a GPU) is fast: 44 ms there,
against 73 ms split and PyTorch's 41 ms. This `Conv2D` is Keras' with its weights exactly (one `kernel` of
shape `(kh, kw, in / groups, out)` and an optional `bias`), and runs each grouped convolution the fast way.

It keeps Keras' class name on purpose: a `.keras` or `.weights.h5` file addresses a layer held in a list
(a block's `convs`) by its class name (`conv2d`, `conv2d_1`, ...), so a block written with
`keras.layers.Conv2D` loads into this one unchanged, and back.

Which path runs is decided in one place, `grouped_conv_path`, from the `implementation` option:
"native" (the backend's grouped kernel: TensorFlow's own, called directly; Keras' op on JAX and PyTorch),
"split" (one convolution per group, concatenated) or "auto" (the default): "native" where that kernel is fast
(TensorFlow with oneDNN, which it uses on x86 CPUs unless TF_ENABLE_ONEDNN_OPTS=0, and without which it has
no grouped gradient at all; PyTorch, whose oneDNN kernel is fast too; any GPU or TPU), "split" elsewhere (JAX
on a CPU, TensorFlow without oneDNN). A train step compiled with XLA on a CPU (`jit_compile=True`) would
compile TensorFlow's grouped kernel with XLA too: pass "split" there. A built layer says which path it took
in its `resolved_implementation` attribute.
"""

import functools

from keras import backend, layers, ops

from keras_resnet.layers.common import register
from keras_resnet.utils import checks

IMPLEMENTATIONS = ("auto", "native", "split")


@functools.cache
def _native_is_fast():
    """Whether the Keras backend's grouped kernel is fast in this process (asked once; the module docstring)."""
    name = backend.backend()
    if name == "tensorflow":
        import tensorflow as tf  # the backend has imported it already

        # Physical devices: listing logical ones would initialise the runtime, after which a strategy's
        # logical CPU devices (`--cpu-devices`) could no longer be configured.
        if tf.config.list_physical_devices("GPU") or tf.config.list_physical_devices("TPU"):
            return True
        try:  # TensorFlow has no public query for oneDNN: this is what its own tests ask (test_util.IsMklEnabled)
            from tensorflow.python.util import _pywrap_util_port

            return bool(_pywrap_util_port.IsMklEnabled())
        except (ImportError, AttributeError):
            return False
    if name == "jax":
        import jax

        return jax.default_backend() != "cpu"
    return True  # torch: its grouped kernel is fast on the CPU too (oneDNN), as on GPUs


def grouped_conv_path(implementation="auto"):
    """The path a grouped convolution takes: "native" or "split" (the rule in the module docstring).

    Args:
        implementation: "auto", "native" or "split".

    Returns:
        "native" or "split".
    """
    checks.check_choice("implementation", implementation, IMPLEMENTATIONS)
    if implementation != "auto":
        return implementation
    return "native" if _native_is_fast() else "split"


@register
class Conv2D(layers.Conv2D):
    """`keras.layers.Conv2D` whose grouped form (`groups > 1`) is fast on every device (the module docstring).

    Args:
        filters, kernel_size, strides, padding, groups, ...: as `keras.layers.Conv2D`.
        implementation: "auto" (the default: see `grouped_conv_path`), "native" or "split".

    Example: `Conv2D(128, 3, groups=32, padding="same")` (ResNeXt-50's first 3x3).
    """

    def __init__(self, *args, implementation="auto", **kwargs):
        super().__init__(*args, **kwargs)
        self.implementation = implementation
        self.resolved_implementation = grouped_conv_path(implementation) if self.groups > 1 else "native"

    def convolution_op(self, inputs, kernel):
        if self.resolved_implementation == "native":
            if self.groups > 1 and backend.backend() == "tensorflow":
                import tensorflow as tf

                # TensorFlow's kernel itself: Keras' op would compile a grouped convolution with XLA.
                return tf.nn.convolution(
                    inputs,
                    kernel,
                    strides=self.strides,
                    padding=self.padding.upper(),
                    dilations=self.dilation_rate,
                    data_format="NHWC" if self.data_format == "channels_last" else "NCHW",
                )
            return super().convolution_op(inputs, kernel)
        # Group g reads input channels [g*i, (g+1)*i) and owns output channels [g*o, (g+1)*o): Conv2D's
        # layout, so the per-group kernels are the kernel's consecutive slices along its output axis.
        options = dict(
            strides=self.strides, padding=self.padding, dilation_rate=self.dilation_rate, data_format=self.data_format
        )
        channels = -1 if self.data_format == "channels_last" else 1
        pieces = zip(ops.split(inputs, self.groups, axis=channels), ops.split(kernel, self.groups, axis=-1))
        return ops.concatenate([ops.conv(x, k, **options) for x, k in pieces], axis=channels)

    def get_config(self):
        return {**super().get_config(), "implementation": self.implementation}
