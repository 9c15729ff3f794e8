"""A Spark standalone cluster on this machine: one master and some workers, on loopback.

Tests and benchmarks use it to show the Spark engine working past one JVM -- the driver
sends tasks over the network to worker JVMs that run them in executors of their own, as on
a real cluster -- without a cluster to hand. The pip ``pyspark`` package ships the classes
but not ``sbin/start-master.sh``, so the master and workers are started as
``bin/spark-class org.apache.spark.deploy.master.Master`` and ``...worker.Worker``, each its
own process group, bound to 127.0.0.1 with port 0 (the kernel picks free ports; the master's
are read from its log), with their logs and scratch in a private folder. Leaving the
``with`` block stops every JVM it started, whatever happened inside.

To point an environment at a real cluster instead, see docs/running-an-environment.md.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson

MASTER = "org.apache.spark.deploy.master.Master"
WORKER = "org.apache.spark.deploy.worker.Worker"
LOOPBACK = "127.0.0.1"
START_SECONDS = 120.0
_MASTER_URL = re.compile(r"Starting Spark master at (spark://[\d.]+:\d+)")
_UI_URL = re.compile(r"MasterWebUI.*started at (http://[\w.-]+:\d+)")


class ClusterError(RuntimeError):
    """The cluster did not start (its log says why)."""


@dataclass(frozen=True, slots=True)
class Cluster:
    """A running cluster: where the driver connects, and its web UI (for asking its state)."""

    master: str
    ui: str
    workers: int
    cores_per_worker: int
    pids: tuple[int, ...]
    """The master's and workers' JVMs (each the leader of its process group)."""

    def alive_workers(self) -> int:
        with urllib.request.urlopen(f"{self.ui}/json/", timeout=5) as answer:
            state = orjson.loads(answer.read())
        return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")


def _spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def _start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(_spark_class()), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own process group: stopped whole, never orphaned
        )


def _wait_for(pattern: re.Pattern[str], log: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        found = pattern.search(log.read_text(errors="replace"))
        if found:
            return found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise ClusterError(f"Spark did not start: see its log, {log}:\n{log.read_text()[-2000:]}")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def standalone_cluster(
    workers: int = 2, cores_per_worker: int = 1, memory_per_worker: str = "1g"
) -> Iterator[Cluster]:
    """Start a master and ``workers`` workers on loopback; stop them all on leaving."""
    scratch = Path(tempfile.mkdtemp(prefix="fivesafes-spark-"))
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": LOOPBACK,
        "SPARK_LOG_DIR": str(scratch),
        "SPARK_WORKER_DIR": str(scratch / "work"),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_NO_DAEMONIZE": "1",
        # no REST submission server: it would listen on a fixed port (6066)
        "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        master_log = scratch / "master.log"
        master = _start(
            [MASTER, "--host", LOOPBACK, "--port", "0", "--webui-port", "0"], master_log, env
        )
        processes.append(master)
        url = _wait_for(_MASTER_URL, master_log, master)
        ui = _wait_for(_UI_URL, master_log, master)
        for n in range(workers):
            args = [WORKER, "--host", LOOPBACK, "--port", "0", "--webui-port", "0"]
            args += ["--cores", str(cores_per_worker), "--memory", memory_per_worker]
            args += ["--work-dir", str(scratch / f"work-{n}"), url]
            processes.append(_start(args, scratch / f"worker-{n}.log", env))
        pids = tuple(p.pid for p in processes)
        cluster = Cluster(url, ui, workers, cores_per_worker, pids)
        deadline = time.monotonic() + START_SECONDS
        while cluster.alive_workers() < workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                logs = "\n".join(p.read_text()[-800:] for p in sorted(scratch.glob("*.log")))
                raise ClusterError(f"Spark's workers did not register with the master:\n{logs}")
            time.sleep(0.3)
        yield cluster
    finally:
        _stop(processes)
        shutil.rmtree(scratch, ignore_errors=True)


def cluster_session(cluster: Cluster, app: str = "fivesafes") -> object:
    """A SparkSession whose executors run on the cluster's workers (driver on loopback)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(cluster.master)
        .appName(app)
        .config("spark.driver.host", LOOPBACK)
        .config("spark.driver.bindAddress", LOOPBACK)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.executor.memory", "768m")
        .config("spark.executor.cores", str(cluster.cores_per_worker))
        .config("spark.cores.max", str(cluster.workers * cluster.cores_per_worker))
        .config("spark.sql.shuffle.partitions", str(cluster.workers * cluster.cores_per_worker))
        .getOrCreate()
    )
