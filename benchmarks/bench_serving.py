"""The model server side by side with ``mlflow models serve --env-manager local`` on the same
LogisticRegression: start to healthy, single-row p50 over loopback, throughput with 8 client threads,
and the cost of prediction logging."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from common import has_mlflow, mlflow_experiment, quiet_mlflow, result, workdir

COLUMNS = [f"x{i}" for i in range(8)]
ROW = json.dumps({"dataframe_split": {"columns": COLUMNS, "data": [[0.1] * 8]}}).encode()
HEADERS = {"content-type": "application/json"}
THREADS = 8
SECONDS = 3.0


def data():
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(500, 8)), columns=COLUMNS)
    return LogisticRegression().fit(X, (X.x0 > 0).astype(int)), X


def wait_healthy(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"nothing healthy on port {port}")


def latency_p50(port: int, n: int = 1_000) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    times = []
    for i in range(n + 50):
        started = time.perf_counter()
        connection.request("POST", "/invocations", body=ROW, headers=HEADERS)
        response = connection.getresponse()
        response.read()
        if i >= 50:  # warm-up requests are not counted
            times.append(time.perf_counter() - started)
        assert response.status == 200, response.status
    connection.close()
    return statistics.median(times)


def throughput(port: int) -> float:
    counts = [0] * THREADS
    stop = threading.Event()

    def client(i: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        while not stop.is_set():
            connection.request("POST", "/invocations", body=ROW, headers=HEADERS)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                counts[i] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    time.sleep(1.0)  # ramp up
    before = sum(counts)
    time.sleep(SECONDS)
    done = sum(counts) - before
    stop.set()
    for t in threads:
        t.join()
    return done / SECONDS


def ours(model, X) -> dict[str, float]:
    import jupyter_mlops as mlops

    folder = workdir()
    mlops.connect(f"sqlite:///{folder}/mlops.db", artifacts=f"{folder}/art")
    mlops.register_model(model, "churn", input_example=X.head())
    figures = {}
    started = time.perf_counter()
    logged = mlops.deploy("churn", name="logged", log_sample=1.0)
    figures["start"] = time.perf_counter() - started
    silent = mlops.deploy("churn", name="silent", log_sample=0.0)
    port, quiet_port = (int(d.url.rsplit(":", 1)[1]) for d in (logged, silent))
    figures["p50"] = latency_p50(port)
    with_log, without = [], []
    for _ in range(3):  # alternated, so drift on a shared machine hits both alike
        with_log.append(throughput(port))
        without.append(throughput(quiet_port))
    figures["rps"], figures["rps_nolog"] = statistics.median(with_log), statistics.median(without)
    logged.stop()
    silent.stop()
    return figures


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mlflow_figures(model, X) -> dict[str, float]:
    import mlflow
    import mlflow.sklearn

    quiet_mlflow()
    folder = workdir()
    mlflow_experiment(folder)
    uri = mlflow.get_tracking_uri()
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model, name="model", pip_requirements=["scikit-learn"], input_example=X.head()
        )
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": uri,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    started = time.perf_counter()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "models",
            "serve",
            "-m",
            info.model_uri,
            "-p",
            str(port),
            "--env-manager",
            "local",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_healthy(port)
        figures = {"start": time.perf_counter() - started}
        figures["p50"] = latency_p50(port)
        figures["rps"] = throughput(port)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    return figures


if __name__ == "__main__":
    model, X = data()
    mine = ours(model, X)
    theirs = mlflow_figures(model, X) if has_mlflow() else {}
    ms = 1_000
    result(
        "model server start to healthy",
        mine["start"],
        "s",
        theirs.get("start"),
        target="< 2 s",
        higher_is_better=False,
    )
    result(
        "one-row prediction over loopback, p50",
        mine["p50"] * ms,
        "ms",
        theirs["p50"] * ms if theirs else None,
        target="< 2 ms",
        higher_is_better=False,
    )
    result(
        f"throughput, {THREADS} client threads",
        mine["rps"],
        "req/s",
        theirs.get("rps"),
        target=">= 3x MLflow",
        note="every request logged",
    )
    result(
        "throughput with prediction logging, as a share of without",
        100 * mine["rps"] / mine["rps_nolog"],
        "%",
        target=">= 90 %",
    )
