"""The tflite-bridge command: table, JSON, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from tests.conftest import INT8_MODELS
from tflite_bridge.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tflite_bridge", *map(str, args)],
        check=False,  # the exit status is what the tests check
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_table_via_python_dash_m():
    proc = _cli(INT8_MODELS["kws"])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["#", "op", "v"]
    assert (
        "DEPTHWISE_CONV_2D" in lines[3]
        and "1x25x5x64 i8" in lines[3]
        and "per-ch[axis 3] x64" in lines[3]
    )
    assert len(lines) == 2 + 13 + 1
    assert lines[-1] == (
        "total: 13 ops, 2,656,768 MACs, 24,376 weight bytes, "
        "activation lower bound 16,000 bytes"
    )


def test_json_keys_and_totals(capsys):
    assert main([str(INT8_MODELS["vww"]), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {
        "ops",
        "tensors",
        "macs",
        "weight_bytes",
        "activation_lower_bound_bytes",
    } <= set(report)
    assert {"index", "op", "version", "inputs", "outputs"} <= set(report["ops"][0])
    assert report["activation_lower_bound_bytes"] == 55_296
    assert report["macs"] == sum(op["macs"] for op in report["ops"])
    assert max(op["live_bytes"] for op in report["ops"]) == 55_296
    first_weights = report["tensors"][report["ops"][0]["inputs"][1]]
    assert first_weights["constant"] and first_weights["quant"]["axis"] == 0


def _bad_files(tmp: pathlib.Path) -> dict[str, pathlib.Path]:
    model = INT8_MODELS["kws"].read_bytes()
    corrupted = bytearray(model)
    corrupted[0:4] = (0x7FFFFFF0).to_bytes(
        4, "little"
    )  # root table offset past the end
    files = {
        "missing": tmp / "missing.tflite",
        "directory": tmp,
        "not-tflite": tmp / "text.tflite",
        "truncated": tmp / "truncated.tflite",
        "corrupted": tmp / "corrupted.tflite",
        "empty": tmp / "empty.tflite",
    }
    files["not-tflite"].write_text("hello, this is not a model\n" * 10)
    files["truncated"].write_bytes(model[: len(model) // 3])
    files["corrupted"].write_bytes(bytes(corrupted))
    files["empty"].write_bytes(b"")
    return files


@pytest.mark.parametrize(
    "kind", ["missing", "directory", "not-tflite", "truncated", "corrupted", "empty"]
)
def test_bad_input_is_one_error_line_and_exit_2(kind, tmp_path, capsys):
    path = _bad_files(tmp_path)[kind]
    assert main([str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and str(path) in err


def test_bad_input_through_the_process_has_no_traceback(tmp_path):
    files = _bad_files(tmp_path)
    for path in (files["truncated"], files["directory"]):
        proc = _cli(path, "--json")
        assert proc.returncode == 2
        assert proc.stdout == ""
        assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, (
            proc.stderr
        )
