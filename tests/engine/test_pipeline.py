"""The engine pipeline on small graphs: determinism, atomic output, clear errors."""

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from engine import codegen
from engine.compile import CompileOptions, EngineError, compile_graph
from tests.conftest import FLOAT_MODELS, ROOT
from tests.oneop import int8_model
from tflite_bridge import read
from tflite_bridge.attrs import OpaqueAttrs


@pytest.fixture(scope="module")
def softmax_model() -> bytes:
    import tf_keras as keras

    return int8_model(lambda x: keras.layers.Softmax()(x), [(10,)], key="pipeline_softmax", calib_range=(-6.0, 6.0))


_RENDER = """
import hashlib, json, sys
from engine import codegen
from engine.compile import CompileOptions, EngineError, compile_graph
from engine.patch.analysis import PatchOptions
from tflite_bridge import read

options = {"plain": CompileOptions(), "reorder": CompileOptions(reorder=True),
           "patch": CompileOptions(reorder=True, patch=PatchOptions(max_extra_macs=100.0))}
out = {}
for path in sys.argv[1:]:
    for name, opts in options.items():
        try:
            files = codegen.render(compile_graph(read(open(path, "rb").read()), opts))
        except EngineError as e:  # no patch plan for a model without spatial ops
            files = {"error": str(e)}
        out[path + ":" + name] = {f: hashlib.sha256(t.encode()).hexdigest() for f, t in sorted(files.items())}
print(json.dumps(out, sort_keys=True))
"""


def test_same_model_gives_byte_identical_files_across_processes(tmp_path, softmax_model):
    """Two processes with different hash seeds (set and dict orders of str keys differ) write the same bytes."""
    from tests.patch.test_small_models import residual_cnn
    from tests.reorder.test_reorder import branching_model_bytes

    paths = []
    for name, data in {"softmax": softmax_model, "branches": branching_model_bytes(),
                       "residual": residual_cnn(3, 1, "same")}.items():
        paths.append(tmp_path / f"{name}.tflite")
        paths[-1].write_bytes(data)
    runs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        proc = subprocess.run([sys.executable, "-c", _RENDER, *map(str, paths)], capture_output=True, text=True,
                              env=env, check=True, timeout=600)
        runs.append(json.loads(proc.stdout))
    assert runs[0] == runs[1]
    assert len(runs[0]) == 9
    # No patch plan for softmax (no spatial op) or branches (the stem is one op); the residual CNN is patched.
    assert sorted(key for key, files in runs[0].items() if "error" in files) == [
        f"{paths[1]}:patch", f"{paths[0]}:patch"]
    first = runs[0][f"{paths[0]}:plain"]
    assert {"model.c", "model.h", "Makefile", "CMakeLists.txt", "README.md", "te_common.h"} <= set(first)


def test_write_folder_replaces_atomically(tmp_path, softmax_model):
    files = codegen.render(compile_graph(read(softmax_model)))
    out = codegen.write_folder({"stale.c": "x"}, tmp_path / "proj")
    codegen.write_folder(files, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(files)
    assert [p.name for p in tmp_path.iterdir()] == ["proj"]  # no temporary folders left


def test_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(TypeError):
        codegen.write_folder({"a.c": "ok", "b.c": 3}, tmp_path / "proj")
    assert list(tmp_path.iterdir()) == []


def test_unsupported_ops_are_all_listed(softmax_model):
    g = read(softmax_model)
    op = g.ops[0]
    odd = dataclasses.replace(op, kind="CUMSUM", attrs=OpaqueAttrs())
    # two unsupported ops chained on the same tensor shape
    mid = dataclasses.replace(g.tensors[op.outputs[0]], id=len(g.tensors), name="mid")
    first = dataclasses.replace(odd, outputs=(mid.id,))
    second = dataclasses.replace(odd, kind="RFFT2D", inputs=(mid.id,))
    g2 = dataclasses.replace(g, tensors=g.tensors + (mid,), ops=(first, second))
    with pytest.raises(EngineError) as e:
        compile_graph(g2)
    assert "op 0 CUMSUM" in str(e.value) and "op 1 RFFT2D" in str(e.value)


def test_float_model_is_refused_naming_tensors():
    with pytest.raises(EngineError) as e:
        compile_graph(read(FLOAT_MODELS["kws"]))
    msg = str(e.value)
    assert msg.startswith("float model") and "CONV_2D #0" in msg


def test_bad_name_is_refused(softmax_model):
    with pytest.raises(EngineError, match="not a C identifier"):
        compile_graph(read(softmax_model), CompileOptions(name="9 lives"))


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["convert", "/nonexistent.tflite", "--out", "x"], "/nonexistent.tflite"),
        (["verify", str(FLOAT_MODELS["ad"])], "float model"),
        (["compare"], "required"),
        (["convert", str(ROOT / "setup.py"), "--out", "x"], "not a TFLite model"),
    ],
)
def test_cli_errors_are_one_line_exit_2(argv, fragment, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "engine", *argv], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0]
    assert not (tmp_path / "x").exists()


def test_convert_writes_project_that_builds_with_make(tmp_path, softmax_model):
    src = tmp_path / "m.tflite"
    src.write_bytes(softmax_model)
    proc = subprocess.run([sys.executable, "-m", "engine", "convert", str(src), "--out", str(tmp_path / "c")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    make = subprocess.run(["make", "-s", "-C", str(tmp_path / "c")], capture_output=True, text=True)
    assert make.returncode == 0, make.stderr
    assert (tmp_path / "c" / "libm.a").exists()
