"""The compiled program: what every stage after planning reads, and the options that made it.

This module sits low in the import graph: it imports data types only (the IR,
kernel calls, the memory layout and plan, the patch stage) and nothing that
compiles, emits or checks, so every stage can import it and none imports it back.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from engine.lower.call import Call, EngineError
from engine.memory.lifetimes import MemoryLayout
from engine.memory.planner import Plan
from engine.patch.analysis import PatchOptions
from engine.patch.stage import PatchStage
from tflite_bridge.ir import ABSENT, Graph

__all__ = ["CompileOptions", "EngineError", "Program"]


@dataclasses.dataclass(frozen=True)
class CompileOptions:
    """How to compile (frozen; travels with the Program).

    Attributes:
        name: C identifier prefix of the generated API.
        inplace: allow in-place kernels where legal.
        target: "host", "cortex-m4" or "cortex-m7" (engine/target/cortexm.py).
        planner: a memory planner algorithm (engine/memory/planner.py) or "best".
        reorder: run the ops in the topological order with the lowest planned peak
            (engine/passes/reorder.py).
        patch: run the first layers patch by patch (MCUNetV2; engine/patch/).
    """

    name: str = "model"
    inplace: bool = True
    target: str = "host"
    planner: str = "best"
    reorder: bool = False
    patch: Optional[PatchOptions] = None


@dataclasses.dataclass(frozen=True)
class Program:
    """Everything the C emitter needs, and nothing it must derive.

    Attributes:
        graph: the graph after the passes, in the order the ops run.
        calls: per op its kernel call; None for an alias op (no code).
        layout: the planner's buffers and how tensors map onto them.
        plan: the checked memory plan.
        options: the options the program was compiled with.
        patch: the patch stage when options.patch is set.
    """

    graph: Graph
    calls: tuple[Optional[Call], ...]
    layout: MemoryLayout
    plan: Plan
    options: CompileOptions
    patch: Optional[PatchStage] = None

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
