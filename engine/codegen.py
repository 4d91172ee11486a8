"""Program -> a self-contained C folder (model, weights, kernels, build files).

Everything is emitted through `CWriter` (lines, indentation, scopes) or the
templates in engine/templates; the same Program always gives byte-identical
files. `write_folder` writes atomically: a temporary sibling folder renamed
into place, so an error never leaves a half-written project.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import tempfile
from contextlib import contextmanager

import numpy as np

from engine import patch_codegen
from engine.compile import Program
from engine.lowering import ConstArray, ScratchArg, TensorArg
from tflite_bridge.ir import DType

KERNELS = pathlib.Path(__file__).parent / "kernels"
TEMPLATES = pathlib.Path(__file__).parent / "templates"

CTYPES = {
    DType.INT8: "int8_t",
    DType.UINT8: "uint8_t",
    DType.INT16: "int16_t",
    DType.INT32: "int32_t",
    DType.INT64: "int64_t",
    DType.FLOAT32: "float",
    DType.BOOL: "uint8_t",
}


class CWriter:
    """A tiny C printer: lines at the current indentation, scopes as blocks."""

    def __init__(self):
        self.lines: list[str] = []
        self.depth = 0

    def line(self, text: str = "") -> None:
        self.lines.append(("  " * self.depth + text) if text else "")

    @contextmanager
    def block(self, opener: str, closer: str = "}"):
        self.line(opener + " {")
        self.depth += 1
        yield
        self.depth -= 1
        self.line(closer)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def c_int(v: int) -> str:
    """An int32 literal (INT32_MIN cannot be written as one token)."""
    v = int(v)
    if not -(2**31) <= v < 2**31:
        raise ValueError(f"constant {v} does not fit in int32")
    return "(-2147483647 - 1)" if v == -(2**31) else str(v)


def c_value(v, ctype: str) -> str:
    if ctype in ("float", "double"):
        return float(v).hex() + ("f" if ctype == "float" else "")
    return c_int(v)


def emit_array(w: CWriter, ctype: str, name: str, values, per_line: int = 16) -> None:
    """`static const` array with 16-byte alignment (kernels may load words)."""
    values = list(values)
    w.line(f"static const {ctype} {name}[{max(len(values), 1)}] TE_ALIGN16 = {{")
    w.depth += 1
    for k in range(0, len(values), per_line):
        w.line(", ".join(c_value(v, ctype) for v in values[k : k + per_line]) + ",")
    w.depth -= 1
    w.line("};")


class _Emitter:
    """Names and expressions for one Program."""

    def __init__(self, program: Program):
        self.p = program
        self.g = program.graph
        self.name = program.options.name
        self.const_names: dict[int, str] = {}
        self.arrays: list[tuple[str, str, tuple]] = []  # (ctype, name, values)

    def tensor_expr(self, tid: int) -> str:
        t = self.g.tensors[tid]
        ctype = CTYPES.get(t.dtype)
        if ctype is None:
            raise ValueError(f"tensor {tid} ({t.name!r}) has type {t.dtype.name}, no C type")
        if t.is_constant:
            if tid not in self.const_names:
                name = f"t{tid}"
                self.const_names[tid] = name
                self.arrays.append((ctype, name, tuple(np.asarray(t.data).reshape(-1).tolist())))
            return self.const_names[tid]
        return f"({ctype} *)(te_arena + {self.p.tensor_offset(tid)})"

    def arg_expr(self, op_index: int, k: int, arg) -> str:
        if isinstance(arg, TensorArg):
            return self.tensor_expr(arg.tensor)
        if isinstance(arg, ConstArray):
            name = f"op{op_index}_c{k}"
            self.arrays.append((arg.ctype, name, arg.values))
            return name
        if isinstance(arg, ScratchArg):
            return f"(void *)(te_arena + {self.p.scratch_offset(op_index)})"
        if isinstance(arg, (bool, int, np.integer)):
            return c_int(int(arg))
        raise TypeError(f"op {op_index}: kernel argument {k} has unsupported kind {type(arg).__name__}")


def _describe(t) -> str:
    shape = "x".join(str(d) for d in t.shape) or "scalar"
    name = re.sub(r"[^A-Za-z0-9_./:;-]", "_", t.name)[:60]
    return f"{name} {shape} {t.dtype.name.lower()}"


def model_c(program: Program) -> str:
    e = _Emitter(program)
    body = CWriter()
    body.depth = 1
    start = patch_codegen.emit_stage(body, e, program) if program.patch is not None else 0
    for i, (op, call) in enumerate(zip(program.graph.ops, program.calls)):
        if i < start:  # run per patch above
            continue
        out = program.graph.tensors[op.outputs[0]]
        body.line(f"/* op {i}: {op.kind} v{op.version} -> {_describe(out)} */")
        if call is not None:
            args = ", ".join(e.arg_expr(i, k, a) for k, a in enumerate(call.args))
            body.line(f"{call.function}({args});")
        for t in op.outputs:
            body.line(f"TE_TRACE_TENSOR({i}, {t}, te_arena + {program.tensor_offset(t)}, "
                      f"{program.graph.tensors[t].nbytes});")
    w = CWriter()
    w.line(f"/* Generated by mcunet-tf tinyengine: {program.options.name}. Do not edit. */")
    w.line(f'#include "{e.name}.h"')
    for header in kernel_stems(program):
        w.line(f'#include "{header}.h"')
    w.line()
    w.line("#if defined(__GNUC__)")
    w.line("#define TE_ALIGN16 __attribute__((aligned(16)))")
    w.line("#else")
    w.line("#define TE_ALIGN16")
    w.line("#endif")
    w.line("#ifdef TE_TRACE")
    w.line("#define TE_TRACE_TENSOR(op, t, p, n) te_trace((op), (t), (p), (n))")
    w.line("#else")
    w.line("#define TE_TRACE_TENSOR(op, t, p, n) ((void)0)")
    w.line("#endif")
    w.line()
    w.line(f"static uint8_t te_arena[{e.name.upper()}_ARENA_BYTES] TE_ALIGN16;")
    w.line()
    for ctype, name, values in e.arrays:
        emit_array(w, ctype, name, values)
    w.line()
    if patch_codegen.reads_frame(program):  # input read from the caller's buffer
        patch_codegen.frame_functions(w, program, body)
        _io_functions(w, program, kinds=("output",))
        return w.text()
    _io_functions(w, program)
    with w.block(f"int {e.name}_invoke(void)"):
        w.lines.extend(body.lines)
        w.line("return 0;")
    return w.text()


def _io_functions(w: CWriter, program: Program, kinds=("input", "output")) -> None:
    g, name = program.graph, program.options.name
    for kind, ids in (("input", g.inputs), ("output", g.outputs)):
        if kind not in kinds:
            continue
        offsets = [program.tensor_offset(t) for t in ids]
        sizes = [g.tensors[t].nbytes for t in ids]
        offsets_text = ", ".join(map(str, offsets)) or "0"
        w.line(f"static const size_t te_{kind}_offsets[{max(len(ids), 1)}] = {{{offsets_text}}};")
        w.line(f"static const size_t te_{kind}_sizes[{max(len(ids), 1)}] = {{{', '.join(map(str, sizes)) or '0'}}};")
        qual = "" if kind == "input" else "const "
        with w.block(f"{qual}void *{name}_{kind}(int index)"):
            w.line(f"if (index < 0 || index >= {len(ids)}) return 0;")
            w.line(f"return te_arena + te_{kind}_offsets[index];")
        with w.block(f"size_t {name}_{kind}_bytes(int index)"):
            w.line(f"return (index < 0 || index >= {len(ids)}) ? 0 : te_{kind}_sizes[index];")
        with w.block(f"int {name}_{kind}_count(void)"):
            w.line(f"return {len(ids)};")
        w.line()


def model_h(program: Program) -> str:
    g, name = program.graph, program.options.name
    up = name.upper()
    w = CWriter()
    w.line(f"/* Generated by mcunet-tf tinyengine: {name}. Do not edit. */")
    w.line(f"#ifndef {up}_H")
    w.line(f"#define {up}_H")
    w.line()
    w.line("#include <stddef.h>")
    w.line("#include <stdint.h>")
    w.line()
    w.line(f"#define {up}_ARENA_BYTES {program.arena_bytes}  /* the one SRAM buffer */")
    w.line(f"#define {up}_WEIGHT_BYTES {program.weight_bytes}  /* constant tensors (Flash) */")
    w.line(f"#define {up}_NUM_INPUTS {len(g.inputs)}")
    w.line(f"#define {up}_NUM_OUTPUTS {len(g.outputs)}")
    for kind, ids in (("INPUT", g.inputs), ("OUTPUT", g.outputs)):
        for k, t in enumerate(ids):
            tensor = g.tensors[t]
            w.line(f"#define {up}_{kind}{k}_BYTES {tensor.nbytes}  /* {_describe(tensor)} */")
    w.line()
    w.line("/* Inputs and outputs live in the arena: write inputs, invoke, read outputs. */")
    w.line(f"void *{name}_input(int index);")
    w.line(f"size_t {name}_input_bytes(int index);")
    w.line(f"int {name}_input_count(void);")
    w.line(f"const void *{name}_output(int index);")
    w.line(f"size_t {name}_output_bytes(int index);")
    w.line(f"int {name}_output_count(void);")
    w.line(f"int {name}_invoke(void);  /* 0 on success */")
    patch_codegen.header_lines(w, program)
    w.line()
    w.line("#ifdef TE_TRACE")
    w.line("/* Called after every op with each output tensor; defined by the caller. */")
    w.line("void te_trace(int op, int tensor, const void *data, size_t bytes);")
    w.line("#endif")
    w.line()
    w.line(f"#endif /* {up}_H */")
    return w.text()


def kernel_stems(program: Program) -> list[str]:
    """Kernel file stems the program calls (the patch stage adds its copies)."""
    stems = {s for c in program.calls if c is not None for s in c.sources}
    return sorted(stems | set(patch_codegen.SOURCES if program.patch is not None else ()))


def kernel_files(program: Program) -> list[pathlib.Path]:
    """The kernel .c/.h files the program's calls need, with their includes."""
    stems = kernel_stems(program)
    wanted: list[pathlib.Path] = []
    queue = [KERNELS / f"{s}.h" for s in stems] + [KERNELS / f"{s}.c" for s in stems]
    while queue:
        path = queue.pop(0)
        if path in wanted or not path.exists():
            continue
        wanted.append(path)
        for inc in re.findall(r'#include "([^"]+)"', path.read_text()):
            queue.append(KERNELS / inc)
    return sorted(wanted)


