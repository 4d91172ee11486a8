"""Cortex-M targets under QEMU: bit-exact with TFLM, exact and repeatable instruction counts.

Every test builds with arm-none-eabi-gcc and runs qemu-system-arm (Debian:
gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm); a QEMU run takes
well under a second, the builds take most of the time.
"""

import json
import shutil
import subprocess

import pytest

from engine import cli, codegen
from engine.check.bitexact import random_inputs, write_inputs
from engine.compile import CompileOptions, compile_graph
from engine.lower.call import ALIAS_KINDS
from engine.lower.lowering import supported_kinds
from engine.target import cortexm, qemu
from engine.target.on_target import check_on_target
from tests.conftest import INT8_MODELS
from tests.oneop import int8_model
from tflite_bridge import read

TARGETS = ("cortex-m4", "cortex-m7")
pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("arm-none-eabi-gcc", "qemu-system-arm")),
    reason="needs arm-none-eabi-gcc and qemu-system-arm (Debian: " + cortexm.DEBIAN_PACKAGES + ")",
)


def softmax_model() -> bytes:
    import tf_keras as keras

    return int8_model(lambda x: keras.layers.Softmax()(x), [(10,)], key="pipeline_softmax", calib_range=(-6.0, 6.0))


def missing_lowerings(path) -> set[str]:
    return {op.kind for op in read(path).ops} - supported_kinds() - ALIAS_KINDS


@pytest.mark.parametrize("target", TARGETS)
def test_one_op_softmax_bit_exact(target):
    report = check_on_target(softmax_model(), target, samples=8, seed=3)
    assert report.bit_exact, report.exactness.mismatches[:3]
    assert report.exactness.tensors_compared == 8
    assert report.macs == 0 and all(n > 100 for n in report.instructions)
    assert report.model.bss == report.exactness.arena_bytes  # the arena is the model's only variable


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("key", sorted(INT8_MODELS))
def test_shared_model_bit_exact(key, target):
    missing = missing_lowerings(INT8_MODELS[key])
    if missing:
        pytest.skip(f"no lowering yet for {sorted(missing)}")
    report = check_on_target(INT8_MODELS[key], target, samples=2, seed=5)
    assert report.bit_exact, report.exactness.mismatches[:3]
    assert report.exactness.tensors_compared >= 2 * len(read(INT8_MODELS[key]).ops)
    assert report.model.bss == report.exactness.arena_bytes
    assert 0 < report.instructions[0] / report.macs < 20


def _bench_folder(tmp_path, model: bytes, target: str):
    graph = read(model)
    program = compile_graph(graph, CompileOptions(name="m", target=target))
    folder = codegen.write_folder(cortexm.render(program), tmp_path / "m")
    write_inputs(tmp_path / "te_in.bin", graph, random_inputs(graph, 3, 0))
    return graph, folder


@pytest.mark.parametrize("target", TARGETS)
def test_instruction_counts_repeat_exactly(tmp_path, target):
    t = cortexm.TARGETS[target]
    graph, folder = _bench_folder(tmp_path, softmax_model(), target)
    elf = cortexm.build_elf(folder, "m", t, "bench", len(graph.ops))
    first, second = qemu.run_elf(t, elf, tmp_path), qemu.run_elf(t, elf, tmp_path)
    assert first == second
    assert len(first.instructions) == 3


# An invoke of exactly `n` instructions: n - 2 NOPs, then `movs r0, #0; bx lr`.
_KNOWN_INVOKE = """
#include "m.h"
__asm__(".text\\n.global m_invoke\\n.type m_invoke, %function\\n.thumb_func\\nm_invoke:\\n"
        ".rept {nops}\\nnop\\n.endr\\nmovs r0, #0\\nbx lr\\n");
"""


@pytest.mark.parametrize("target", TARGETS)
def test_probe_counts_single_instructions(tmp_path, target):
    """The timer ticks every 40 instructions; the probe must still be exact to one."""
    t = cortexm.TARGETS[target]
    graph, folder = _bench_folder(tmp_path, softmax_model(), target)
    model_c = (folder / "m.c").read_text()
    counts = {}
    for n in (2, 3, 41, 42, 80, 123, 1000):
        # Keep the generated I/O functions, swap invoke for one of known length.
        head = model_c[: model_c.index("int m_invoke(void)")]
        (folder / "m.c").write_text(head + _KNOWN_INVOKE.format(nops=n - 2))
        counts[n] = qemu.run_elf(t, cortexm.build_elf(folder, "m", t, "bench", len(graph.ops)), tmp_path).instructions
    assert counts == {n: (n, n, n) for n in counts}


@pytest.mark.parametrize("target", TARGETS)
def test_profile_adds_up(target):
    report = check_on_target(softmax_model(), target, samples=1, profile=True)
    (op,) = report.profile
    assert op.kind == "SOFTMAX"
    # The per-op figure includes the hook's argument set-up; invoke's own
    # prologue and return are outside every op.
    assert abs(op.instructions - report.instructions[0]) <= 16


def test_convert_writes_harness_only_for_cortex_m(tmp_path, capsys):
    model = tmp_path / "s.tflite"
    model.write_bytes(softmax_model())
    assert cli.main(["convert", str(model), "--out", str(tmp_path / "host")]) == 0
    assert not (tmp_path / "host" / "harness").exists()
    assert cli.main(["convert", str(model), "--out", str(tmp_path / "m7"), "--target", "cortex-m7"]) == 0
    harness = tmp_path / "m7" / "harness"
    assert {"link.ld", "Makefile", "te_bench_main.c", "te_startup.c"} <= {p.name for p in harness.iterdir()}
    assert "mps2-an500" in (harness / "Makefile").read_text()
    # The shipped Makefile builds and runs the same bench on its own.
    proc = subprocess.run(["make", "-s", "-C", str(harness)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    graph = read(model)
    write_inputs(harness / "te_in.bin", graph, random_inputs(graph, 1, 0))
    proc = subprocess.run(["make", "-s", "-C", str(harness), "run"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert (harness / "te_report.txt").read_text().count("sample 0 instructions") == 1


def test_verify_json_reports_measurements(tmp_path, capsys):
    model = tmp_path / "s.tflite"
    model.write_bytes(softmax_model())
    assert cli.main(["verify", str(model), "--target", "cortex-m4", "--samples", "2", "--json", "--profile"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["bit_exact"] and d["target"] == "cortex-m4"
    for key in ("instructions", "macs", "instructions_per_mac", "text_bytes", "data_bytes", "bss_bytes", "harness"):
        assert key in d
    assert d["text_bytes"] > 0 and d["harness"]["text"] > 0 and len(d["profile"]) == 1


def test_missing_toolchain_is_one_clear_line(tmp_path, monkeypatch, capsys):
    model = tmp_path / "s.tflite"
    model.write_bytes(softmax_model())
    monkeypatch.setenv("PATH", str(tmp_path))  # no arm-none-eabi-gcc, no qemu-system-arm
    assert cli.main(["verify", str(model), "--target", "cortex-m7"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    for package in ("gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "qemu-system-arm"):
        assert package in err[0]
