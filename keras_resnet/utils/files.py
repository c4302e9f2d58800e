"""The files keras_resnet writes: atomic writes that check the free space first, state files that name
themselves when damaged, and the claim of an output folder by one run (no Keras, no TensorFlow).

Every file goes to a hidden name beside its target and is renamed into place once whole, so a kill or a
full disk mid-write leaves the previous file intact. A run holds its output folder with an OS-level lock
(filelock's `lock_descriptor`: `flock` on Unix, `LockFileEx` on Windows; released by the kernel when the
process dies, however it dies), so a second run into the same folder is refused at once; and a run only ever
removes, on `overwrite`, the files a run of its own kind writes, in a folder whose `config.json` says it holds one.
"""

import contextlib
import errno
import json
import math
import os
import pathlib
import shutil
import uuid

import numpy as np
from filelock import lock_descriptor

CONFIG = "config.json"
LOCK = ".keras_resnet.lock"
# A write needs the bytes it holds plus the file format's own bookkeeping: HDF5 and zip add ~1-2 KiB per
# array (measured: a ResNet-20 checkpoint of 2.16 MB of arrays in 160 arrays is a 2.37 MB file).
PER_ARRAY, SLACK = 4096, 256 * 1024


class WriteError(OSError):
    """A file could not be written: one sentence naming it, why, and the free space on its disk."""

    def __init__(self, path, reason, code=None):
        self.path, self.reason = pathlib.Path(path), reason
        super().__init__(code, str(self))

    def __str__(self):
        return (
            f"could not write {self.path} ({self.reason}; {megabytes(free_bytes(self.path.parent))} free on its "
            f"disk): free disk space or choose another output, then run the same command again (it resumes; the "
            f"files already in {self.path.parent} are whole)"
        )


def megabytes(count):
    """Bytes as text in megabytes.

    Args:
        count: a number of bytes.

    Returns:
        e.g. "2.4 MB".
    """
    return f"{count / 1e6:.1f} MB"


def free_bytes(folder):
    """Bytes an unprivileged write may still use on the disk holding `folder`.

    Args:
        folder: any existing folder on the disk.

    Returns:
        The free bytes (0 if the disk cannot be read).
    """
    try:
        stat = os.statvfs(folder)
    except OSError:
        return 0
    return stat.f_bavail * stat.f_frsize


def space_for(array_bytes, arrays):
    """The bytes a checkpoint takes on disk, at most.

    Args:
        array_bytes: the bytes of its arrays.
        arrays: how many arrays it holds.

    Returns:
        The bytes, with the file format's bookkeeping.
    """
    return array_bytes + PER_ARRAY * arrays + SLACK


def model_bytes(model, optimizer=True):
    """The bytes a checkpoint of a Keras model takes on disk, at most (`space_for` its variables).

    Args:
        model: a built `keras.Model`.
        optimizer: count its optimizer's variables too.

    Returns:
        The bytes.
    """
    variables = list(model.weights) + (list(model.optimizer.variables) if optimizer and model.optimizer else [])
    size = sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in variables)
    return space_for(size, len(variables))


def _partial_tail(path):
    return f"{path.name.split('.')[0]}-partial{''.join(path.suffixes)}"


def partial_name(path):
    """A new hidden name beside a file, for one write that goes there before it is renamed into place.

    Each call gives another name, so that two writers of one file never write into each other's.

    Args:
        path: the file's path.

    Returns:
        The hidden path `.<random>.<stem>-partial<suffixes>` in the same folder (the suffixes kept, as
        Keras and h5py read the kind of file from them).
    """
    path = pathlib.Path(path)
    return path.with_name(f".{uuid.uuid4().hex[:12]}.{_partial_tail(path)}")


def partials(path):
    """The hidden files that writes of `path` cut short left beside it.

    Args:
        path: the file's path.

    Returns:
        A list of paths.
    """
    path = pathlib.Path(path)
    tail = _partial_tail(path)
    return [
        found for found in path.parent.glob(f".*{tail}") if found.name == f".{tail}" or found.name.endswith(f".{tail}")
    ]


def is_partial(name):
    """Whether a file name is one of `partial_name`'s (a write cut short leaves such a file).

    Args:
        name: a file name.

    Returns:
        True or False.
    """
    return name.startswith(".") and "-partial" in name


@contextlib.contextmanager
def atomic_write(path, needs=0):
    """Yield a new hidden temporary path beside `path`; once written (if it was), sync it and rename it into place.

    Args:
        path: the file to write.
        needs: the bytes the write will take (`space_for`); when the disk holds fewer, the write is refused
            before it starts: HDF5 crashes the process (exit 139) when the disk fills under it.

    Raises:
        WriteError: the disk is too full or the write failed; it names `path` and the free space.
    """
    path = pathlib.Path(path)
    partial = partial_name(path)
    if needs and free_bytes(path.parent) < needs:
        raise WriteError(path, f"it needs about {megabytes(needs)}", errno.ENOSPC)
    try:
        yield partial
        if partial.exists():
            _fsync(partial)  # its bytes on the disk before its name: a power cut leaves the old file or the new
            os.replace(partial, path)  # atomic on POSIX: a reader sees the old file or the new one
            _fsync(path.parent)  # the rename itself
    except WriteError:
        partial.unlink(missing_ok=True)
        raise
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise WriteError(path, error.strerror or str(error), error.errno) from error


def _fsync(path):
    descriptor = os.open(path, os.O_RDONLY)  # a folder too: its entries are what a rename changes
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_text(path, text):
    """Write a text file atomically (see `atomic_write`).

    Args:
        path: the file.
        text: its content.
    """
    with atomic_write(path, needs=len(text.encode()) + SLACK) as partial:
        partial.write_text(text)


