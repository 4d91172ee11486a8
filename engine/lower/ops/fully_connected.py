"""FULLY_CONNECTED (int8) -> te_fc_s8: rows of the input times the filter.

TFLM's multipliers differ by weight quantisation (fully_connected_common.cc):
per-channel uses double(input_scale) * double(filter_scale[c]) / double(output_scale);
per-tensor (GetQuantizedConvolutionMultipler) multiplies the two scales in
float32 first: double(float(input_scale * filter_scale)) / double(output_scale).
"""

from __future__ import annotations

import numpy as np

from engine.lower.call import Call, ConstArray, LowerOptions, TensorArg, UnsupportedOp, lowering
from engine.lower.ops import _conv_common as cc
from engine.lower.ops import _dsp
from engine.lower.quant import activation_range, quantize_multiplier
from tflite_bridge.ir import DType, Graph, Op, Tensor


def _multipliers(op: Op, inp: Tensor, filt: Tensor, out: Tensor, out_c: int) -> tuple[list[int], list[int]]:
    in_scale, _ = cc.activation_scale(inp)
    out_scale, _ = cc.activation_scale(out)
    scales = filt.quant.scale
    if len(scales) > 1:
        if len(scales) != out_c:
            raise UnsupportedOp(f"FULLY_CONNECTED: {len(scales)} filter scales for {out_c} outputs")
        pairs = [quantize_multiplier(in_scale * s / out_scale) for s in scales]
    else:
        product = float(np.float32(in_scale) * np.float32(scales[0]))
        pairs = [quantize_multiplier(product / out_scale)]
    return [m for m, _ in pairs], [s for _, s in pairs]


@lowering("FULLY_CONNECTED", dtypes="int8 (int8 weights, per-channel or per-tensor; int32 bias)",
          limits="constant 2-D weights with zero point 0; weights_format DEFAULT")
def lower_fully_connected(graph: Graph, op: Op, options: LowerOptions) -> Call:
    attrs = op.attrs
    inp = cc.int8_tensor(graph, op, 0, "input")
    filt = cc.int8_tensor(graph, op, 1, "filter")
    out = cc.int8_tensor(graph, op, 0, "output", outputs=True)
    if attrs.weights_format != 0:
        raise UnsupportedOp(f"FULLY_CONNECTED: weights_format {attrs.weights_format} (only DEFAULT)")
    if len(filt.shape) != 2 or filt.data is None:
        raise UnsupportedOp(f"FULLY_CONNECTED: filter {filt.name!r} must be a constant 2-D tensor, got {filt.shape}")
    if any(z != 0 for z in filt.quant.zero_point):
        raise UnsupportedOp(f"FULLY_CONNECTED: filter zero point {filt.quant.zero_point[0]} (TFLM requires 0)")
    out_c, depth = filt.shape
    rows = out.num_elements // out_c
    if out.shape[-1] != out_c or inp.num_elements != rows * depth:
        raise UnsupportedOp(f"FULLY_CONNECTED: input {inp.shape} / output {out.shape} do not fit filter {filt.shape}")
    bias = cc.bias_values(graph, op, 2, out_c)
    _, in_zp = cc.activation_scale(inp)
    out_scale, out_zp = cc.activation_scale(out)
    mults, shifts = _multipliers(op, inp, filt, out, out_c)
    lo, hi = activation_range(attrs.fused_activation_function, out_scale, out_zp, DType.INT8)
    cc.check_accumulator(op, bias, filt.data, -in_zp)
    folded = cc.folded_bias(op, bias, filt.data, -in_zp)
    dsp = _dsp.requant(bias, mults, shifts, filt.data, -in_zp, out_zp)
    if _dsp.use_dsp(options) and dsp is not None:
        return Call.of("te_fc_s8_dsp", ("te_fc_dsp",), input=TensorArg(inp.id), rows=rows, depth=depth,
                       filter=_dsp.pair_filter(filt.data), params=_dsp.conv_params(dsp), output=TensorArg(out.id),
                       out_c=out_c, input_offset=-in_zp, output_offset=dsp.output_offset, act_min=lo, act_max=hi,
                       wide=int(dsp.wide))
    if folded is not None:
        return Call.of("te_fc_s8", ("te_conv",), input=TensorArg(inp.id), rows=rows, depth=depth,
                       filter=cc.weights_rows(filt, op), bias_folded=folded, output=TensorArg(out.id), out_c=out_c,
                       output_offset=out_zp, multiplier=ConstArray("int32_t", tuple(mults)),
                       shift=ConstArray("int32_t", tuple(shifts)), quant_stride=1 if len(mults) > 1 else 0,
                       act_min=lo, act_max=hi)
    # Unfoldable (huge bias): the general convolution, rows as a H x 1 image.
    per_channel = lambda v: ConstArray("int32_t", tuple(v if len(v) > 1 else v * out_c))
    return Call.of("te_conv2d_s8", ("te_conv",), input=TensorArg(inp.id), in_h=rows, in_w=1, in_c=depth,
                   filter=cc.weights_rows(filt, op), k_h=1, k_w=1, bias=cc.bias_arg(graph, op, 2, out_c),
                   bias_folded=0, output=TensorArg(out.id), out_h=rows, out_w=1, out_c=out_c, stride_h=1, stride_w=1,
                   dilation_h=1, dilation_w=1, pad_top=0, pad_left=0, input_offset=-in_zp, output_offset=out_zp,
                   multiplier=per_channel(mults), shift=per_channel(shifts), act_min=lo, act_max=hi)
