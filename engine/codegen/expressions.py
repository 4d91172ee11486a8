"""C expressions for a Program's tensors, and the table of constant arrays a model file holds.

Everything here is a pure function of the Program except `ArrayTable`, which each
emitter owns locally and hands back (engine/codegen/emitter.py merges them in order).
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from engine.lower.call import CTYPES
from engine.program import Program


@dataclasses.dataclass(frozen=True)
class Array:
    """A `static const` array of the model file."""

    ctype: str
    name: str
    values: tuple


class ArrayTable:
    """Arrays in order of first use, one per name (a later request for a name returns it)."""

    def __init__(self):
        self._arrays: dict[str, Array] = {}

    def add(self, array: Array) -> str:
        self._arrays.setdefault(array.name, array)
        return array.name

    def extend(self, arrays) -> None:
        for array in arrays:
            self.add(array)

    @property
    def arrays(self) -> tuple[Array, ...]:
        return tuple(self._arrays.values())


def tensor_ctype(program: Program, tid: int) -> str:
    t = program.graph.tensors[tid]
    ctype = CTYPES.get(t.dtype)
    if ctype is None:
        raise ValueError(f"tensor {tid} ({t.name!r}) has type {t.dtype.name}, no C type")
    return ctype


def constant_tensor_array(program: Program, tid: int) -> Array:
    """The array holding constant tensor `tid` (named t<id>)."""
    data = tuple(np.asarray(program.graph.tensors[tid].data).reshape(-1).tolist())
    return Array(tensor_ctype(program, tid), f"t{tid}", data)


def tensor_expr(program: Program, tid: int, arrays: ArrayTable) -> str:
    """A pointer to tensor `tid`: its constant array (added to `arrays`) or its place in the arena."""
    ctype = tensor_ctype(program, tid)
    if program.graph.tensors[tid].is_constant:
        return arrays.add(constant_tensor_array(program, tid))
    return f"({ctype} *)(te_arena + {program.tensor_offset(tid)})"


def describe_tensor(t) -> str:
    """`name HxWxC type` for comments (the name reduced to characters safe in a C comment)."""
    shape = "x".join(str(d) for d in t.shape) or "scalar"
    name = re.sub(r"[^A-Za-z0-9_./:;-]", "_", t.name)[:60]
    return f"{name} {shape} {t.dtype.name.lower()}"
