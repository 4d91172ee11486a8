"""Ours beside TFLM on one model: exactness, SRAM, Flash and host latency.

Both sides run in this one process run, on the same inputs, each latency a
median of repeated invokes, so the ratios hold even on a noisy machine.
"""

from __future__ import annotations

import dataclasses
import pathlib
import subprocess
import tempfile
from typing import Optional

import numpy as np

from engine.check import build
from engine.check.bitexact import ModelSource, compare_with_tflm, model_bytes, random_inputs, run_program
from engine.check.tflm import Tflm
from engine.compile import CompileOptions, EngineError, compile_graph
from engine.patch.analysis import PatchOptions
from tflite_bridge import analysis, read


@dataclasses.dataclass(frozen=True)
class Comparison:
    bit_exact: bool
    samples: int
    outputs_compared: int
    tensors_compared: int
    mismatches: int
    arena_bytes: int
    lower_bound_bytes: int
    weight_bytes: int
    code_bytes: int
    const_bytes: int
    macs: int
    tflm_arena_bytes: int
    tflm_arena_head_bytes: int
    host_latency_us: float
    tflm_latency_us: float
    # Patch-based inference (`patch_figures`); None where no patch plan applies.
    patch_arena_bytes: Optional[int] = None  # input read from the caller's buffer
    patch_arena_with_input_bytes: Optional[int] = None  # input in the arena
    patch_extra_macs_ratio: Optional[float] = None
    # The arena after operator reordering (engine/passes/reorder.py); equal to arena_bytes for chains.
    reordered_arena_bytes: Optional[int] = None

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["arena_ratio"] = round(self.arena_bytes / self.tflm_arena_bytes, 4) if self.tflm_arena_bytes else None
        d["latency_ratio"] = round(self.host_latency_us / self.tflm_latency_us, 4) if self.tflm_latency_us else None
        return d


def host_latency_us(exe: pathlib.Path, inputs_file: pathlib.Path, repeats: int) -> float:
    proc = subprocess.run([str(exe), "bench", str(inputs_file), str(repeats)], capture_output=True,
                          text=True, check=True, timeout=600)
    return int(proc.stdout.strip()) / 1000.0


def compare(source: ModelSource, samples: int = 5, seed: int = 0, repeats: int = 20,
            options: CompileOptions = CompileOptions(), inputs=()) -> Comparison:
    """Verify `source` against TFLM and measure both sides; see module doc."""
    data = model_bytes(source)
    graph = read(data)
    program = compile_graph(graph, options)
    all_inputs = [list(s) for s in inputs] + random_inputs(graph, samples, seed)
    with tempfile.TemporaryDirectory(prefix="te_compare_") as tmp:
        work = pathlib.Path(tmp)
        ours, trace = run_program(program, all_inputs, work)
        report = compare_with_tflm(data, graph, program, all_inputs, ours, trace)
        folder = work / options.name
        exe = build.build_runner(folder, options.name, work / "bench_runner")
        latency = host_latency_us(exe, work / "in.bin", repeats)
        sizes = build.object_sizes(folder)
    tflm = Tflm(data)
    arena = tflm.arena()
    first = [np.asarray(x) for x in all_inputs[0]]
    return Comparison(
        bit_exact=report.bit_exact,
        samples=report.samples,
        outputs_compared=report.outputs_compared,
        tensors_compared=report.tensors_compared,
        mismatches=len(report.mismatches),
        arena_bytes=program.arena_bytes,
        lower_bound_bytes=analysis.activation_lower_bound(graph),
        weight_bytes=program.weight_bytes,
        code_bytes=sizes["text"],
        const_bytes=sizes["rodata"],
        macs=analysis.total_macs(graph),
        tflm_arena_bytes=arena.get("total", 0),
        tflm_arena_head_bytes=arena.get("head", 0),
        host_latency_us=latency,
        tflm_latency_us=tflm.latency_us(first, repeats),
        **patch_figures(graph, options),
        reordered_arena_bytes=reordered_arena_bytes(graph, options, program),
    )


def reordered_arena_bytes(graph, options: CompileOptions, program) -> int:
    """The arena with `options` plus operator reordering (`program` when it already reorders)."""
    if options.reorder:
        return program.arena_bytes
    return compile_graph(graph, dataclasses.replace(options, reorder=True)).arena_bytes


def patch_figures(graph, options: CompileOptions) -> dict:
    """The patch keys of `tinyengine compare`: the patched arena with the input in
    the caller's buffer and in the arena, and the recompute ratio (None where no
    patch plan applies). Uses options.patch's limits, else PatchOptions()."""
    base = options.patch or PatchOptions()
    figures = {"patch_arena_bytes": None, "patch_arena_with_input_bytes": None, "patch_extra_macs_ratio": None}
    try:
        frame, arena = (compile_graph(graph, dataclasses.replace(options, patch=dataclasses.replace(
            base, input_in_arena=in_arena))) for in_arena in (False, True))
    except EngineError:
        return figures
    figures["patch_arena_bytes"] = frame.arena_bytes
    figures["patch_arena_with_input_bytes"] = arena.arena_bytes
    figures["patch_extra_macs_ratio"] = round(frame.patch.analysis.extra_macs_ratio, 4)
    return figures
