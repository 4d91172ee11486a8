"""MultiWorkerMirroredStrategy on localhost: two worker processes end with identical weights."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _run_workers(tmp_path: Path) -> list[dict]:
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    procs, logs = [], []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        env = dict(os.environ, TF_CONFIG=tf_config, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2")
        log = open(tmp_path / f"worker{index}.log", "w")
        logs.append(log)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "tests.mcunet.mwms_worker", str(tmp_path / f"w{index}.npz"),
             str(tmp_path / "ckpt")], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT))
    try:
        codes = [proc.wait(timeout=240) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        for log in logs:
            log.close()
    for index, code in enumerate(codes):
        assert code == 0, (tmp_path / f"worker{index}.log").read_text()[-3000:]
    return [dict(np.load(tmp_path / f"w{index}.npz")) for index in range(2)]


def test_two_workers_train_and_resume_to_identical_weights(tmp_path):
    first, second = _run_workers(tmp_path)
    assert first.keys() == second.keys()
    for key in first:
        # Zero tolerance: the all-reduced gradient and the update are the same numbers on both workers.
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    assert first["step1/start"] == 0 and first["step2/start"] == 1  # phase 2 resumed from the checkpoint
    trainable = [k for k in first if k.startswith("step2/trainable/")]
    moved = [k for k in trainable if not np.array_equal(first[k], first[k.replace("step2", "step1")])]
    assert len(moved) > len(trainable) // 2  # the second step really trained (and did not restart)
    # Only the chief's checkpoints remain (the other worker's temporary directory is removed).
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir() if p.is_dir()) == []
