"""TRANSPOSE_CONV (int8, per-channel or per-tensor weights) -> te_transpose_conv_s8.

TFLM's Prepare (transpose_conv.cc) takes the padding from the *output* size, as if the output
were a convolution's input: pad = max(0, (ComputeOutSize(H_out) - 1) * stride + k - H_out) / 2,
only the leading half used by the kernel; requantisation is PopulateConvolutionQuantizationParams
(double products), as for CONV_2D. Inputs: output shape (constant int32), OHWI filter, input,
optional int32 bias.
"""

from __future__ import annotations

import numpy as np

from engine.lower.call import Call, LowerOptions, ScratchArg, TensorArg, UnsupportedOp, lowering
from engine.lower.ops import _conv_common as cc
from tflite_bridge.conventions import pad_before_after
from tflite_bridge.ir import ABSENT, Graph, Op


@lowering("TRANSPOSE_CONV", dtypes="int8 (int8 weights, per-channel or per-tensor; int32 bias)",
          limits="batch 1 (NHWC); constant weights (zero points 0), bias and output shape; strides up to 32768")
def lower_transpose_conv(graph: Graph, op: Op, options: LowerOptions) -> Call:
    filt = cc.int8_tensor(graph, op, 1, "filter")
    inp = cc.int8_tensor(graph, op, 2, "input")
    out = cc.int8_tensor(graph, op, 0, "output", outputs=True)
    in_h, in_w, in_c = cc.batch_one(op, inp)
    out_h, out_w, out_c = cc.batch_one(op, out)
    shape = graph.tensor(op.inputs[0]).data
    if shape is None or tuple(int(v) for v in shape.reshape(-1)) != tuple(out.shape):
        raise UnsupportedOp(f"TRANSPOSE_CONV: output shape input {None if shape is None else shape.tolist()} "
                            f"is not the constant {list(out.shape)}")
    if filt.data is None or len(filt.shape) != 4 or filt.shape[0] != out_c or filt.shape[3] != in_c:
        raise UnsupportedOp(f"TRANSPOSE_CONV: filter {filt.shape} is not a constant OHWI [{out_c}, kh, kw, {in_c}]")
    if any(z != 0 for z in filt.quant.zero_point):
        raise UnsupportedOp("TRANSPOSE_CONV: filter zero points must be 0")
    k_h, k_w = filt.shape[1:3]
    attrs = op.attrs
    if not (1 <= attrs.stride_h <= 1 << 15 and 1 <= attrs.stride_w <= 1 << 15):
        raise UnsupportedOp(f"TRANSPOSE_CONV: strides {[attrs.stride_h, attrs.stride_w]} must be in [1, 32768]")
    pad_top = pad_before_after(attrs.padding, out_h, k_h, attrs.stride_h)[0]
    pad_left = pad_before_after(attrs.padding, out_w, k_w, attrs.stride_w)[0]
    rq = cc.conv_requant(op, inp, filt, out, out_c, attrs.fused_activation_function)
    in_zp = cc.activation_scale(inp)[1]
    bias = cc.bias_values(graph, op, 3, out_c)
    if bias is None:
        raise UnsupportedOp("TRANSPOSE_CONV: the bias is not constant")
    cc.check_accumulator(op, bias, filt.data.reshape(out_c, -1), -in_zp)
    mults, shifts = cc.requant_args(rq)
    return Call.of("te_transpose_conv_s8", ("te_transpose_conv",), input=TensorArg(inp.id), in_h=in_h, in_w=in_w,
                   in_c=in_c, filter=TensorArg(filt.id), k_h=k_h, k_w=k_w,
                   bias=TensorArg(op.input(3)) if op.input(3) != ABSENT else 0, output=TensorArg(out.id),
                   out_h=out_h, out_w=out_w, out_c=out_c, stride_h=attrs.stride_h, stride_w=attrs.stride_w,
                   pad_top=pad_top, pad_left=pad_left, input_offset=-in_zp, output_offset=cc.activation_scale(out)[1],
                   multipliers=mults, shifts=shifts, act_min=rq.act_min, act_max=rq.act_max, scratch=ScratchArg(),
                   scratch_bytes=4 * int(np.prod(out.shape)))
