"""The typed, immutable IR every stage of mcunet-tf reads.

A `Graph` is one TFLite subgraph (subgraph 0 of a model): `Tensor`s, `Op`s in
execution order, graph inputs/outputs and the model's metadata entries. Every
dataclass is frozen; passes build new graphs with `dataclasses.replace`.

Constant tensor data is held as `bytes` (so graphs compare and hash by value)
and exposed as a read-only numpy array through `Tensor.data`.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Optional

import numpy as np

from tflite_bridge import attrs as attrs_mod


class BridgeError(Exception):
    """The one error type of the bridge: the message names what and where."""


class DType(enum.Enum):
    """Tensor element types, with TFLite's `TensorType` codes as values."""

    FLOAT32 = 0
    FLOAT16 = 1
    INT32 = 2
    UINT8 = 3
    INT64 = 4
    STRING = 5
    BOOL = 6
    INT16 = 7
    COMPLEX64 = 8
    INT8 = 9
    FLOAT64 = 10
    COMPLEX128 = 11
    UINT64 = 12
    RESOURCE = 13
    VARIANT = 14
    UINT32 = 15
    UINT16 = 16
    INT4 = 17

    @property
    def numpy(self) -> np.dtype:
        """The numpy dtype of this type; BridgeError where none exists."""
        if self not in _NUMPY:
            raise BridgeError(f"tensor type {self.name} has no numpy equivalent")
        return np.dtype(_NUMPY[self])

    @property
    def itemsize(self) -> int:
        size = _ITEMSIZE.get(self)
        if size is None:
            raise BridgeError(f"tensor type {self.name} has no numpy equivalent")
        return size


_NUMPY = {
    DType.FLOAT32: "<f4",
    DType.FLOAT16: "<f2",
    DType.FLOAT64: "<f8",
    DType.INT32: "<i4",
    DType.UINT8: "u1",
    DType.INT64: "<i8",
    DType.BOOL: "?",
    DType.INT16: "<i2",
    DType.INT8: "i1",
    DType.UINT64: "<u8",
    DType.UINT32: "<u4",
    DType.UINT16: "<u2",
    DType.COMPLEX64: "<c8",
    DType.COMPLEX128: "<c16",
}
# Looked up per tensor size by the planner's analysis: a table, not a numpy dtype per call.
_ITEMSIZE = {dtype: np.dtype(code).itemsize for dtype, code in _NUMPY.items()}


@dataclasses.dataclass(frozen=True)
class Quant:
    """Affine quantisation: real = scale * (q - zero_point).

    Per-tensor when `axis` is None (one scale, one zero point); per-channel
    along `axis` otherwise (`quantized_dimension` in the schema), with one
    scale and zero point per channel.
    """

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: Optional[int] = None

    def __post_init__(self):
        if len(self.scale) != len(self.zero_point):
            raise BridgeError(
                f"quantisation has {len(self.scale)} scales but "
                f"{len(self.zero_point)} zero points"
            )
        if not self.scale:
            raise BridgeError("quantisation has no scale")
        if self.axis is None and len(self.scale) != 1:
            raise BridgeError(f"per-tensor quantisation with {len(self.scale)} scales")

    @property
    def per_channel(self) -> bool:
        return self.axis is not None


@dataclasses.dataclass(frozen=True)
class Tensor:
    """One tensor of the graph. `id` is its index in `Graph.tensors`."""

    id: int
    name: str
    shape: tuple[int, ...]
    dtype: DType
    quant: Optional[Quant] = None
    buffer: Optional[bytes] = None  # constant data, little-endian; None if not constant
    is_variable: bool = False
    shape_signature: Optional[tuple[int, ...]] = None

    @property
    def is_constant(self) -> bool:
        return self.buffer is not None

    @property
    def data(self) -> Optional[np.ndarray]:
        """The constant data as a read-only numpy array of `shape`, or None."""
        if self.buffer is None:
            return None
        arr = np.frombuffer(self.buffer, dtype=self.dtype.numpy)
        return arr.reshape(self.shape)

    @property
    def num_elements(self) -> int:
        return math.prod(int(d) for d in self.shape)  # exact Python int, and fast

    @property
    def nbytes(self) -> int:
        return self.num_elements * self.dtype.itemsize


