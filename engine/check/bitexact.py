"""Build a model's C folder, run it, and compare everything with TFLM.

Every graph output and every tensor an op writes is compared with the TFLM
runtime's, byte for byte (zero tolerance), on seeded random inputs plus any
inputs the caller gives.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import subprocess
import tempfile
from typing import Sequence, Union

import numpy as np

from engine import codegen
from engine.check import build
from engine.check.tflm import Tflm
from engine.compile import CompileOptions, Program, compile_graph
from tflite_bridge import read
from tflite_bridge.ir import DType, Graph

ModelSource = Union[str, os.PathLike, bytes]


@dataclasses.dataclass(frozen=True)
class Mismatch:
    sample: int
    op: int  # -1 for a graph output
    tensor: int
    name: str
    differing: int  # elements that differ
    max_abs_diff: float


@dataclasses.dataclass(frozen=True)
class BitExactReport:
    bit_exact: bool
    samples: int
    outputs_compared: int  # graph output tensors compared (samples x outputs)
    tensors_compared: int  # op-written tensors compared, outputs included
    mismatches: tuple[Mismatch, ...]
    outputs: tuple[tuple[np.ndarray, ...], ...]  # ours, per sample
    arena_bytes: int
    lower_bound_bytes: int


def model_bytes(source: ModelSource) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    return pathlib.Path(source).read_bytes()


def random_inputs(graph: Graph, n: int, seed: int) -> list[list[np.ndarray]]:
    """`n` seeded samples covering each input's whole quantised range."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(n):
        sample = []
        for tid in graph.inputs:
            t = graph.tensors[tid]
            if t.dtype in (DType.INT8, DType.UINT8, DType.INT16):
                info = np.iinfo(t.dtype.numpy)
                sample.append(rng.integers(info.min, info.max, size=t.shape, endpoint=True).astype(t.dtype.numpy))
            elif t.dtype == DType.FLOAT32:
                sample.append(rng.uniform(-1.0, 1.0, size=t.shape).astype(np.float32))
            else:
                raise ValueError(f"input {t.name!r} has type {t.dtype.name}; cannot make random inputs")
        samples.append(sample)
    return samples


def write_inputs(path: pathlib.Path, graph: Graph, samples: Sequence[Sequence[np.ndarray]]) -> None:
    with open(path, "wb") as f:
        for sample in samples:
            for tid, x in zip(graph.inputs, sample):
                t = graph.tensors[tid]
                f.write(np.ascontiguousarray(x, dtype=t.dtype.numpy).reshape(t.shape).tobytes())


def read_outputs(path: pathlib.Path, graph: Graph, n: int) -> list[tuple[np.ndarray, ...]]:
    raw = path.read_bytes()
    pos, result = 0, []
    for _ in range(n):
        outs = []
        for tid in graph.outputs:
            t = graph.tensors[tid]
            outs.append(np.frombuffer(raw, t.dtype.numpy, t.num_elements, pos).reshape(t.shape))
            pos += t.nbytes
        result.append(tuple(outs))
    return result


def read_trace(path: pathlib.Path) -> list[tuple[int, int, bytes]]:
    raw = path.read_bytes()
    pos, records = 0, []
    while pos < len(raw):
        op, tensor, nbytes = np.frombuffer(raw, "<i4", 3, pos)
        pos += 12
        records.append((int(op), int(tensor), raw[pos : pos + nbytes]))
        pos += int(nbytes)
    return records


def run_program(program: Program, samples, workdir: pathlib.Path, sanitize: bool = False):
    """Generate, build (with tracing) and run; returns (outputs per sample, trace records)."""
    name = program.options.name
    folder = codegen.write_folder(codegen.render(program), workdir / name)
    exe = build.build_runner(folder, name, workdir / "runner", trace=True, sanitize=sanitize)
    write_inputs(workdir / "in.bin", program.graph, samples)
    proc = subprocess.run(
        [str(exe), "run", str(workdir / "in.bin"), str(workdir / "out.bin"), str(workdir / "trace.bin")],
        capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        raise build.BuildError(f"runner exited {proc.returncode}: {proc.stderr.strip()[:500]}")
    outputs = read_outputs(workdir / "out.bin", program.graph, len(samples))
    return outputs, read_trace(workdir / "trace.bin")


def check_bit_exact(
    source: ModelSource,
    samples: int = 10,
    seed: int = 0,
    inputs: Sequence[Sequence[np.ndarray]] = (),
    options: CompileOptions = CompileOptions(),
    sanitize: bool = False,
    intermediates: bool = True,
) -> BitExactReport:
    """Compile `source`, run it on the host, compare with TFLM; see module doc."""
    data = model_bytes(source)
    graph = read(data)
    program = compile_graph(graph, options)
    all_inputs = [list(s) for s in inputs] + random_inputs(graph, samples, seed)
    with tempfile.TemporaryDirectory(prefix="te_verify_") as tmp:
        ours, trace = run_program(program, all_inputs, pathlib.Path(tmp), sanitize=sanitize)
    return compare_with_tflm(data, graph, program, all_inputs, ours, trace, intermediates)


def compare_with_tflm(data, graph, program, all_inputs, ours, trace, intermediates=True) -> BitExactReport:
    tflm = Tflm(data, preserve_all=intermediates)
    per_sample = len(trace) // max(len(all_inputs), 1)
    mismatches: list[Mismatch] = []
    outputs_compared = tensors_compared = 0
    for s, sample in enumerate(all_inputs):
        theirs = tflm.run(sample, len(graph.outputs))
        for tid, a, b in zip(graph.outputs, ours[s], theirs):
            outputs_compared += 1
            _compare(mismatches, s, -1, graph.tensors[tid], a, b)
        if not intermediates:
            continue
        for op, tid, raw in trace[s * per_sample : (s + 1) * per_sample]:
            t = graph.tensors[tid]
            tensors_compared += 1
            mine = np.frombuffer(raw, t.dtype.numpy).reshape(t.shape)
            _compare(mismatches, s, op, t, mine, tflm.tensor(tid))
    return BitExactReport(
        bit_exact=not mismatches,
        samples=len(all_inputs),
        outputs_compared=outputs_compared,
        tensors_compared=tensors_compared,
        mismatches=tuple(mismatches),
        outputs=tuple(ours),
        arena_bytes=program.arena_bytes,
        lower_bound_bytes=program.plan.lower_bound,
    )


def _compare(out: list[Mismatch], sample: int, op: int, t, mine: np.ndarray, theirs: np.ndarray) -> None:
    theirs = np.asarray(theirs).reshape(mine.shape)
    if np.array_equal(mine, theirs):
        return
    diff = np.abs(mine.astype(np.float64) - theirs.astype(np.float64))
    out.append(Mismatch(sample, op, t.id, t.name, int(np.count_nonzero(diff)), float(diff.max())))


def first_lines(report: BitExactReport, limit: int = 5) -> str:
    """A readable summary of the first mismatches."""
    rows = [
        f"sample {m.sample} op {m.op} tensor {m.tensor} {m.name!r}: {m.differing} differ, max {m.max_abs_diff:g}"
        for m in report.mismatches[:limit]
    ]
    return "; ".join(rows) if rows else "bit-exact"


def default_name(source: ModelSource, fallback: str = "model") -> str:
    """A C identifier from the model's file name."""
    if isinstance(source, (bytes, bytearray)):
        return fallback
    stem = pathlib.Path(source).stem
    name = "".join(c if c.isalnum() else "_" for c in stem).strip("_").lower() or fallback
    return name if not name[0].isdigit() else f"m_{name}"


