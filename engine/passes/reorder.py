"""Operator reordering: the topological order of a branching graph with the lowest peak.

A chain has one order. A graph with branches (residual adds, concatenations of
parallel branches, multi-output ops) has many, and they differ in which
tensors are live at once. Running one branch to its end before starting the
next can shrink the arena a lot (Serenity, HMCOS).

Three parts:
  1. a search over orders on a live-bytes *proxy*: the bytes live at each step
     as the engine's memory analysis counts them (storage values after
     RESHAPE-like aliases, 16-byte footprints, scratch, in-place kernels);
  2. `reorder`: a pure pass `Graph -> Graph` that permutes the ops;
  3. the final choice, measured as the engine measures it: memory.lifetimes.plan_graph
     on the reordered graph. A found order that does not lower
     the planned peak is dropped for the stored one.

The search is a dynamic programme over "frontiers": the state is the set of
ops already run (a bitmask); the live bytes after a state do not depend on the
order inside it, so the best peak of each state is the minimum over its
predecessors. States are expanded layer by layer (one more op each); while a
layer holds at most `state_budget` states the result is exact for the proxy;
beyond that the layer keeps its best states (beam search) and `exact` is False.

The proxy equals the engine's live-bytes lower bound except after an in-place
op whose shared buffer is larger than its output (e.g. a stride-2 depthwise):
the engine keeps the larger size for the output's whole life, the proxy only
for that step. The final, measured choice covers that gap.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from engine.lower.call import Call
from engine.memory import planner
from engine.memory.lifetimes import no_calls, plan_graph
from engine.passes.reorder_search import Proxy, Search, frontier_search
from tflite_bridge.ir import ABSENT, Graph, verify

Calls = Mapping[int, Call | None]

# States kept per layer of the search. Most branching CNNs stay far below it
# (a fire module has 3 frontier states per layer); a budget, not a time limit,
# keeps the result deterministic.
STATE_BUDGET = 512


class ReorderError(Exception):
    """An order that is not a topological order of the graph; the message says where."""


@dataclasses.dataclass(frozen=True)
class OrderChoice:
    """The order compile uses, with the planned peaks that decided it.

    Attributes:
        order: the chosen order (the stored one, `range(n)`, unless it wins).
        stored_peak: planned arena bytes in the stored order.
        peak: planned arena bytes in `order`.
        search: the search that proposed the candidate.
    """

    order: tuple[int, ...]
    stored_peak: int
    peak: int
    search: Search

    @property
    def changed(self) -> bool:
        return self.order != tuple(range(len(self.order)))


def reorder(graph: Graph, order) -> Graph:
    """The graph with its ops run in `order` (indices into `graph.ops`).

    Tensors keep their ids, so every tensor and output means what it meant.

    Raises:
        ReorderError: `order` is not a permutation, or runs an op before one it reads from.
    """
    order = tuple(order)
    if sorted(order) != list(range(len(graph.ops))):
        raise ReorderError(
            f"order {list(order)} is not a permutation of the {len(graph.ops)} ops"
        )
    deps = dependencies(graph)
    done = 0
    for step, i in enumerate(order):
        missing = deps[i] & ~done
        if missing:
            first = (missing & -missing).bit_length() - 1
            raise ReorderError(
                f"order runs op {i} ({graph.ops[i].kind}) at step {step} before op {first} "
                f"({graph.ops[first].kind}), which it depends on"
            )
        done |= 1 << i
    result = dataclasses.replace(graph, ops=tuple(graph.ops[i] for i in order))
    verify(result)
    return result


def permute_calls(calls: Calls, order) -> dict[int, Call | None]:
    """Op k of the reordered graph is op order[k] of the stored one; so is its call."""
    return {k: calls[i] for k, i in enumerate(order)}


def dependencies(graph: Graph) -> tuple[int, ...]:
    """Per op, a bitmask of the ops that must run before it.

    An op waits for the producers of its inputs. Ops that touch one variable
    tensor keep their stored order (their effects are on shared state).
    """
    producer = graph.producers()
    deps = [0] * len(graph.ops)
    last_touch: dict[int, int] = {}
    for i, op in enumerate(graph.ops):
        for t in op.inputs:
            if t != ABSENT and t in producer and producer[t] != i:
                deps[i] |= 1 << producer[t]
        for t in (*op.inputs, *op.outputs):
            if t != ABSENT and graph.tensors[t].is_variable:
                if t in last_touch:
                    deps[i] |= 1 << last_touch[t]
                last_touch[t] = i
    return tuple(deps)


def planned(graph: Graph, calls: Calls, algorithm: str = "best") -> planner.Plan:
    """The engine's own measure: memory analysis, then the planner."""
    return plan_graph(graph, calls, algorithm)[1]


def choose(
    graph: Graph,
    calls: Calls | None = None,
    algorithm: str = "best",
    state_budget: int = STATE_BUDGET,
) -> OrderChoice:
    """Searches an order and keeps it only if its planned peak beats the stored order's."""
    calls = no_calls(graph) if calls is None else calls
    stored = tuple(range(len(graph.ops)))
    stored_peak = planned(graph, calls, algorithm).peak
    found = search(graph, calls, state_budget)
    if found.order == stored:
        return OrderChoice(stored, stored_peak, stored_peak, found)
    peak = planned(
        reorder(graph, found.order), permute_calls(calls, found.order), algorithm
    ).peak
    if peak < stored_peak:
        return OrderChoice(found.order, stored_peak, peak, found)
    return OrderChoice(stored, stored_peak, stored_peak, found)


def best_order(
    graph: Graph,
    calls: Calls | None = None,
    algorithm: str = "best",
    state_budget: int = STATE_BUDGET,
) -> tuple[int, ...]:
    """The order with the lowest planned peak that the search finds (never above the stored one's).

    Args:
        graph: the graph; its stored op order is a valid order.
        calls: kernel calls per op (for in-place and scratch); None: plain ops.
        algorithm: planner algorithm that measures each candidate.
        state_budget: states per search layer before the search turns into a beam search.
    """
    return choose(graph, calls, algorithm, state_budget).order


def search(
    graph: Graph, calls: Calls | None = None, state_budget: int = STATE_BUDGET
) -> Search:
    """The order with the lowest proxy peak (exact within the budget); see module doc.

    A greedy run (budget 1) gives an incumbent first, so the full search can
    drop every state already worse than a known order.
    """
    calls = no_calls(graph) if calls is None else calls
    proxy = Proxy.of(graph, calls, dependencies(graph))
    stored = tuple(range(len(graph.ops)))
    incumbent = Search(stored, proxy.peak(stored), exact=False, states=0)
    greedy = frontier_search(proxy, 1, bound=incumbent.live_peak)
    if greedy is not None and greedy.live_peak < incumbent.live_peak:
        incumbent = greedy
    found = frontier_search(proxy, state_budget, bound=incumbent.live_peak)
    if found is None or found.live_peak >= incumbent.live_peak:
        exact = found is not None and found.exact
        return dataclasses.replace(
            incumbent, exact=exact, states=found.states if found else 0
        )
    return found
