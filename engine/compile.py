"""The engine's pipeline, one stage per line: IR -> passes -> lowering -> schedule -> memory plan -> Program.

    bytes --tflite_bridge.read--> Graph
          --lower.checks--> (checked) --passes.fuse_pad--> Graph --lower.lowering--> calls
          --passes.reorder (optional)--> Graph, calls
          --schedule: per layer (memory.plan_graph) | patch (patch.schedule)--> Program
    Program --codegen--> C folder --check.build--> binary --check.bitexact--> equal to TFLM

`compile_graph` is that line up to the Program; the C, the build and the check
are engine/codegen, engine/check and engine/target, which read the Program.
"""

from __future__ import annotations

import dataclasses
import re

from engine.lower.call import Call, EngineError, LowerOptions
from engine.lower.checks import check_quantized, check_tensors
from engine.lower.lowering import lower_ops
from engine.memory.lifetimes import plan_graph
from engine.passes import reorder
from engine.passes.fuse_pad import fuse_pad
from engine.patch.schedule import patched_program
from engine.program import CompileOptions, Program
from tflite_bridge.ir import Graph, verify

__all__ = ["CompileOptions", "EngineError", "Program", "compile_graph", "layer_program"]


def compile_graph(graph: Graph, options: CompileOptions = CompileOptions()) -> Program:
    """Check, lower, schedule and plan `graph`; EngineError lists every unsupported op at once."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", options.name):
        raise EngineError(f"model name {options.name!r} is not a C identifier")
    verify(graph)  # the IR's invariants (tflite_bridge.ir.verify)
    check_tensors(graph)
    check_quantized(graph)
    graph = fuse_pad(graph)
    calls = lower_ops(graph, LowerOptions(inplace=options.inplace, target=options.target))
    if options.reorder:
        graph, calls = _reordered(graph, calls, reorder.best_order(graph, calls, options.planner))
    if options.patch is not None:
        return _patch_schedule(graph, calls, options)
    return layer_program(graph, calls, options)


def layer_program(graph: Graph, calls: dict[int, Call | None], options: CompileOptions) -> Program:
    """Every op on whole tensors, one after the other: plan the graph's buffers.

    Public for the TinyNAS estimator (mcunet_tf/estimator.py), which lowers each op signature once
    and reruns only this per candidate.
    """
    layout, plan = plan_graph(graph, calls, algorithm=options.planner)
    return Program(graph, tuple(calls[i] for i in range(len(graph.ops))), layout, plan, options)


def _patch_schedule(graph: Graph, calls: dict[int, Call | None], options: CompileOptions) -> Program:
    """The first ops patch by patch (engine/patch), the rest per layer.

    With reordering, the per-layer part is ordered again on its own: the patches may remove
    the peak the first order was chosen against; the smaller arena wins.
    """
    program = patched_program(graph, calls, options)
    if not options.reorder or program.patch is None:
        return program
    order = _suffix_order(graph, calls, program.patch.split, options.planner)
    if order == tuple(range(len(graph.ops))):
        return program
    alternative = patched_program(*_reordered(graph, calls, order), options)
    return alternative if alternative.arena_bytes < program.arena_bytes else program


def _reordered(graph: Graph, calls, order) -> tuple[Graph, dict[int, Call | None]]:
    return reorder.reorder(graph, order), reorder.permute_calls(calls, order)


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
