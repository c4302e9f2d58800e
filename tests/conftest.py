import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# `pytest -n N`: each worker's TensorFlow (and every process a test starts, which inherits this) gets its share of
# the cores. By default each sizes its thread pools to every core, and N workers' threads contend: on 2 cores, test
# files ran 11-12% slower that way.
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if WORKERS > 1:
    for pool in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(pool, str(max(1, (os.cpu_count() or 1) // WORKERS)))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


@pytest.fixture
def images():
    """A function returning `n` random channels-last images of a given shape (0-1 floats)."""

    def make(shape, n=4):
        return np.random.default_rng(0).random((n, *shape), dtype=np.float32)

    return make


# Modules whose module-scoped fixture is costly (the quick bench run, 90 s on 2 cores; the docs site; a trained
# ResNet-20; the JAX module's training runs): each runs on one worker, so that the fixture is made once.
ONE_WORKER = ("tests/test_bench.py", "tests/test_docs.py", "tests/test_analysis.py", "tests/test_backends_training.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`pytest -n 2` sends each module of `ONE_WORKER` to one worker as a whole and every other test to whichever
    worker is free, the modules first (xdist's scope scheduling, largest scope first). `--dist loadgroup` does
    the same: with pytest 9 xdist no longer sees `xdist_group` marks (it renames a test's `_nodeid`, which
    pytest 9 does not read), so a group would be split."""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModulesOnOneWorker(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            module = nodeid.split("::")[0]
            return module if module in ONE_WORKER else nodeid

    return ModulesOnOneWorker(config, log)
