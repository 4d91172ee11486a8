"""The engine's straight-line pipeline: IR -> checked -> lowered -> planned.

`compile_graph` lists the steps in order; each is a pure function. The result,
a `Program`, holds everything the C emitter needs and nothing it must derive.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
from typing import Optional

from engine import memory, passes, planner, reorder
from engine.lowering import Call, ConstArray, LowerOptions, UnsupportedOp, lower
from engine.quant import QRANGE
from tflite_bridge.ir import ABSENT, DType, Graph, verify


class EngineError(Exception):
    """A model the engine cannot compile; the message names what and where."""


@dataclasses.dataclass(frozen=True)
class CompileOptions:
    name: str = "model"
    inplace: bool = True
    target: str = "host"
    planner: str = "best"
    # Run the ops in the topological order with the lowest planned peak (engine/reorder.py).
    reorder: bool = False
    # Run the first layers patch by patch (MCUNetV2); engine/patch.py.PatchOptions.
    patch: Optional["PatchOptions"] = None  # noqa: F821


@dataclasses.dataclass(frozen=True)
class Program:
    graph: Graph
    calls: tuple[Optional[Call], ...]  # None: an alias op (no code)
    layout: memory.MemoryLayout
    plan: planner.Plan
    options: CompileOptions
    patch: Optional["PatchStage"] = None  # noqa: F821  (engine/patch_stage.py, with options.patch)

    @property
    def arena_bytes(self) -> int:
        return self.plan.peak

    def tensor_offset(self, tid: int) -> int:
        """Byte offset of a non-constant tensor in the arena."""
        return self.plan.offsets[self.layout.root[tid]]

    def scratch_offset(self, op_index: int) -> int:
        return self.plan.offsets[self.layout.scratch_base + op_index]

    @property
    def weight_bytes(self) -> int:
        used = {t for op in self.graph.ops for t in op.inputs if t != ABSENT}
        return sum(self.graph.tensors[t].nbytes for t in used if self.graph.tensors[t].is_constant)


def _suffix_order(graph: Graph, calls, split: int, algorithm: str) -> tuple[int, ...]:
    """The first `split` ops in place, then the best order of the rest planned on its own.

    The rest is a graph of its own whose inputs are every activation it reads from before `split`.
    """
    produced = {t for op in graph.ops[split:] for t in op.outputs}
    reads = {t for op in graph.ops[split:] for t in op.inputs if t >= 0 and graph.tensors[t].buffer is None}
    inputs = tuple(sorted((reads | set(graph.outputs)) - produced))
    suffix = dataclasses.replace(graph, ops=graph.ops[split:], inputs=inputs)
    suffix_calls = {i - split: calls[i] for i in range(split, len(graph.ops))}
    order = reorder.best_order(suffix, suffix_calls, algorithm)
    return tuple(range(split)) + tuple(split + i for i in order)


def compile_graph(graph: Graph, options: CompileOptions = CompileOptions()) -> Program:
    """Check, lower and plan `graph`; EngineError lists every unsupported op at once."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", options.name):
        raise EngineError(f"model name {options.name!r} is not a C identifier")
    verify(graph)
    check_tensors(graph)
    check_quantized(graph)
    graph = passes.fuse_pad(graph)
    calls = lower_ops(graph, LowerOptions(inplace=options.inplace, target=options.target))
    if options.reorder:
        order = reorder.best_order(graph, calls, options.planner)
        graph, calls = reorder.reorder(graph, order), reorder.permute_calls(calls, order)
    if options.patch is not None:
        from engine import patch_stage  # imports Program from here

        program = patch_stage.compile_patched(graph, calls, options)
        if options.reorder and program.patch is not None:
            # Patches may remove the peak the order was chosen against: order the per-layer part alone.
            order = _suffix_order(graph, calls, program.patch.split, options.planner)
            if order != tuple(range(len(graph.ops))):
                alternative = patch_stage.compile_patched(
                    reorder.reorder(graph, order), reorder.permute_calls(calls, order), options)
                if alternative.arena_bytes < program.arena_bytes:
                    program = alternative
        return program
    layout = memory.analyse(graph, calls)
    plan = planner.plan(list(layout.buffers), algorithm=options.planner)
    planner.check_no_overlap(list(layout.buffers), plan.offsets)
    return Program(graph, tuple(calls[i] for i in range(len(graph.ops))), layout, plan, options)


_EDGE_OPS = frozenset({"QUANTIZE", "DEQUANTIZE"})


