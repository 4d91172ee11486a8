"""Our memory plan handed to TFLM as `OfflineMemoryAllocation` metadata.

TFLM keeps its interpreter and kernels; only the arena offsets of the
activation tensors come from our planner. TFLM's kernels are not in-place and
have no scratch of ours, so this plan is made with the `TFLM_OFFLINE` rules of
engine/memory/lifetimes.py: in-place kernels off, no scratch buffers, and
RESHAPE-like aliases kept (TFLM's RESHAPE skips its copy when input and output
share an address).
"""

from __future__ import annotations

import dataclasses

from engine.memory.lifetimes import TFLM_OFFLINE, plan_graph
from tflite_bridge import write
from tflite_bridge.ir import Graph
from tflite_bridge.writer import with_offline_plan

ONLINE = -1


@dataclasses.dataclass(frozen=True)
class TflmPlan:
    offsets: tuple[int, ...]  # per tensor; -1 for constants (TFLM ignores them)
    peak: int
    lower_bound: int
    algorithm: str


def plan_for_tflm(graph: Graph, algorithm: str = "best") -> TflmPlan:
    """Arena offsets for every activation tensor of `graph`, as TFLM would use them."""
    layout, result = plan_graph(graph, algorithm=algorithm, rules=TFLM_OFFLINE)
    offsets = tuple(
        ONLINE if t.is_constant or layout.root[t.id] not in result.offsets else result.offsets[layout.root[t.id]]
        for t in graph.tensors
    )
    return TflmPlan(offsets, result.peak, result.lower_bound, result.algorithm)


def planned_model(graph: Graph, algorithm: str = "best") -> tuple[bytes, TflmPlan]:
    """The model's bytes with our offline plan embedded, and the plan."""
    tplan = plan_for_tflm(graph, algorithm)
    return write(with_offline_plan(graph, list(tplan.offsets))), tplan
