"""keras-resnet-family: the residual-network family for Keras 3 (import name `keras_resnet`).

The PyPI name `keras-resnet` belongs to an unrelated 2019 package, hence the distribution name.
"""

import pathlib

from setuptools import find_packages, setup

# What training needs on any backend: matplotlib for the curves, Pillow to check and read folder images, and
# keras-tuner for `keras_resnet.tuning` (which imports six without declaring it; TensorFlow brings six along).
ANY_BACKEND = ["matplotlib", "pillow", "keras-tuner>=1.4.8", "six"]
# On TensorFlow besides: tfds (which imports importlib_resources when it loads a registered data set) and
# TensorBoard for Keras' TensorBoard callback (TF 2.21 no longer pulls it in).
TRAINING = ["tensorflow-datasets>=4.9.10", "importlib_resources", "tensorboard", *ANY_BACKEND]
# On JAX and PyTorch, without TensorFlow: tensorboardX writes the TensorBoard logs (Keras' callback needs TensorFlow).
NO_TENSORFLOW = ["tensorboardX", *ANY_BACKEND]
# Published weights by name (weights="imagenet", "timm/..."): timm's come from the Hugging Face Hub as
# safetensors; keras.applications' files need only Keras. Part of `tf` and `cpu`, so CI's .[cpu,test] has them.
WEIGHTS = ["huggingface_hub>=0.30", "safetensors"]

setup(
    name="keras-resnet-family",
    version="0.1.0",
    description="Every member of the residual-network family, one call away: Keras 3 models, training, "
    "tuning and TF Serving export.",
    long_description=pathlib.Path("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["keras_resnet", "keras_resnet.*"]),
    # The weights the package ships (ResNet20(weights="cifar10")): the file, its model card, its 32 test images.
    package_data={"keras_resnet.weights": ["trained/*.weights.h5", "trained/*.json", "trained/*.npz"]},
    python_requires=">=3.10",
    # Model code needs only Keras (it runs on the TensorFlow, JAX and PyTorch backends); TensorFlow,
    # needed by training, data, export and FLOPs cross-checks, comes as an extra so that a GPU build
    # (`tensorflow`) and the CPU wheel (`tensorflow-cpu`) do not both get installed. filelock (>= 3.30, for its
    # `lock_descriptor`) locks an output folder with flock on Unix and LockFileEx on Windows.
    install_requires=["keras>=3.15", "numpy", "scikit-learn", "wrapt", "filelock>=3.30"],
    extras_require={
        "tf": ["tensorflow>=2.21", *TRAINING, *WEIGHTS],
        "cpu": ["tensorflow-cpu>=2.21", *TRAINING, *WEIGHTS],
        "weights": WEIGHTS,
        "analysis": ["matplotlib"],  # the PNGs of keras_resnet.research.analysis
        # Models, training and tuning on the JAX backend without TensorFlow (CI's second job): JAX, what training
        # needs, and what the tests there need.
        "jax": ["jax[cpu]", *NO_TENSORFLOW, "pytest>=8", "pytest-xdist", "pytest-timeout", "hypothesis", "h5py"],
        # Models, training and tuning on the PyTorch backend without TensorFlow; also reading torchvision/timm
        # state dicts (.safetensors needs only safetensors, .pth needs torch).
        "torch": ["torch", "safetensors", *NO_TENSORFLOW],
        # The docs site (mkdocs.yml): the theme, the API reference from the docstrings, the notebooks rendered.
        "docs": ["mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.26", "mkdocs-jupyter>=0.25"],
        # nbclient, nbformat and ipykernel execute the example notebooks; jupytext checks them against
        # their script twins; ruff formats and lints the code (pyproject.toml), as CI checks; grpcio-tools' protoc
        # checks that keras_resnet/serving/prediction_log_pb2.py is generated from its .proto.
        "test": [
            "pytest>=8",
            "pytest-xdist",
            "pytest-timeout",
            "hypothesis",
            "matplotlib",
            "safetensors",
            "nbclient",
            "nbformat",
            "ipykernel",
            "jupytext",
            "ruff>=0.17",
            "grpcio-tools",
        ],
    },
    entry_points={"console_scripts": ["keras-resnet=keras_resnet.cli:main"]},
    classifiers=["Programming Language :: Python :: 3", "Topic :: Scientific/Engineering :: Artificial Intelligence"],
)
