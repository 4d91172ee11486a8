"""Patch-based inference on an MCUNet-style MobileNetV2 (alpha 0.35, 144x144, int8).

The acceptance figures: with the input read patch by patch from the caller's
buffer, the arena is at least 4x below our per-layer plan of the same model
(in-place on, input in the arena), within 20% extra MACs, and the model is
bit-exact with TFLM (every output, every tensor after the patch stage and the
split layer's assembled feature map).
"""

import subprocess

import pytest

from engine import codegen
from engine.check import build
from engine.check.bitexact import check_bit_exact, first_lines
from engine.check.compare import patch_figures
from engine.compile import CompileOptions, EngineError, compile_graph
from engine.patch.analysis import PatchOptions
from tests.oneop import int8_model
from tests.patch.models import mobilenet_v2
from tflite_bridge import read


@pytest.fixture(scope="module")
def model() -> bytes:
    return mobilenet_v2()


@pytest.fixture(scope="module")
def programs(model):
    graph = read(model)
    return {
        "per_layer": compile_graph(graph, CompileOptions(name="mbv2")),
        "frame": compile_graph(graph, CompileOptions(name="mbv2", patch=PatchOptions())),
        "arena": compile_graph(graph, CompileOptions(name="mbv2", patch=PatchOptions(input_in_arena=True))),
    }


def test_patch_peak_is_4x_below_the_per_layer_plan(programs):
    per_layer, frame, arena = programs["per_layer"].arena_bytes, programs["frame"], programs["arena"]
    a = frame.patch.analysis
    print(f"\nMobileNetV2-0.35@144 per-layer {per_layer:,} B; patch (input in caller's buffer) "
          f"{frame.arena_bytes:,} B = {per_layer / frame.arena_bytes:.2f}x below, split {a.cut.split} ops, "
          f"{a.grid}x{a.grid}, {a.extra_macs_ratio:.1%} extra MACs; patch with input in arena "
          f"{arena.arena_bytes:,} B ({arena.patch.analysis.grid}x{arena.patch.analysis.grid}, split "
          f"{arena.patch.split}, {arena.patch.analysis.extra_macs_ratio:.1%} extra MACs)")
    assert per_layer >= 4 * frame.arena_bytes
    assert a.extra_macs_ratio <= 0.20 and arena.patch.analysis.extra_macs_ratio <= 0.20
    assert frame.arena_bytes < arena.arena_bytes < per_layer


def test_the_input_is_an_arena_buffer_only_when_asked(model, programs):
    tid = read(model).inputs[0]
    assert tid not in {b.id for b in programs["frame"].layout.buffers}
    assert tid in {b.id for b in programs["arena"].layout.buffers}


def test_frame_mode_is_bit_exact_with_tflm(model):
    report = check_bit_exact(model, samples=3, seed=1, options=CompileOptions(name="mbv2", patch=PatchOptions()))
    assert report.bit_exact, first_lines(report)


def test_input_in_arena_is_bit_exact_with_tflm(model):
    options = CompileOptions(name="mbv2", patch=PatchOptions(input_in_arena=True))
    report = check_bit_exact(model, samples=1, seed=2, options=options)
    assert report.bit_exact, first_lines(report)


def test_frame_api_compiles_without_the_input_buffer(programs, tmp_path):
    folder = codegen.write_folder(codegen.render(programs["frame"]), tmp_path / "mbv2")
    assert "int mbv2_invoke_from(const int8_t *frame);" in (folder / "mbv2.h").read_text()
    proc = subprocess.run([build.compiler(), "-std=c99", "-Wall", "-Wextra", "-Werror", "-DTE_NO_INPUT_BUFFER",
                           f"-I{folder}", "-c", str(folder / "mbv2.c"), "-o", str(tmp_path / "mbv2.o")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[:800]
    symbols = subprocess.run(["nm", str(tmp_path / "mbv2.o")], capture_output=True, text=True, check=True).stdout
    assert "mbv2_invoke_from" in symbols and "te_input_buffer" not in symbols


def test_the_recompute_limit_is_honoured(model):
    graph = read(model)
    tight = compile_graph(graph, CompileOptions(patch=PatchOptions(max_extra_macs=0.02)))
    assert tight.patch.analysis.extra_macs_ratio <= 0.02
    with pytest.raises(EngineError, match="no patch plan within 1% extra MACs: split 13 grid 3"):
        compile_graph(graph, CompileOptions(patch=PatchOptions(max_extra_macs=0.01, split=13, grid=3)))


def test_compare_keys_are_null_without_a_patch_plan():
    def build(x):
        import tf_keras as keras

        return keras.layers.Dense(4)(x)

    graph = read(int8_model(build, [(16,)], key="patch-dense-only"))
    assert patch_figures(graph, CompileOptions()) == {
        "patch_arena_bytes": None, "patch_arena_with_input_bytes": None, "patch_extra_macs_ratio": None}
