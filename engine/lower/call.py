"""Kernel calls: the contract between the IR and the C kernels.

A lowering is a pure function `(graph, op, options) -> Call` registered per op
kind with `@lowering("CONV_2D")`. It computes every constant the kernel needs
(requantisation multipliers, clamp bounds, strides, paddings) in Python, the
way TFLM's Prepare does, so the generated C calls kernels with constant
arguments only. The code generator turns a `Call` into one C statement.

Argument kinds:
  - `int` -> an integer literal (must fit in int32);
  - `TensorArg(id)` -> pointer to that tensor's data (arena or const weights);
  - `ConstArray(ctype, values)` -> a `static const` array emitted beside the
    weights (per-channel multipliers, shifts, folded biases, lookup tables);
  - `ScratchArg()` -> pointer to this op's scratch area (`Call.scratch_bytes`
    bytes, planned inside the arena, 16-byte aligned).
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Callable, Union

from tflite_bridge.ir import DType, Graph, Op

# The C kernels every Call names (engine/kernels/*.c|h).
KERNELS = pathlib.Path(__file__).resolve().parents[1] / "kernels"

# Ops whose output is the input's bytes under another shape: no code, no copy.
ALIAS_KINDS = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS"})

# The C type of each tensor type the kernels see.
CTYPES = {
    DType.INT8: "int8_t",
    DType.UINT8: "uint8_t",
    DType.INT16: "int16_t",
    DType.INT32: "int32_t",
    DType.INT64: "int64_t",
    DType.FLOAT32: "float",
    DType.BOOL: "uint8_t",
}


class EngineError(Exception):
    """A model the engine cannot compile; the message names what and where."""


class UnsupportedOp(Exception):
    """A lowering cannot handle this op (kind, types or attrs): message says why."""


@dataclasses.dataclass(frozen=True)
class TensorArg:
    tensor: int


@dataclasses.dataclass(frozen=True)
class ConstArray:
    ctype: str  # "int8_t", "int16_t", "int32_t", "uint8_t"
    values: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class ScratchArg:
    pass


Arg = Union[int, TensorArg, ConstArray, ScratchArg]


@dataclasses.dataclass(frozen=True)
class Call:
    """One kernel invocation.

    Attributes:
        function: the C function, declared in `header`.
        args: its arguments in order.
        sources: kernel file stems (in engine/kernels) whose .c/.h the
            generated folder needs, e.g. ("te_conv",).
        scratch_bytes: scratch the kernel needs during this call.
        alias: (input slot, output slot) whose buffers the kernel allows to
            share one base address (in-place); None when they must not overlap.
        alias_bytes: with alias, the bytes the shared buffer needs (at least
            the larger of the two tensors).
    """

    function: str
    args: tuple[Arg, ...]
    sources: tuple[str, ...]
    scratch_bytes: int = 0
    alias: tuple[int, int] | None = None
    alias_bytes: int = 0


@dataclasses.dataclass(frozen=True)
class LowerOptions:
    """Choices the engine makes per compile (travels frozen, never global)."""

    inplace: bool = True  # allow in-place kernels (alias) where legal
    target: str = "host"  # "host", "cortex-m4", "cortex-m7"


Lowering = Callable[[Graph, Op, LowerOptions], Call]
# op kind -> its lowering; filled by importing engine.lower.ops (engine/lower/lowering.py does).
LOWERINGS: dict[str, Lowering] = {}


def lowering(*kinds: str) -> Callable[[Lowering], Lowering]:
    """Register `fn` as the lowering of each op kind in `kinds`."""

    def register(fn: Lowering) -> Lowering:
        for kind in kinds:
            if kind in LOWERINGS:
                raise ValueError(f"two lowerings for {kind}")
            LOWERINGS[kind] = fn
        return fn

    return register
