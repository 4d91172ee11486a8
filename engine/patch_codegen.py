"""C for the patch stage: the unrolled patch loop and the frame-input API.

Called from engine/codegen.py when `program.patch` is set. Each patch is a
straight run of kernel calls and window copies with constant arguments (the
geometry of that patch); arrays a patch needs (ADD's broadcast descriptor for
the patch shape) are emitted once per distinct value.

With the input outside the arena the model exposes
`int <name>_invoke_from(const <type> *frame)`: the patches read their windows
straight from the caller's buffer (camera frame buffer or Flash), which is not
part of <NAME>_ARENA_BYTES. `<name>_input()` / `<name>_invoke()` remain as a
convenience over a separate static input buffer; compile with
-DTE_NO_INPUT_BUFFER to drop it and keep only `_invoke_from`.
"""

from __future__ import annotations

from engine import codegen
from engine.lowering import ConstArray, TensorArg
from engine.patch_stage import CopyStep, KernelStep, Loc

SOURCES = ("te_patch",)


class _StageEmitter:
    def __init__(self, e, program):
        self.e = e
        self.p = program
        self.arrays: dict[tuple, str] = {}

    def loc(self, loc: Loc) -> str:
        if loc.buffer is None:
            return "frame" if loc.offset == 0 else f"(const {loc.ctype} *)((const uint8_t *)frame + {loc.offset})"
        return f"({loc.ctype} *)(te_arena + {self.p.plan.offsets[loc.buffer] + loc.offset})"

    def arg(self, op: int, k: int, arg) -> str:
        if isinstance(arg, Loc):
            return self.loc(arg)
        if isinstance(arg, TensorArg):
            return self.e.tensor_expr(arg.tensor)
        if isinstance(arg, ConstArray):
            # The op's own arrays keep the per-layer name; patch-shaped ones are shared by value.
            own = self.p.calls[op].args[k] == arg
            key = (op, k) if own else (arg.ctype, arg.values)
            if key not in self.arrays:
                self.arrays[key] = f"op{op}_c{k}" if own else f"patch_c{len(self.arrays)}"
                self.e.arrays.append((arg.ctype, self.arrays[key], arg.values))
            return self.arrays[key]
        return codegen.c_int(arg)

    def statement(self, step) -> str:
        if isinstance(step, CopyStep):
            args = (self.loc(step.src), step.src_stride, self.loc(step.dst), step.dst_stride, step.rows, step.row_bytes)
            return f"te_copy_window({', '.join(map(str, args))});"
        assert isinstance(step, KernelStep)
        return f"{step.function}({', '.join(self.arg(step.op, k, a) for k, a in enumerate(step.args))});"


def emit_stage(body, e, program) -> int:
    """Append the patch stage to `body`; returns the first op the per-layer code runs."""
    stage, g = program.patch, program.graph
    a = stage.analysis
    out = g.tensors[a.cut.tensor]
    body.line(f"/* patch stage: ops 0..{stage.split - 1} on a {a.grid}x{a.grid} grid of "
              f"{codegen._describe(out)} ({a.extra_macs_ratio:.1%} extra MACs) */")
    s = _StageEmitter(e, program)
    for patch, steps in zip(a.patches, stage.patches):
        body.line(f"/* patch ({patch.row}, {patch.col}): rows [{patch.cell.rows.start}, {patch.cell.rows.stop}), "
                  f"cols [{patch.cell.cols.start}, {patch.cell.cols.stop}) */")
        for step in steps:
            body.line(s.statement(step))
    producer = next(i for i, op in enumerate(g.ops) if a.cut.tensor in op.outputs)
    body.line(f"TE_TRACE_TENSOR({producer}, {a.cut.tensor}, te_arena + {program.tensor_offset(a.cut.tensor)}, "
              f"{out.nbytes});")
    return stage.split


def reads_frame(program) -> bool:
    return program.patch is not None and not program.patch.input_in_arena


def frame_functions(w, program, body) -> None:
    """`_invoke_from(frame)` holding `body`, then the input functions around it."""
    g, name = program.graph, program.options.name
    t = g.tensors[g.inputs[0]]
    ctype = codegen.CTYPES[t.dtype]
    with w.block(f"int {name}_invoke_from(const {ctype} *frame)"):
        w.lines.extend(body.lines)
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


def header_lines(w, program) -> None:
    """Declarations and notes for model.h."""
    if program.patch is None:
        return
    name, a = program.options.name, program.patch.analysis
    w.line(f"/* Patch-based: ops 0..{a.cut.split - 1} run on a {a.grid}x{a.grid} grid "
           f"({a.extra_macs_ratio:.1%} extra MACs). */")
    if reads_frame(program):
        t = program.graph.tensors[program.graph.inputs[0]]
        w.line("/* The input is read patch by patch from `frame` (not in the arena); _input()/_invoke() use a")
        w.line("   separate static buffer unless compiled with -DTE_NO_INPUT_BUFFER. */")
        w.line(f"int {name}_invoke_from(const {codegen.CTYPES[t.dtype]} *frame);  /* 0 on success */")