def render(program: Program) -> dict[str, str]:
    """All files of the C folder, name -> text."""
    name = program.options.name
    files = {f"{name}.h": model_h(program), f"{name}.c": model_c(program)}
    for path in kernel_files(program):
        files[path.name] = path.read_text()
    sources = sorted(f for f in files if f.endswith(".c"))
    subst = {
        "NAME": name,
        "UPNAME": name.upper(),
        "SOURCES": " ".join(sources),
        "ARENA": str(program.arena_bytes),
        "WEIGHTS": str(program.weight_bytes),
        "LOWER_BOUND": str(program.plan.lower_bound),
        "OPS": str(len(program.graph.ops)),
    }
    for template in ("Makefile", "CMakeLists.txt", "README.md"):
        text = (TEMPLATES / template).read_text()
        files[template] = re.sub(r"@(\w+)@", lambda m: subst[m.group(1)], text)
    return files


def write_folder(files: dict[str, str], out: os.PathLike) -> pathlib.Path:
    """Write `files` into folder `out` atomically (replacing an earlier run's folder)."""
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for fname, text in sorted(files.items()):
            (tmp / fname).parent.mkdir(parents=True, exist_ok=True)  # e.g. harness/ of Cortex-M targets
            (tmp / fname).write_text(text)
        if out.exists():
            old = out.with_name(f".{out.name}.old.{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
