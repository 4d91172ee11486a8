"""Checks and small helpers shared by the non-conv lowerings (softmax, pointwise,
elementwise, quantize, shape ops). Not a lowering itself: registers nothing."""

from __future__ import annotations

import math

import numpy as np

from engine.lower.call import UnsupportedOp
from tflite_bridge.ir import DType, Graph, Op, Tensor


def inputs(graph: Graph, op: Op) -> list[Tensor]:
    """The op's present input tensors, in order (absent -1 slots raise)."""
    out = []
    for k, tid in enumerate(op.inputs):
        if tid < 0:
            raise UnsupportedOp(f"{op.kind}: input {k} is absent")
        out.append(graph.tensor(tid))
    return out


def output(graph: Graph, op: Op) -> Tensor:
    if len(op.outputs) != 1:
        raise UnsupportedOp(f"{op.kind}: {len(op.outputs)} outputs, expected 1")
    return graph.tensor(op.outputs[0])


def require_dtype(op: Op, tensor: Tensor, *dtypes: DType) -> None:
    if tensor.dtype not in dtypes:
        want = "/".join(d.name for d in dtypes)
        raise UnsupportedOp(
            f"{op.kind}: tensor {tensor.id} ({tensor.name!r}) is {tensor.dtype.name}, need {want}"
        )


def per_tensor(op: Op, tensor: Tensor) -> tuple[np.float32, int]:
    """(scale as float32, zero point) of a per-tensor quantised tensor."""
    q = tensor.quant
    if q is None:
        raise UnsupportedOp(
            f"{op.kind}: tensor {tensor.id} ({tensor.name!r}) is not quantised"
        )
    if q.per_channel and len(q.scale) != 1:
        raise UnsupportedOp(
            f"{op.kind}: tensor {tensor.id} ({tensor.name!r}) is per-channel quantised"
        )
    return np.float32(q.scale[0]), int(q.zero_point[0])


def num_elements(tensor: Tensor) -> int:
    return int(math.prod(tensor.shape))


def float_bits(x: float) -> int:
    """The IEEE-754 bits of float32(x) as a signed int32 (a C int literal)."""
    return int(np.array([x], dtype=np.float32).view(np.int32)[0])
