"""C for the patch stage: the unrolled patch loop and the frame-input API.

Used by engine/codegen/emitter.py when `program.patch` is set. Each patch is a
straight run of kernel calls and window copies with constant arguments (the
geometry of that patch); arrays a patch needs (ADD's broadcast descriptor for
the patch shape) are emitted once per distinct value. Every function here
returns its lines and arrays; the model emitter places them.

With the input outside the arena the model exposes
`int <name>_invoke_from(const <type> *frame)`: the patches read their windows
straight from the caller's buffer (camera frame buffer or Flash), which is not
part of <NAME>_ARENA_BYTES. `<name>_input()` / `<name>_invoke()` remain as a
convenience over a separate static input buffer; compile with
-DTE_NO_INPUT_BUFFER to drop it and keep only `_invoke_from`.
"""

from __future__ import annotations

import dataclasses

from engine.codegen.cwriter import CWriter, c_int
from engine.codegen.expressions import Array, ArrayTable, describe_tensor, tensor_ctype, tensor_expr
from engine.lower.call import ConstArray, TensorArg
from engine.patch.stage import CopyStep, KernelStep, Loc
from engine.program import Program

SOURCES = ("te_patch",)


@dataclasses.dataclass(frozen=True)
class StageCode:
    """The patch stage's statements (unindented) and the arrays they name, in order of first use."""

    lines: tuple[str, ...]
    arrays: tuple[Array, ...]


class _StageEmitter:
    """Expressions of one program's patch steps; owns the arrays it names."""

    def __init__(self, program: Program):
        self.program = program
        self.arrays = ArrayTable()
        self.array_names: dict[tuple, str] = {}

    def loc(self, loc: Loc) -> str:
        if loc.buffer is None:
            return "frame" if loc.offset == 0 else f"(const {loc.ctype} *)((const uint8_t *)frame + {loc.offset})"
        return f"({loc.ctype} *)(te_arena + {self.program.plan.offsets[loc.buffer] + loc.offset})"

    def arg(self, op: int, k: int, arg) -> str:
        if isinstance(arg, Loc):
            return self.loc(arg)
        if isinstance(arg, TensorArg):
            return tensor_expr(self.program, arg.tensor, self.arrays)
        if isinstance(arg, ConstArray):
            # The op's own arrays keep the per-layer name; patch-shaped ones are shared by value.
            own = self.program.calls[op].args[k] == arg
            key = (op, k) if own else (arg.ctype, arg.values)
            if key not in self.array_names:
                self.array_names[key] = f"op{op}_c{k}" if own else f"patch_c{len(self.array_names)}"
                self.arrays.add(Array(arg.ctype, self.array_names[key], arg.values))
            return self.array_names[key]
        return c_int(arg)

    def statement(self, step) -> str:
        if isinstance(step, CopyStep):
            args = (self.loc(step.src), step.src_stride, self.loc(step.dst), step.dst_stride, step.rows, step.row_bytes)
            return f"te_copy_window({', '.join(map(str, args))});"
        assert isinstance(step, KernelStep)
        return f"{step.function}({', '.join(self.arg(step.op, k, a) for k, a in enumerate(step.args))});"


def stage_code(program: Program) -> StageCode:
    """The patch stage's statements; the per-layer code runs from op `program.patch.split` on."""
    stage, graph = program.patch, program.graph
    analysis = stage.analysis
    out = graph.tensors[analysis.cut.tensor]
    lines = [f"/* patch stage: ops 0..{stage.split - 1} on a {analysis.grid}x{analysis.grid} grid of "
             f"{describe_tensor(out)} ({analysis.extra_macs_ratio:.1%} extra MACs) */"]
    emitter = _StageEmitter(program)
    for patch, steps in zip(analysis.patches, stage.patches):
        lines.append(f"/* patch ({patch.row}, {patch.col}): rows [{patch.cell.rows.start}, {patch.cell.rows.stop}), "
                     f"cols [{patch.cell.cols.start}, {patch.cell.cols.stop}) */")
        lines.extend(emitter.statement(step) for step in steps)
    producer = next(i for i, op in enumerate(graph.ops) if analysis.cut.tensor in op.outputs)
    lines.append(f"TE_TRACE_TENSOR({producer}, {analysis.cut.tensor}, te_arena + "
                 f"{program.tensor_offset(analysis.cut.tensor)}, {out.nbytes});")
    return StageCode(tuple(lines), emitter.arrays.arrays)


def reads_frame(program: Program) -> bool:
    return program.patch is not None and not program.patch.input_in_arena


def frame_functions(program: Program, body: list[str]) -> list[str]:
    """`_invoke_from(frame)` holding the `body` lines, then the input functions around it."""
    graph, name = program.graph, program.options.name
    t = graph.tensors[graph.inputs[0]]
    ctype = tensor_ctype(program, graph.inputs[0])
    w = CWriter()
    with w.block(f"int {name}_invoke_from(const {ctype} *frame)"):
        w.lines.extend(body)
        w.line("return 0;")
    w.line()
    w.line("#ifndef TE_NO_INPUT_BUFFER")
    w.line("/* A stand-in for the caller's frame buffer: SRAM outside the arena. */")
    w.line(f"static {ctype} te_input_buffer[{t.num_elements}] TE_ALIGN16;")
    with w.block(f"void *{name}_input(int index)"):
        w.line("return index == 0 ? (void *)te_input_buffer : 0;")
    with w.block(f"int {name}_invoke(void)"):
        w.line(f"return {name}_invoke_from(te_input_buffer);")
    w.line("#endif")
    with w.block(f"size_t {name}_input_bytes(int index)"):
        w.line(f"return index == 0 ? {t.nbytes} : 0;")
    with w.block(f"int {name}_input_count(void)"):
        w.line("return 1;")
    w.line()
    return w.lines


def header_lines(program: Program) -> list[str]:
    """Declarations and notes for model.h (none without a patch stage)."""
    if program.patch is None:
        return []
    name, analysis = program.options.name, program.patch.analysis
    lines = [f"/* Patch-based: ops 0..{analysis.cut.split - 1} run on a {analysis.grid}x{analysis.grid} grid "
             f"({analysis.extra_macs_ratio:.1%} extra MACs). */"]
    if reads_frame(program):
        ctype = tensor_ctype(program, program.graph.inputs[0])
        lines += ["/* The input is read patch by patch from `frame` (not in the arena); _input()/_invoke() use a",
                  "   separate static buffer unless compiled with -DTE_NO_INPUT_BUFFER. */",
                  f"int {name}_invoke_from(const {ctype} *frame);  /* 0 on success */"]
    return lines
