"""MEAN / SUM / REDUCE_MAX (int8) over one contiguous block of axes -> te_reduce kernels.

TFLM (reduce_common.cc) runs QuantizedMeanOrSum: sum - input_zp * n
requantised by QuantizeMultiplier(double(input_scale) / double(output_scale)),
with 1/n folded into that multiplier for MEAN (shift by floor(log2 n), capped,
then divide). Some TFLM sources take a shortcut when input and output share
scale and zero point (the raw sum divided by n, truncating); the runtime we
match (tflite-micro 0.dev20261023) does not: tests/engine_ops/test_conv_like.py
checks the equal-scale case bit-exact through this one path. REDUCE_MAX
(reduce_common.cc EvalMax) requires equal input and output scale and zero
point and takes the plain maximum.
"""

from __future__ import annotations

import math

from engine.lower.call import Call, LowerOptions, TensorArg, UnsupportedOp, lowering
from engine.lower.ops import _conv_common as cc
from engine.lower.quant import quantize_multiplier
from tflite_bridge.ir import Graph, Op


def reduced_axes(graph: Graph, op: Op, rank: int) -> tuple[int, int]:
    """[first, last) of the reduced axes; they must be constant and contiguous."""
    axes_t = graph.tensor(op.inputs[1])
    if axes_t.data is None:
        raise UnsupportedOp(f"{op.kind}: axes {axes_t.name!r} are not constant")
    axes = sorted({int(a) + rank if int(a) < 0 else int(a) for a in axes_t.data.reshape(-1)})
    if not axes or axes != list(range(axes[0], axes[-1] + 1)) or axes[-1] >= rank or axes[0] < 0:
        raise UnsupportedOp(
            f"{op.kind}: axes {axes_t.data.reshape(-1).tolist()} of a rank-{rank} input are not one contiguous block"
        )
    return axes[0], axes[-1] + 1


def mean_multiplier(multiplier: int, shift: int, count: int) -> tuple[int, int]:
    """QuantizedMeanOrSum's folding of 1/count into (multiplier, shift)."""
    extra = min(count.bit_length() - 1, 32, 31 + shift)
    return (multiplier << extra) // count, shift - extra


def _reduce_geometry(graph: Graph, op: Op, inp, out) -> tuple[int, int, int]:
    """(outer, reduced, inner) element counts of the [outer, reduced, inner] view of the input."""
    first, last = reduced_axes(graph, op, len(inp.shape))
    outer = math.prod(inp.shape[:first])
    count = math.prod(inp.shape[first:last])
    inner = math.prod(inp.shape[last:])
    if count == 0 or out.num_elements != outer * inner:
        raise UnsupportedOp(f"{op.kind}: input {inp.shape} -> output {out.shape} with {count} reduced elements")
    return outer, count, inner


@lowering("MEAN", "SUM", limits="constant axes, one contiguous block")
def lower_reduce(graph: Graph, op: Op, options: LowerOptions) -> Call:
    inp = cc.int8_tensor(graph, op, 0, "input")
    out = cc.int8_tensor(graph, op, 0, "output", outputs=True)
    outer, count, inner = _reduce_geometry(graph, op, inp, out)
    in_scale, in_zp = cc.activation_scale(inp)
    out_scale, out_zp = cc.activation_scale(out)
    geometry = (TensorArg(inp.id), outer, count, inner, TensorArg(out.id))
    multiplier, shift = quantize_multiplier(in_scale / out_scale)
    if op.kind == "MEAN":
        multiplier, shift = mean_multiplier(multiplier, shift, count)
    return Call("te_reduce_requant_s8", (*geometry, in_zp, out_zp, multiplier, shift), ("te_reduce",))


@lowering("REDUCE_MAX", limits="constant axes, one contiguous block; input and output quantisation equal")
def lower_reduce_max(graph: Graph, op: Op, options: LowerOptions) -> Call:
    inp = cc.int8_tensor(graph, op, 0, "input")
    out = cc.int8_tensor(graph, op, 0, "output", outputs=True)
    outer, count, inner = _reduce_geometry(graph, op, inp, out)
    if cc.activation_scale(inp) != cc.activation_scale(out):
        raise UnsupportedOp(
            f"REDUCE_MAX: input (scale, zero point) {cc.activation_scale(inp)} differs from the output's "
            f"{cc.activation_scale(out)} (TFLM requires them equal)"
        )
    return Call("te_reduce_max_s8", (TensorArg(inp.id), outer, count, inner, TensorArg(out.id)), ("te_reduce",))