def write_json(path, value):
    """Write a JSON file atomically (see `atomic_write`).

    Args:
        path: the file.
        value: what it holds (JSON-serialisable), written indented.
    """
    write_text(path, json.dumps(value, indent=2) + "\n")


def read_json(path, fix):
    """The JSON value in `path`.

    Args:
        path: a JSON state file.
        fix: what the reader should do about a damaged file, the end of the error's sentence.

    Returns:
        The value.

    Raises:
        ValueError: the file is empty, cut short or not JSON; the message names it.
    """
    try:
        return json.loads(pathlib.Path(path).read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is damaged (empty, cut short or not JSON: {error}): {fix}") from None


def check_writable(folder):
    """Fail at once, with one sentence, when `folder` cannot be created or written; create nothing.

    The folder itself, or the nearest of its parents that exists, gets a probe file (removed at once):
    permissions alone do not tell, root ignores them but not a read-only or immutable file system.

    Args:
        folder: the output folder a run will write.

    Raises:
        ValueError: it cannot be written; the message says why.
    """
    folder = pathlib.Path(folder).absolute()
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        probe = existing / f".keras_resnet-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise ValueError(
            f"output {folder} is not writable ({error.strerror or error}): choose another output (--output) "
            "or make it writable"
        ) from None


@contextlib.contextmanager
def held(path):
    """Hold an OS lock on `path` (created if needed) for the `with` block, waiting while another process holds it.

    The kernel releases the lock when its holder dies, however it dies, so a killed process never leaves
    the next one waiting.

    Args:
        path: the lock file.
    """
    with open(path, "a+") as lock:
        lock_descriptor(lock.fileno())
        yield


def _remove(entry):
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink()


@contextlib.contextmanager
def claim(output, kind, config, names, overwrite=False):
    """Hold `output` for one run of `kind` and make it hold this run's files only, for the `with` block.

    The folder is locked (an OS lock that dies with the process: a second run is refused at once, naming
    the holder's pid). An empty or new folder is this run's; one whose `config.json` holds the same
    `config` is resumed; one holding another run of `kind` is refused unless `overwrite`, which then
    removes only the entries in `names` (the files such a run writes). Anything else in the folder, or
    a folder without a run's `config.json`, is refused, naming one entry: nothing a user wrote is removed.

    Args:
        output: the folder (created if needed).
        kind: the writer, e.g. "train" or "tune"; recorded in `config.json`.
        config: the run's settings (JSON-serialisable); written to `config.json`.
        names: the file and folder names a run of `kind` writes in `output` (besides `config.json`).
        overwrite: replace another run of `kind` held in `output`.

    Raises:
        ValueError: the folder is in use, holds something else, or holds another run without `overwrite`.
    """
    output = pathlib.Path(output)
    created = not output.exists()
    output.mkdir(parents=True, exist_ok=True)
    config = {"written_by": f"keras_resnet {kind}", **config}
    with open(output / LOCK, "a+") as lock:
        if not lock_descriptor(lock.fileno(), blocking=False):
            try:
                lock.seek(0)
                holder = lock.read().strip() or "unknown"
            except OSError:  # Windows' lock covers the file's first byte against reads too
                holder = "unknown"
            raise ValueError(
                f"output {output} is in use by another keras-resnet {kind} (pid {holder}): wait for it to finish "
                "or choose another output"
            )
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        fresh = _take(output, kind, config, {CONFIG, LOCK, *names}, overwrite)
        write_json(output / CONFIG, config)
        try:
            yield output
        except BaseException:
            # A run refused before it wrote anything (a bad option found late) leaves no claim behind:
            # otherwise the corrected command would be refused as "a different run".
            if fresh and {entry.name for entry in output.iterdir()} <= {CONFIG, LOCK}:
                (output / CONFIG).unlink()
                if created:
                    (output / LOCK).unlink()
                    output.rmdir()
            raise
    # Closing the file released the lock; the lock file stays (removing it would race with a next run).


def _take(output, kind, config, names, overwrite):
    """Make `output` this run's; True when it held nothing before (a fresh claim)."""
    entries = sorted(entry for entry in output.iterdir() if entry.name != LOCK)
    if not entries:
        return True
    foreign = [entry.name for entry in entries if entry.name not in names and not is_partial(entry.name)]
    saved = output / CONFIG
    if foreign or not saved.exists():
        what = foreign[0] if foreign else entries[0].name
        raise ValueError(
            f"output {output} holds {what}, which a keras_resnet {kind} run did not write: choose an empty or new "
            "folder (--output); nothing was removed"
        )
    fix = "pass overwrite=True (--overwrite) to replace the run it belonged to"
    try:
        previous, damage = read_json(saved, fix), None
    except ValueError as error:
        previous, damage = None, str(error)
    if damage is None and not isinstance(previous, dict):
        previous, damage = None, f"{saved} is damaged (it holds no settings): {fix}"
    if previous == config:
        return False  # the same run: resume it
    if isinstance(previous, dict) and previous.get("written_by", config["written_by"]) != config["written_by"]:
        raise ValueError(
            f"output {output} holds a {previous['written_by']} run, not a {config['written_by']} one: choose "
            "another output; nothing was removed"
        )
    if not overwrite:
        if damage:
            raise ValueError(damage)
        changed = sorted(k for k in set(config) | set(previous) if previous.get(k) != config.get(k))
        raise ValueError(
            f"output {output} holds a different {kind} run (differs in {', '.join(changed)}); choose another "
            "output or pass overwrite=True (--overwrite) to replace it"
        )
    for entry in entries:
        _remove(entry)
    return False
