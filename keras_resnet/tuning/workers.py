"""The processes of a search: every trial trains in a fresh Python process, so that its memory goes back to
the operating system when it ends, and a process that dies loses its own trial only.

The chief serves keras-tuner's oracle over gRPC (`serve`, keras-tuner's distributed mode); each of its local
workers, and each `keras-resnet tune` joining from another machine (`work`), is a `Worker`: it asks the oracle
for a trial, starts a process for it (`TRIAL_COMMAND`: `keras_resnet.tuning.run_trial_process`, which runs
the trial inside `trial_process`), and watches it. A trial whose process dies (a crash, the out-of-memory
killer) runs again in a new one, and is marked failed after `TRIAL_RUNS` deaths; a trial process ends when its
parent does; an error that must stop the whole search (a full disk) comes back through a pipe.

Not concurrent.futures' ProcessPoolExecutor (`max_tasks_per_child=1`) or a multiprocessing pool: a pool breaks
as a whole when one of its processes dies (every running trial fails with it), each worker's processes need
their own `KERASTUNER_TUNER_ID` in their environment before keras-tuner is imported, the oracle gives a
worker its trial before any process starts (so that none starts only to hear the search is over), and
`max_tasks_per_child` needs Python 3.11.
"""

import collections
import json
import os
import subprocess
import sys
import threading
import time
from concurrent import futures

import keras_tuner

TRIAL_RUNS = 2  # a trial whose process dies this many times is marked failed
STOPPED_SEARCH = 3  # a trial process's exit status when it stopped the whole search (a full disk)
# A trial's process: the search's arguments as JSON, the report pipe's descriptor, the parent's pid.
TRIAL_COMMAND = "import sys; from keras_resnet import tuning; sys.exit(tuning.run_trial_process(*sys.argv[1:]))"


def trial_process(trial, report, parent):
    """Run `trial()` as the trial process of a `Worker`, ending with this process's parent.

    Args:
        trial: a function that runs one trial.
        report: a file descriptor that receives, as JSON, an error that stops the whole search.
        parent: the pid of the process that started this one (it may have died while this one started up).

    Returns:
        The exit status: 0 when the trial ran (whatever its outcome), `STOPPED_SEARCH` when it stopped the search.
    """

    def follow_parent():
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=follow_parent, daemon=True).start()
    try:
        trial()
    except (keras_tuner.errors.FatalError, OSError, ValueError) as error:
        kind = (
            "OSError"
            if isinstance(error, OSError)
            else "ValueError"
            if isinstance(error, ValueError)
            else "RuntimeError"
        )
        os.write(report, json.dumps({"kind": kind, "message": str(error)}).encode())
        return STOPPED_SEARCH
    return 0


