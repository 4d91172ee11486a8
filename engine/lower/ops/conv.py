"""CONV_2D (int8) -> te_conv1x1_s8 (pointwise) or te_conv2d_s8 (general).

Constants follow TFLM's conv Prepare (see _conv_common); the input zero point
is folded into the bias where exact (te_conv.h).
"""

from __future__ import annotations

from engine.lower.call import Call, LowerOptions, ScratchArg, TensorArg, UnsupportedOp, lowering
from engine.lower.ops import _conv_common as cc
from engine.lower.ops import _dsp
from tflite_bridge.ir import Graph, Op


@lowering("CONV_2D", dtypes="int8 (int8 weights, per-channel or per-tensor; int32 bias)",
          limits="batch 1 (NHWC); constant weights; no grouped convolution")
def lower_conv2d(graph: Graph, op: Op, options: LowerOptions) -> Call:
    attrs = op.attrs
    inp, filt, out, (in_h, in_w, in_c), (out_h, out_w, out_c) = cc.operands(graph, op)
    if len(filt.shape) != 4 or filt.shape[0] != out_c:
        raise UnsupportedOp(f"CONV_2D: filter shape {filt.shape} does not match {out_c} output channels")
    _, k_h, k_w, k_c = filt.shape
    if k_c != in_c:
        raise UnsupportedOp(f"CONV_2D: grouped convolution (filter depth {k_c}, input depth {in_c})")
    prepared = cc.prepare(graph, op, inp, filt, out, (k_h, k_w))
    bias, pad_top, pad_left, in_zp, out_zp, rq = (prepared.bias, prepared.pad_top, prepared.pad_left,
                                                 prepared.in_zp, prepared.out_zp, prepared.rq)
    mult, shift = cc.requant_args(rq)
    weights = cc.weights_rows(filt, op)
    cc.check_accumulator(op, bias, filt.data.reshape(out_c, -1), -in_zp)
    folded = cc.folded_bias(op, bias, filt.data.reshape(out_c, -1), -in_zp)
    pointwise = (k_h, k_w, attrs.stride_h, attrs.stride_w, pad_top, pad_left) == (1, 1, 1, 1, 0, 0)
    pointwise = pointwise and (out_h, out_w) == (in_h, in_w)
    dsp = _dsp.requant(bias, rq.multipliers, rq.shifts, filt.data.reshape(out_c, -1), -in_zp, out_zp)
    if _dsp.use_dsp(options) and dsp is not None:
        common = dict(input=TensorArg(inp.id), in_c=in_c, params=_dsp.conv_params(dsp), output=TensorArg(out.id),
                      out_c=out_c, input_offset=-in_zp, output_offset=dsp.output_offset, act_min=rq.act_min,
                      act_max=rq.act_max, wide=int(dsp.wide))
        if pointwise:  # no scratch: te_conv1x1_s8_dsp borrows the output's end
            return Call.of("te_conv1x1_s8_dsp", ("te_conv_dsp", "te_fc_dsp"), pixels=in_h * in_w,
                           filter=_dsp.pair_filter(filt.data.reshape(out_c, -1)), **common)
        filter_dsp = _dsp.pair_filter(_dsp.segment_filter(filt.data, attrs.dilation_w_factor))
        scratch = _dsp.conv_scratch_bytes(k_h, k_w, in_c, attrs.dilation_w_factor)
        borrow = _dsp.borrow_output_end(scratch, out.nbytes)  # then the kernel gets NULL scratch
        return Call.of("te_conv2d_s8_dsp", ("te_conv_dsp", "te_fc_dsp"), in_h=in_h, in_w=in_w, filter=filter_dsp,
                       k_h=k_h, k_w=k_w, out_h=out_h, out_w=out_w, stride_h=attrs.stride_h, stride_w=attrs.stride_w,
                       dilation_h=attrs.dilation_h_factor, dilation_w=attrs.dilation_w_factor, pad_top=pad_top,
                       pad_left=pad_left, scratch=0 if borrow else ScratchArg(), **common,
                       scratch_bytes=0 if borrow else scratch)
    if pointwise and folded is not None:
        return Call.of("te_conv1x1_s8", ("te_conv",), input=TensorArg(inp.id), pixels=in_h * in_w, in_c=in_c,
                       filter=weights, bias_folded=folded, output=TensorArg(out.id), out_c=out_c,
                       output_offset=out_zp, multiplier=mult, shift=shift, quant_stride=1, act_min=rq.act_min,
                       act_max=rq.act_max)
    return Call.of("te_conv2d_s8", ("te_conv",), input=TensorArg(inp.id), in_h=in_h, in_w=in_w, in_c=in_c,
                   filter=weights, k_h=k_h, k_w=k_w, bias=cc.bias_arg(graph, op, 2, out_c),
                   bias_folded=0 if folded is None else folded, output=TensorArg(out.id), out_h=out_h, out_w=out_w,
                   out_c=out_c, stride_h=attrs.stride_h, stride_w=attrs.stride_w, dilation_h=attrs.dilation_h_factor,
                   dilation_w=attrs.dilation_w_factor, pad_top=pad_top, pad_left=pad_left, input_offset=-in_zp,
                   output_offset=out_zp, multiplier=mult, shift=shift, act_min=rq.act_min, act_max=rq.act_max)