def check_tensors(graph: Graph) -> None:
    """Reject what no kernel can run: empty tensors, non-finite or negative scales, zero activation
    scales, activation zero points outside their type (TFLM's Prepare fails or misbehaves on each)."""
    used = {t for op in graph.ops for t in op.inputs + op.outputs if t != ABSENT}
    problems = []
    for tid in sorted(used | set(graph.inputs) | set(graph.outputs)):
        t = graph.tensors[tid]
        where = f"tensor {tid} ({t.name!r})"
        if any(d < 1 for d in t.shape):
            problems.append(f"{where} has shape {list(t.shape)}")
        q = t.quant
        if q is None or not q.scale:
            continue
        bad = [s for s in q.scale if not math.isfinite(s) or s < 0 or (s == 0 and t.buffer is None)]
        if bad:
            problems.append(f"{where} has scale {bad[0]}")
        lo, hi = QRANGE.get(t.dtype, (None, None))
        if t.buffer is None and lo is not None and any(not lo <= z <= hi for z in q.zero_point):
            problems.append(f"{where} has zero point {list(q.zero_point)} outside {t.dtype.name}")
    if problems:
        more = f" and {len(problems) - 6} more" if len(problems) > 6 else ""
        raise EngineError("invalid model: " + "; ".join(problems[:6]) + more)


def check_quantized(graph: Graph) -> None:
    """Reject float models, naming the float tensors that compute ops read or write.

    Float is allowed only at the edges: the input of QUANTIZE and the output of
    DEQUANTIZE (a full-int8 model converted with float input/output).
    """
    floats = []
    for i, op in enumerate(graph.ops):
        for t in op.inputs + op.outputs:
            if t == ABSENT:
                continue
            tensor = graph.tensors[t]
            if tensor.dtype in (DType.FLOAT32, DType.FLOAT16) and op.kind not in _EDGE_OPS:
                floats.append(f"{tensor.name!r} ({op.kind} #{i})")
    if floats:
        shown = ", ".join(floats[:6])
        more = f" and {len(floats) - 6} more" if len(floats) > 6 else ""
        raise EngineError(
            f"float model: the engine runs int8 models, but float tensors feed compute ops: "
            f"{shown}{more}; quantise it to full int8 first"
        )


_CTYPE_RANGE = {"int8_t": (-(2**7), 2**7 - 1), "uint8_t": (0, 2**8 - 1), "int16_t": (-(2**15), 2**15 - 1),
                "int32_t": (-(2**31), 2**31 - 1)}


def _check_int32_args(call: Call) -> None:
    """Every integer argument is a C int32 and every constant array value fits its type (sizes of a
    hostile model can exceed them; the generated C would silently wrap)."""
    for k, arg in enumerate(call.args):
        if isinstance(arg, numbers.Integral) and not -(2**31) <= int(arg) < 2**31:
            raise UnsupportedOp(f"{call.function} argument {k} = {arg} does not fit in int32")
        if isinstance(arg, ConstArray) and arg.ctype in _CTYPE_RANGE and arg.values:
            lo, hi = _CTYPE_RANGE[arg.ctype]
            if not (lo <= min(arg.values) and max(arg.values) <= hi):
                raise UnsupportedOp(f"{call.function} argument {k}: a value does not fit in {arg.ctype}")


def lower_ops(graph: Graph, options: LowerOptions) -> dict[int, Optional[Call]]:
    calls: dict[int, Optional[Call]] = {}
    problems = []
    for i, op in enumerate(graph.ops):
        if op.kind in memory.ALIAS_KINDS:
            calls[i] = None
            src = op.input(0)
            out = graph.tensors[op.outputs[0]] if op.outputs else None
            if src == ABSENT or out is None or graph.tensors[src].nbytes != out.nbytes:
                size = "absent" if src == ABSENT else f"{graph.tensors[src].nbytes} bytes"
                problems.append(f"op {i} {op.kind}: input ({size}) and output must hold the same bytes to alias")
            elif graph.tensors[src].dtype != out.dtype:  # TFLM copies the bytes, whatever the quantisation
                problems.append(f"op {i} {op.kind}: input {graph.tensors[src].dtype.name} vs output "
                                f"{out.dtype.name}; an alias keeps the bytes")
            continue
        try:
            calls[i] = lower(graph, op, options)
            _check_int32_args(calls[i])
        except UnsupportedOp as e:
            problems.append(f"op {i} {op.kind} v{op.version}: {e}")
        except (ValueError, ArithmeticError, IndexError, KeyError, TypeError) as e:
            # Parameters no lowering anticipated (fuzz/fuzz_engine.py finds them): still one clear line.
            problems.append(f"op {i} {op.kind} v{op.version}: invalid parameters ({type(e).__name__}: {e})")
    if problems:
        raise EngineError(f"{len(problems)} unsupported op(s): " + "; ".join(problems))
    return calls