class Worker:
    """One worker of a search: its trials one at a time, each in a fresh Python process.

    The chief runs one for each local worker (`oracle` is the search's own); `keras-resnet tune` on another
    machine runs one for itself (`oracle` a keras-tuner client of the chief). The oracle gives the worker its
    next trial before the process starts (so that no process starts only to hear that the search is over).

    Args:
        oracle: the search's keras-tuner oracle, or a client of it.
        tuner_id: the worker's keras-tuner id (`KERASTUNER_TUNER_ID`).
        job: the search's arguments (see `keras_resnet.tuning.search`), with the data set by name: the
            processes get it as JSON.
        environment: variables the trial processes get besides this process's (the chief's address).
        verbose: 0 to start processes without saying so.
    """

    def __init__(self, oracle, tuner_id, job, environment, verbose=1):
        self.oracle, self.tuner_id, self.job, self.verbose = oracle, tuner_id, json.dumps(job, default=list), verbose
        self.environment = {**os.environ, **environment, "KERASTUNER_TUNER_ID": tuner_id}
        self.process = self.trial = self.report = None
        self.deaths, self.ran, self.done = collections.Counter(), [], False

    def poll(self):
        """Start the next trial's process once the last one has ended.

        Returns:
            False once the oracle has no more trials for this worker.

        Raises:
            OSError, ValueError: a trial process stopped the search (a full disk); its error.
        """
        if self.process is not None:
            status = self.process.poll()
            if status is None:
                return True
            self._ended(status)
        if self.done:
            return False
        trial = self.oracle.create_trial(self.tuner_id)
        if trial.status == keras_tuner.engine.trial.TrialStatus.STOPPED:
            self.done = True
        elif trial.status == keras_tuner.engine.trial.TrialStatus.RUNNING:
            self._start(trial)
        return not self.done  # IDLE: the oracle waits for other trials to end (Hyperband); ask again later

    def _start(self, trial):
        read, write = os.pipe()
        command = [sys.executable, "-c", TRIAL_COMMAND, self.job, str(write), str(os.getpid())]
        self.process = subprocess.Popen(command, env=self.environment, pass_fds=(write,))
        os.close(write)
        self.trial, self.report = trial, read
        if self.verbose:
            print(f"tune: trial {trial.trial_id} on {self.tuner_id} (pid {self.process.pid})", flush=True)

    def _ended(self, status):
        with os.fdopen(self.report, "rb") as report:
            stopped = report.read()
        trial, self.process = self.trial, None
        if status == 0:
            self.ran.append(trial.trial_id)
            return
        if status == STOPPED_SEARCH and stopped:
            error = json.loads(stopped)
            raise (ValueError if error["kind"] == "ValueError" else OSError)(error["message"])
        self.deaths[trial.trial_id] += 1
        died = f"the process running trial {trial.trial_id} on {self.tuner_id} ended with exit status {status}"
        if self.deaths[trial.trial_id] >= TRIAL_RUNS:
            trial.status = keras_tuner.engine.trial.TrialStatus.FAILED
            trial.message = f"{died}, {TRIAL_RUNS} times: marked failed"
            self.oracle.end_trial(trial)
            print(f"tune: {trial.message}", file=sys.stderr, flush=True)
        else:
            print(f"tune: {died}; it runs again in a new process", file=sys.stderr, flush=True)

    def stop(self):
        """Kill the running trial process, if any (its trial runs again when the search resumes)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            os.close(self.report)
            self.process = None


def serve(searcher, workers, job, verbose):
    """Serve `searcher`'s oracle over gRPC to `workers` local worker processes (and any remote ones) until the
    search is over. keras-tuner's own `oracle_chief.start_server` polls every 20 s and watches no process."""
    import grpc
    from keras_tuner.src import protos  # keras-tuner's distributed mode is public only through its environment
    from keras_tuner.src.distribute import oracle_chief

    oracle = searcher.oracle
    oracle.verbose = verbose
    searcher.save()  # as keras-tuner's chief does: a re-run then resumes ("Reloading Tuner")
    host = os.environ.get("KERASTUNER_ORACLE_IP", "127.0.0.1")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = oracle_chief.OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    address = f"{host}:{os.environ.get('KERASTUNER_ORACLE_PORT', 0)}"
    try:
        port = server.add_insecure_port(address)
    except RuntimeError:
        port = 0
    if not port:
        raise OSError(f"the search's chief cannot listen on {address}: choose a free KERASTUNER_ORACLE_PORT")
    server.start()
    environment = {"KERASTUNER_ORACLE_IP": host, "KERASTUNER_ORACLE_PORT": str(port)}
    local = [Worker(oracle, f"worker{i}", job, environment, verbose) for i in range(workers)]
    try:
        while True:
            busy = [worker.poll() for worker in local]
            asked = servicer.stop_triggered or any(worker.done for worker in local)
            if asked and not any(busy) and oracle_chief.exit_chief(oracle):
                break
            time.sleep(0.2)
    finally:
        for worker in local:
            worker.stop()
        server.stop(0)


def work(tuner_id, job):
    """A worker of a chief elsewhere (`KERASTUNER_ORACLE_IP`/`_PORT`): its trials, a process each, until the end."""
    from keras_tuner.src.distribute import oracle_client

    worker = Worker(oracle_client.OracleClient(None), tuner_id, job, {}, job["verbose"])
    if job["verbose"]:
        print(
            f"tune: {tuner_id}, a worker of the chief on {os.environ['KERASTUNER_ORACLE_IP']}:"
            f"{os.environ['KERASTUNER_ORACLE_PORT']}, a process per trial",
            flush=True,
        )
    try:
        while worker.poll():
            time.sleep(1)
    finally:
        worker.stop()
    return {"worker": tuner_id, "trials": worker.ran}