ABSENT = -1  # an optional op input that is not given (TFLite's -1)


@dataclasses.dataclass(frozen=True)
class Op:
    """One operator. `inputs` keeps absent optional inputs as ABSENT (-1)."""

    kind: str  # TFLite builtin name, e.g. "CONV_2D"; "CUSTOM" for custom ops
    version: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    attrs: attrs_mod.Attrs

    def input(self, i: int) -> int:
        """The tensor id of input `i`, or ABSENT when not given."""
        return self.inputs[i] if i < len(self.inputs) else ABSENT


@dataclasses.dataclass(frozen=True)
class Graph:
    """Subgraph 0 of a TFLite model, plus the model-level fields we keep."""

    tensors: tuple[Tensor, ...]
    ops: tuple[Op, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    metadata: tuple[tuple[str, bytes], ...] = ()
    name: str = ""
    description: str = ""

    def tensor(self, tid: int) -> Tensor:
        return self.tensors[tid]

    def producers(self) -> dict[int, int]:
        """Tensor id -> index of the op that writes it."""
        return {t: i for i, op in enumerate(self.ops) for t in op.outputs}

    def consumers(self) -> dict[int, list[int]]:
        """Tensor id -> indices of the ops that read it, in order."""
        out: dict[int, list[int]] = {}
        for i, op in enumerate(self.ops):
            for t in op.inputs:
                if t != ABSENT:
                    out.setdefault(t, []).append(i)
        return out

    def metadata_entry(self, name: str) -> Optional[bytes]:
        for key, value in self.metadata:
            if key == name:
                return value
        return None


def verify(graph: Graph) -> None:
    """Check the graph's invariants; raise BridgeError naming the first broken one.

    Tensor ids match positions; every op input/output and graph input/output
    names a tensor; every tensor is produced at most once and only if it is not
    constant; every op input is available (constant, graph input, variable or
    produced earlier) when the op runs.
    """
    n = len(graph.tensors)
    for i, t in enumerate(graph.tensors):
        if t.id != i:
            raise BridgeError(f"tensor {i} ({t.name!r}) carries id {t.id}")
        if t.buffer is not None and len(t.buffer) != t.nbytes:
            raise BridgeError(
                f"tensor {i} ({t.name!r}): {len(t.buffer)} data bytes for shape "
                f"{list(t.shape)} {t.dtype.name} ({t.nbytes} bytes)"
            )
        q = t.quant
        if q is not None and q.axis is not None:
            if not 0 <= q.axis < len(t.shape) or t.shape[q.axis] != len(q.scale):
                raise BridgeError(
                    f"tensor {i} ({t.name!r}): {len(q.scale)} per-channel scales along axis "
                    f"{q.axis} of shape {list(t.shape)}"
                )
    for where, ids in (("graph input", graph.inputs), ("graph output", graph.outputs)):
        for t in ids:
            if not 0 <= t < n:
                raise BridgeError(f"{where} names tensor {t}, graph has {n}")
    available = {t.id for t in graph.tensors if t.is_constant or t.is_variable}
    available |= set(graph.inputs)
    produced: set[int] = set()
    for i, op in enumerate(graph.ops):
        for t in op.inputs:
            if t == ABSENT:
                continue
            if not 0 <= t < n:
                raise BridgeError(f"op {i} ({op.kind}) input names tensor {t}, graph has {n}")
            if t not in available:
                raise BridgeError(
                    f"op {i} ({op.kind}) reads tensor {t} ({graph.tensors[t].name!r}) "
                    "before anything writes it"
                )
        for t in op.outputs:
            if not 0 <= t < n:
                raise BridgeError(f"op {i} ({op.kind}) output names tensor {t}, graph has {n}")
            if t in produced or graph.tensors[t].is_constant:
                raise BridgeError(
                    f"op {i} ({op.kind}) writes tensor {t} ({graph.tensors[t].name!r}), "
                    "which is constant or already written"
                )
            produced.add(t)
            available.add(t)
