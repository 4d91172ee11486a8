"""The patch-based schedule: choose the split and grid, then plan the patched program.

The split and grid minimise the arena (ranked by the quick planner heuristics;
the chosen one is then planned with the compile's planner) within the
recompute limit. Pure data in, a `Program` out.
"""

from __future__ import annotations

from engine.memory import planner
from engine.memory.lifetimes import MemoryLayout
from engine.patch import analysis
from engine.patch.stage import patchable, stage_buffers
from engine.program import CompileOptions, EngineError, Program
from tflite_bridge.ir import Graph


def patched_program(graph: Graph, calls, options: CompileOptions) -> Program:
    """The Program of `graph` with ops[0:split] run patch by patch (options.patch)."""
    patch_options, layouts = options.patch, {}

    def quick_peak(candidate: analysis.PatchAnalysis) -> int:
        buffers = stage_buffers(graph, calls, candidate, patch_options.input_in_arena, layouts)[2]
        return min(planner.plan(buffers, algorithm=name).peak for name in planner.HEURISTICS)

    try:
        choice = analysis.choose(graph, patch_options, quick_peak, patchable(calls))
    except analysis.PatchError as e:
        raise EngineError(f"patch-based inference: {e}") from None
    stage, layout, buffers = stage_buffers(graph, calls, choice.analysis, patch_options.input_in_arena, layouts)
    plan = planner.plan(buffers, algorithm=options.planner)
    inplace = frozenset(i for i in layout.inplace_ops if i >= stage.split)
    memory = MemoryLayout(tuple(buffers), layout.root, layout.scratch_base, inplace)
    return Program(graph, tuple(calls[i] for i in range(len(graph.ops))), memory, plan, options, patch=stage)
