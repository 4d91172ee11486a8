"""Verify and measure a model on an emulated Cortex-M core.

`check_on_target` generates the model's folder for the target, builds it with
arm-none-eabi-gcc and runs it under QEMU three ways:

  - trace build: every op's outputs for every sample, compared with TFLM with
    zero tolerance (engine.check.bitexact.compare_with_tflm, as on the host);
  - bench build: exact instructions per invoke (its outputs must equal the
    trace build's, so what is measured is what was verified);
  - profile build (optional): exact instructions per op.

Sizes come from the linked ELF: the bench ELF minus the same harness linked
around a stub model is the model's own text, data and bss.
"""

from __future__ import annotations

import dataclasses
import pathlib
import tempfile
from collections.abc import Sequence

import numpy as np

from engine import codegen
from engine.check.bitexact import (
    BitExactReport,
    compare_with_tflm,
    model_bytes,
    random_inputs,
    read_outputs,
    read_trace,
    write_inputs,
)
from engine.check.build import BuildError
from engine.compile import CompileOptions, Program, compile_graph
from engine.target import cortexm, qemu
from tflite_bridge import analysis, read
from tflite_bridge.ir import Graph


@dataclasses.dataclass(frozen=True)
class OpProfile:
    index: int
    kind: str
    instructions: int
    macs: int


@dataclasses.dataclass(frozen=True)
class TargetReport:
    """A TFLM verification on the target plus its exact measurements.

    Attributes:
        exactness: the zero-tolerance comparison of the trace run with TFLM.
        target: e.g. "cortex-m7".
        instructions: per sample, instructions inside invoke() (bench build).
        macs: conv + depthwise + fully connected multiply-accumulates.
        model: text/data/bss of the model alone (full ELF minus stub ELF).
        harness: text/data/bss of the harness alone (the stub ELF).
        stack_bytes: deepest stack below the invoke() call, over the samples.
        profile: per op (profile build, first sample), else ().
    """

    exactness: BitExactReport
    target: str
    instructions: tuple[int, ...]
    macs: int
    model: cortexm.Sizes
    harness: cortexm.Sizes
    stack_bytes: int
    profile: tuple[OpProfile, ...]

    @property
    def bit_exact(self) -> bool:
        return self.exactness.bit_exact

    def as_dict(self) -> dict:
        first = self.instructions[0]
        return {
            "target": self.target,
            "instructions": first,
            "instructions_per_sample": list(self.instructions),
            "macs": self.macs,
            "instructions_per_mac": round(first / self.macs, 4) if self.macs else None,
            "text_bytes": self.model.text,
            "data_bytes": self.model.data,
            "bss_bytes": self.model.bss,
            "flash_bytes": self.model.flash,
            "sram_bytes": self.model.sram,
            "stack_bytes": self.stack_bytes,
            "harness": dataclasses.asdict(self.harness),
            "profile": [dataclasses.asdict(p) for p in self.profile],
        }


def check_on_target(source, target: str, samples: int = 10, seed: int = 0,
                  inputs: Sequence[Sequence[np.ndarray]] = (), options: CompileOptions = CompileOptions(),
                  profile: bool = False, intermediates: bool = True,
                  workdir: pathlib.Path | None = None) -> TargetReport:
    """Compile `source` for `target`, run it under QEMU, compare with TFLM; see module doc."""
    t = cortexm.target(target)
    cortexm.check_toolchain()
    data = model_bytes(source)
    graph = read(data)
    program = compile_graph(graph, dataclasses.replace(options, target=target))
    all_inputs = [list(s) for s in inputs] + random_inputs(graph, samples, seed)
    if workdir is not None:
        return _verify_in(pathlib.Path(workdir), data, program, t, all_inputs, profile, intermediates)
    with tempfile.TemporaryDirectory(prefix="te_target_") as tmp:
        return _verify_in(pathlib.Path(tmp), data, program, t, all_inputs, profile, intermediates)


def _verify_in(work: pathlib.Path, data: bytes, program: Program, t: cortexm.Target, all_inputs, profile: bool,
               intermediates: bool) -> TargetReport:
    graph, name = program.graph, program.options.name
    folder = codegen.write_folder(cortexm.render(program), work / name)
    ops = len(graph.ops)
    write_inputs(work / "te_in.bin", graph, all_inputs)
    trace_elf = cortexm.build_elf(folder, name, t, "trace", ops)
    qemu.run_elf(t, trace_elf, work)
    ours = read_outputs(work / "te_out.bin", graph, len(all_inputs))
    report = compare_with_tflm(data, graph, program, all_inputs, ours, read_trace(work / "te_trace.bin"),
                               intermediates)
    bench_elf = cortexm.build_elf(folder, name, t, "bench", ops)
    bench = qemu.run_elf(t, bench_elf, work)
    _check_same_outputs(graph, ours, read_outputs(work / "te_out.bin", graph, len(all_inputs)))
    sizes = cortexm.elf_sizes(bench_elf)
    harness = cortexm.elf_sizes(cortexm.build_elf(folder, name, t, "stub", ops))
    per_op = _profile(work, folder, program, t, all_inputs[:1]) if profile else ()
    return TargetReport(report, t.name, bench.instructions, analysis.total_macs(graph), sizes - harness, harness,
                        max(bench.stack_bytes), per_op)


def _check_same_outputs(graph: Graph, traced, benched) -> None:
    for s, (a, b) in enumerate(zip(traced, benched)):
        for tid, x, y in zip(graph.outputs, a, b):
            if not np.array_equal(x, y):
                raise BuildError(f"sample {s}: output tensor {tid} of the bench build differs from the trace "
                                 f"build's: the measured code is not the verified code")


def _profile(work: pathlib.Path, folder: pathlib.Path, program: Program, t: cortexm.Target,
             first_sample) -> tuple[OpProfile, ...]:
    """Instructions per op on the first sample (a profile build)."""
    graph, name = program.graph, program.options.name
    write_inputs(work / "te_in.bin", graph, first_sample)
    elf = cortexm.build_elf(folder, name, t, "profile", len(graph.ops))
    run = qemu.run_elf(t, elf, work)
    return tuple(OpProfile(i, op.kind, n, analysis.op_macs(graph, i))
                 for i, (op, n) in enumerate(zip(graph.ops, run.op_instructions)))


def profile_program(program: Program, seed: int = 0) -> tuple[OpProfile, ...]:
    """Exact instructions per op of a compiled program on its Cortex-M target, one random input.

    No TFLM comparison (the program may come from a graph TFLM cannot run, e.g. the
    estimator's zero-weight subnets); `check_on_target(..., profile=True)` is the checked form.
    """
    t = cortexm.target(program.options.target)
    cortexm.check_toolchain()
    with tempfile.TemporaryDirectory(prefix="te_profile_") as tmp:
        work = pathlib.Path(tmp)
        folder = codegen.write_folder(cortexm.render(program), work / program.options.name)
        return _profile(work, folder, program, t, random_inputs(program.graph, 1, seed))
