"""Load a SavedModel version the way TF Serving does and run its signatures (run as a script only).

    python tf_serving_check.py VERSION_DIR INPUTS.npz RESULT.npz

`keras_resnet.serving.export.verify` runs this in a fresh process. It imports neither keras nor keras_resnet and
makes importing them raise, so an export that needed our Python code (a registered layer, a py_function)
fails here as it would in the server. INPUTS.npz holds `images` (and optionally `test_images`, whose
classes both signatures give); it writes each signature's outputs, a dict of checks and what
`saved_model_cli show --all` prints to RESULT.npz.
"""

import contextlib
import importlib.abc
import importlib.machinery
import io
import json
import sys
import traceback

BLOCKED = ("keras", "keras_resnet", "tf_keras")


class BlockKeras(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds keras and keras_resnet (with no file, so TensorFlow's look-ups see nothing) and raises on import."""

    def find_spec(self, name, path=None, target=None):
        return importlib.machinery.ModuleSpec(name, self) if name.split(".")[0] in BLOCKED else None

    def create_module(self, spec):
        raise ImportError(f"importing {spec.name} is blocked: a TF Serving export must load without it")


sys.meta_path.insert(0, BlockKeras())

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

PY_FUNCTIONS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}
DECODE = np.vectorize(bytes.decode, otypes=[str])  # string outputs as text, so np.load needs no pickle


def encode(images):
    return np.array([tf.io.encode_png(np.asarray(image, np.uint8)).numpy() for image in images], dtype=object)


def main(version_dir, inputs_path, result_path):
    inputs = np.load(inputs_path)
    images = inputs["images"]
    encoded = encode(images)
    test = inputs["test_images"] if "test_images" in inputs.files else None
    test_encoded = encode(test) if test is not None else None  # eagerly, before the graph of the session
    tf1 = tf.compat.v1
    with tf1.Session(graph=tf.Graph()) as session:
        meta_graph = tf1.saved_model.loader.load(session, ["serve"], version_dir)
        signatures = meta_graph.signature_def

        def run(name, value):
            signature = signatures[name]
            (tensor,) = signature.inputs.values()
            outputs = session.run({key: output.name for key, output in signature.outputs.items()}, {tensor.name: value})
            return {key: DECODE(value) if value.dtype == object else value for key, value in outputs.items()}

        results = {f"serving_default/{k}": v for k, v in run("serving_default", images.astype(np.float32)).items()}
        results.update({f"serving_bytes/{k}": v for k, v in run("serving_bytes", encoded).items()})
        if test is not None:  # a data set's test split, in batches of 256 as a client would send them
            for name, values in (("serving_default", test.astype(np.float32)), ("serving_bytes", test_encoded)):
                batches = [run(name, values[i : i + 256])["classes"] for i in range(0, len(values), 256)]
                results[f"{name}/test_classes"] = np.concatenate(batches)
        try:
            run("serving_bytes", np.array([b"not an image"], dtype=object))
            corrupt = False
        except tf.errors.InvalidArgumentError as error:
            corrupt = "image" in error.message.lower()
        again = run("serving_bytes", encoded[:1])["probabilities"]
        ops = {node.op for node in meta_graph.graph_def.node}
        ops |= {node.op for function in meta_graph.graph_def.library.function for node in function.node_def}
        served = [signatures[name] for name in ("serving_default", "serving_bytes")]
        tensors = [
            tensor for signature in served for tensor in (*signature.inputs.values(), *signature.outputs.values())
        ]
        checks = {
            "signatures serving_default (images) and serving_bytes (image_bytes)": {
                name: list(signatures[name].inputs)
                for name in ("serving_default", "serving_bytes")
                if name in signatures
            }
            == {"serving_default": ["images"], "serving_bytes": ["image_bytes"]},
            "batch dimension first (-1) on every input and output": all(
                t.tensor_shape.dim[0].size == -1 for t in tensors
            ),
            "only core TF ops (no py_function)": not ops & PY_FUNCTIONS,
            "a corrupt image fails that request with InvalidArgumentError": corrupt,
            "the session serves again after the corrupt request": bool(
                np.allclose(again, results["serving_bytes/probabilities"][:1], atol=1e-4)
            ),
            "keras and keras_resnet never imported": not any(name.split(".")[0] in BLOCKED for name in sys.modules),
        }
    np.savez(result_path, checks=json.dumps(checks), saved_model_cli=saved_model_cli_show(version_dir), **results)


def saved_model_cli_show(version_dir):
    """What `saved_model_cli show --dir VERSION_DIR --all` prints: its command's own entry point, run in this
    process (a process of its own would import TensorFlow again, ~5 s)."""
    from tensorflow.python.tools import saved_model_cli

    argv, sys.argv = sys.argv, ["saved_model_cli", "show", "--dir", version_dir, "--all"]
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            saved_model_cli.main()  # absl's app.run: exits when done
    except SystemExit:
        pass
    except Exception:  # noqa: BLE001 - the listing is a report: a failure to list is shown in it, not raised
        printed.write(traceback.format_exc())
    finally:
        sys.argv = argv
    return printed.getvalue().strip()


if __name__ == "__main__":
    main(*sys.argv[1:4])
