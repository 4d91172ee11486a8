"""DEPTHWISE_CONV_2D (int8) -> te_depthwise_s8, or its in-place variant.

The in-place variant (te_depthwise_inplace_s8) is offered when options allow
it, the depth multiplier is 1 and the output is no larger than the input; the
memory analysis accepts it only where the input dies at this op.
"""

from __future__ import annotations

from engine.lower.call import Call, LowerOptions, ScratchArg, TensorArg, UnsupportedOp, lowering
from engine.lower.ops import _conv_common as cc
from engine.lower.ops import _dsp
from tflite_bridge.ir import Graph, Op


@lowering("DEPTHWISE_CONV_2D", dtypes="int8 (int8 weights, per-channel or per-tensor; int32 bias)",
          limits="batch 1 (NHWC); constant weights; output channels = input channels x depth_multiplier")
def lower_depthwise(graph: Graph, op: Op, options: LowerOptions) -> Call:
    attrs = op.attrs
    inp, filt, out, (in_h, in_w, in_c), (out_h, out_w, out_c) = cc.operands(graph, op)
    if len(filt.shape) != 4 or filt.shape[0] != 1 or filt.shape[3] != out_c:
        raise UnsupportedOp(f"DEPTHWISE_CONV_2D: filter shape {filt.shape} for {out_c} output channels")
    _, k_h, k_w, _ = filt.shape
    multiplier = out_c // in_c
    if multiplier * in_c != out_c or attrs.depth_multiplier != multiplier:
        raise UnsupportedOp(f"DEPTHWISE_CONV_2D: {in_c} -> {out_c} channels with depth_multiplier "
                            f"{attrs.depth_multiplier}")
    prepared = cc.prepare(graph, op, inp, filt, out, (k_h, k_w))
    bias, pad_top, pad_left, in_zp, out_zp, rq = (prepared.bias, prepared.pad_top, prepared.pad_left,
                                                 prepared.in_zp, prepared.out_zp, prepared.rq)
    mult, shift = cc.requant_args(rq)
    taps = None if filt.data is None else filt.data.reshape(-1, out_c).T
    cc.check_accumulator(op, bias, taps, -in_zp)
    folded = cc.folded_bias(op, bias, taps, -in_zp)
    strides = (attrs.stride_h, attrs.stride_w, attrs.dilation_h_factor, attrs.dilation_w_factor, pad_top, pad_left)
    dsp = _dsp.requant(bias, rq.multipliers, rq.shifts, taps, -in_zp, out_zp)
    if _dsp.use_dsp(options) and dsp is not None and multiplier == 1:
        return _dsp_call(graph, op, options, dsp, strides, (-in_zp, dsp.output_offset, rq.act_min, rq.act_max))
    window = dict(zip(("stride_h", "stride_w", "dilation_h", "dilation_w", "pad_top", "pad_left"), strides))
    common = dict(input=TensorArg(inp.id), in_h=in_h, in_w=in_w, filter=TensorArg(filt.id), k_h=k_h, k_w=k_w,
                  bias=cc.bias_arg(graph, op, 2, out_c), bias_folded=0 if folded is None else folded,
                  output=TensorArg(out.id), out_h=out_h, out_w=out_w, **window, input_offset=-in_zp,
                  output_offset=out_zp, multiplier=mult, shift=shift, act_min=rq.act_min, act_max=rq.act_max)
    if options.inplace and multiplier == 1 and out_h * out_w <= in_h * in_w:
        return Call.of("te_depthwise_inplace_s8", ("te_depthwise",), channels=in_c, scratch=ScratchArg(), **common,
                       scratch_bytes=out_h * out_w, alias=(0, 0), alias_bytes=max(inp.nbytes, out.nbytes))
    return Call.of("te_depthwise_s8", ("te_depthwise",), in_c=in_c, depth_multiplier=multiplier, **common)


def _dsp_call(graph: Graph, op: Op, options: LowerOptions, dsp: _dsp.Requant, strides, offsets) -> Call:
    """te_depthwise_s8_dsp or its in-place variant (depth multiplier 1, DSP preconditions checked)."""
    inp, filt, out = (graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0]))
    (_, in_h, in_w, channels), (_, k_h, k_w, _), (_, out_h, out_w, _) = inp.shape, filt.shape, out.shape
    head = (TensorArg(inp.id), in_h, in_w, channels, _dsp.depthwise_blocks(dsp, filt.data, offsets[0]), k_h, k_w)
    geometry = (TensorArg(out.id), out_h, out_w, *strides, *offsets, int(dsp.wide))
    if options.inplace and out_h * out_w <= in_h * in_w:
        attrs = op.attrs
        padded = _dsp.depthwise_padded_bytes((in_h, in_w), (out_h, out_w), (k_h, k_w), (attrs.stride_h, attrs.stride_w),
                                             (attrs.dilation_h_factor, attrs.dilation_w_factor), strides[4:6])
        pad = _dsp.use_padded_copy(padded, out_h * out_w)
        return Call(
            "te_depthwise_inplace_s8_dsp",
            (*head, *geometry, int(pad), ScratchArg()),
            ("te_depthwise_dsp",),
            scratch_bytes=max(padded, 4 * out_h * out_w) if pad else 4 * out_h * out_w,
            alias=(0, 0),
            alias_bytes=max(inp.nbytes, out.nbytes),
        )
    return Call("te_depthwise_s8_dsp", (*head, *geometry), ("te_depthwise_dsp",))
