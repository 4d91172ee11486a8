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

from engine.lower.kernel_params import KERNEL_PARAMS
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
    """One kernel invocation, its arguments named after the kernel's parameters.

    Build one with `Call.of(function, sources, name=value, ...)` (any order; the
    kernel's declaration order is taken from engine/lower/kernel_params.py), or
    with `args` in declaration order, which the kernel's names then label. Either
    way a wrong count or an unknown name is an error here, not a shifted argument
    in the C.

    Attributes:
        function: the C function, declared in engine/kernels/*.h.
        args: its arguments in declaration order.
        sources: kernel file stems (in engine/kernels) whose .c/.h the
            generated folder needs, e.g. ("te_conv",).
        scratch_bytes: scratch the kernel needs during this call.
        alias: (input slot, output slot) whose buffers the kernel allows to
            share one base address (in-place); None when they must not overlap.
        alias_bytes: with alias, the bytes the shared buffer needs (at least
            the larger of the two tensors).
        names: the parameter name of each argument (a variadic tail's are arg<k>).
    """

    function: str
    args: tuple[Arg, ...]
    sources: tuple[str, ...]
    scratch_bytes: int = 0
    alias: tuple[int, int] | None = None
    alias_bytes: int = 0
    names: tuple[str, ...] = ()

    def __post_init__(self):
        if self.args and not self.names:
            object.__setattr__(self, "names", parameter_names(self.function, len(self.args)))
        if len(self.names) != len(self.args):
            raise ValueError(f"{self.function}: {len(self.args)} arguments but {len(self.names)} names")

    @classmethod
    def of(cls, function: str, sources: tuple[str, ...], *, scratch_bytes: int = 0,
           alias: tuple[int, int] | None = None, alias_bytes: int = 0, **args: Arg) -> Call:
        """The call of `function` with arguments given by parameter name (not variadic kernels)."""
        params = KERNEL_PARAMS.get(function)
        if params is None or "..." in params:
            raise ValueError(f"{function}: no fixed parameter list in engine/lower/kernel_params.py")
        if set(args) != set(params):
            missing, unknown = sorted(set(params) - set(args)), sorted(set(args) - set(params))
            raise ValueError(f"{function}: missing arguments {missing}, unknown arguments {unknown}")
        return cls(function, tuple(args[name] for name in params), sources, scratch_bytes, alias, alias_bytes,
                   params)

    def arg(self, name: str) -> Arg:
        """The argument passed for parameter `name`."""
        return self.args[self.names.index(name)]

    def named(self) -> tuple[tuple[str, Arg], ...]:
        """(parameter name, argument) pairs in declaration order."""
        return tuple(zip(self.names, self.args))


def parameter_names(function: str, count: int) -> tuple[str, ...]:
    """Names of `count` arguments of `function` (engine/lower/kernel_params.py)."""
    params = KERNEL_PARAMS.get(function)
    if params is None:
        raise ValueError(f"{function}: not declared in engine/kernels/*.h (engine/lower/kernel_params.py)")
    if params and params[-1] == "...":
        fixed = params[:-1]
        if count < len(fixed):
            raise ValueError(f"{function} takes at least {len(fixed)} arguments {fixed}, got {count}")
        return fixed + tuple(f"arg{k}" for k in range(len(fixed), count))
    if count != len(params):
        raise ValueError(f"{function} takes {len(params)} arguments {params}, got {count}")
    return params


@dataclasses.dataclass(frozen=True)
class LowerOptions:
    """Choices the engine makes per compile (travels frozen, never global)."""

    inplace: bool = True  # allow in-place kernels (alias) where legal
    target: str = "host"  # "host", "cortex-m4", "cortex-m7"


Lowering = Callable[[Graph, Op, LowerOptions], Call]


@dataclasses.dataclass(frozen=True)
class Registered:
    """One op kind's lowering and what it accepts, as `tinyengine ops` prints it."""

    kind: str
    lower: Lowering
    dtypes: str  # the tensor types, e.g. "int8 (int8 weights, int32 bias)"
    limits: str  # what the lowering refuses beyond the types; "" when nothing


# op kind -> its lowering; filled by importing engine.lower.ops (engine/lower/lowering.py does).
LOWERINGS: dict[str, Registered] = {}


def lowering(*kinds: str, dtypes: str = "int8", limits: str = "") -> Callable[[Lowering], Lowering]:
    """Register `fn` as the lowering of each op kind in `kinds`.

    `dtypes` and `limits` are the op table's columns (engine/lower/lowering.py: op_table):
    state every limit the lowering raises UnsupportedOp for, so the table tells a user
    what a model may hold. Stack two decorators where kinds sharing `fn` differ.
    """

    def register(fn: Lowering) -> Lowering:
        for kind in kinds:
            if kind in LOWERINGS:
                raise ValueError(f"two lowerings for {kind}")
            LOWERINGS[kind] = Registered(kind, fn, dtypes, limits)
        return fn

    return register
