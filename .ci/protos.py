"""Regenerate keras_resnet/serving/prediction_log_pb2.py from keras_resnet/serving/prediction_log.proto.

    python .ci/protos.py --protoc-python /path/to/venv/bin/python

The committed module comes from protoc 31.1 (`pip install grpcio-tools==1.75.1` in a virtual environment of its
own, named by --protoc-python), the protoc of TensorFlow 2.21's own *_pb2 modules: generated code refuses a protobuf
runtime older than its protoc, and TensorFlow 2.21 accepts protobuf 6.31.1 and newer. This interpreter needs
TensorFlow: the .proto imports tensorflow/core/framework/tensor.proto, and TensorFlow's wheel holds no .proto
files, so its compiled descriptors are handed to protoc as a descriptor set.
"""

import argparse
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROTO = "keras_resnet/serving/prediction_log.proto"


def descriptor_set():
    """TensorFlow's tensor.proto and the files it imports, as a serialized FileDescriptorSet."""
    from google.protobuf import descriptor_pb2
    from tensorflow.core.framework import tensor_pb2

    found, todo = {}, [tensor_pb2.DESCRIPTOR]
    while todo:
        file = todo.pop()
        if file.name not in found:
            found[file.name] = descriptor_pb2.FileDescriptorProto()
            file.CopyToProto(found[file.name])
            todo.extend(file.dependencies)
    return descriptor_pb2.FileDescriptorSet(file=list(found.values())).SerializeToString()


def generate(out, python=sys.executable):
    """Write `PROTO`'s module under the folder `out` (as protoc's --python_out does); return its path."""
    with tempfile.TemporaryDirectory() as folder:
        imports = pathlib.Path(folder) / "tensorflow.pb"
        imports.write_bytes(descriptor_set())
        command = [python, "-m", "grpc_tools.protoc", f"--descriptor_set_in={imports}", "-I", "."]
        subprocess.run([*command, f"--python_out={out}", PROTO], check=True, cwd=ROOT)
    return pathlib.Path(out) / PROTO.replace(".proto", "_pb2.py")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protoc-python", default=sys.executable, help="an interpreter with grpcio-tools")
    parser.add_argument("--out", default=str(ROOT), help="the folder protoc writes into (default: the repository)")
    args = parser.parse_args()
    print(generate(pathlib.Path(args.out).resolve(), args.protoc_python))
