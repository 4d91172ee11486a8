"""AVERAGE_POOL_2D / MAX_POOL_2D (int8) -> te_avgpool_s8 / te_maxpool_s8.

As in TFLM, the output takes the input's bytes (no requantisation) clamped to
the fused activation's range computed from the output's quantisation.
"""

from __future__ import annotations

from engine.lower.call import Call, LowerOptions, TensorArg, UnsupportedOp, lowering
from engine.lower.ops import _conv_common as cc
from engine.lower.quant import activation_range
from tflite_bridge.ir import DType, Graph, Op

_KERNELS = {"AVERAGE_POOL_2D": "te_avgpool_s8", "MAX_POOL_2D": "te_maxpool_s8"}


@lowering("AVERAGE_POOL_2D", "MAX_POOL_2D", limits="batch 1 (NHWC)")
def lower_pool(graph: Graph, op: Op, options: LowerOptions) -> Call:
    attrs = op.attrs
    inp = cc.int8_tensor(graph, op, 0, "input")
    out = cc.int8_tensor(graph, op, 0, "output", outputs=True)
    in_h, in_w, channels = cc.batch_one(op, inp)
    out_h, out_w, out_c = cc.batch_one(op, out)
    if out_c != channels:
        raise UnsupportedOp(f"{op.kind}: {channels} input channels but {out_c} output channels")
    k = (attrs.filter_height, attrs.filter_width)
    stride = (attrs.stride_h, attrs.stride_w)
    pad_top, pad_left = cc.geometry(op, (in_h, in_w), (out_h, out_w), k, stride, (1, 1), attrs.padding)
    out_scale, out_zp = cc.activation_scale(out)
    lo, hi = activation_range(attrs.fused_activation_function, out_scale, out_zp, DType.INT8)
    return Call.of(_KERNELS[op.kind], ("te_pool",), input=TensorArg(inp.id), in_h=in_h, in_w=in_w, channels=channels,
                   output=TensorArg(out.id), out_h=out_h, out_w=out_w, k_h=k[0], k_w=k[1], stride_h=stride[0],
                   stride_w=stride[1], pad_top=pad_top, pad_left=pad_left, act_min=lo, act_max=hi)
