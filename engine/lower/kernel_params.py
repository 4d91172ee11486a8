"""Parameter names of every kernel function, as engine/kernels/*.h declares them.

Kernel calls carry their arguments by name (engine/lower/call.py); this table is where the names
come from. It is written from the headers and checked against them by tests/engine/test_kernel_params.py
(which prints the entry to paste when a declaration changes), so nothing parses C at run time.
"..." marks a variadic tail.
"""

KERNEL_PARAMS: dict[str, tuple[str, ...]] = {
    "te_add_lut_s8": (
        "in1", "in2", "out", "bcast", "table1", "table2", "out_multiplier", "out_shift", "out_offset", "act_min",
        "act_max",
    ),
    "te_add_s8": (
        "in1", "in2", "out", "bcast", "in1_offset", "in1_multiplier", "in1_shift", "in2_offset", "in2_multiplier",
        "in2_shift", "left_shift", "out_multiplier", "out_shift", "out_offset", "act_min", "act_max",
    ),
    "te_arg_min_max_s8": ("input", "output", "outer", "axis_size", "inner", "is_max"),
    "te_avgpool_s8": (
        "input", "in_h", "in_w", "channels", "output", "out_h", "out_w", "k_h", "k_w", "stride_h", "stride_w",
        "pad_top", "pad_left", "act_min", "act_max",
    ),
    "te_axis_map_copy": ("input", "output", "desc", "maps", "elem_bytes"),
    "te_concatenation_s8": ("output", "outer", "output_inner", "num_inputs", "..."),
    "te_conv1x1_s8": (
        "input", "pixels", "in_c", "filter", "bias_folded", "output", "out_c", "output_offset", "multiplier", "shift",
        "quant_stride", "act_min", "act_max",
    ),
    "te_conv1x1_s8_dsp": (
        "input", "pixels", "in_c", "filter", "params", "output", "out_c", "input_offset", "output_offset", "act_min",
        "act_max", "wide",
    ),
    "te_conv2d_s8": (
        "input", "in_h", "in_w", "in_c", "filter", "k_h", "k_w", "bias", "bias_folded", "output", "out_h", "out_w",
        "out_c", "stride_h", "stride_w", "dilation_h", "dilation_w", "pad_top", "pad_left", "input_offset",
        "output_offset", "multiplier", "shift", "act_min", "act_max",
    ),
    "te_conv2d_s8_dsp": (
        "input", "in_h", "in_w", "in_c", "filter", "k_h", "k_w", "params", "output", "out_h", "out_w", "out_c",
        "stride_h", "stride_w", "dilation_h", "dilation_w", "pad_top", "pad_left", "input_offset", "output_offset",
        "act_min", "act_max", "wide", "scratch",
    ),
    "te_copy_window": ("src", "src_stride", "dst", "dst_stride", "rows", "row_bytes"),
    "te_depthwise_inplace_s8": (
        "input", "in_h", "in_w", "channels", "filter", "k_h", "k_w", "bias", "bias_folded", "output", "out_h",
        "out_w", "stride_h", "stride_w", "dilation_h", "dilation_w", "pad_top", "pad_left", "input_offset",
        "output_offset", "multiplier", "shift", "act_min", "act_max", "scratch",
    ),
    "te_depthwise_inplace_s8_dsp": (
        "input", "in_h", "in_w", "channels", "blocks", "k_h", "k_w", "output", "out_h", "out_w", "stride_h",
        "stride_w", "dilation_h", "dilation_w", "pad_top", "pad_left", "input_offset", "output_offset", "act_min",
        "act_max", "wide", "padded", "scratch",
    ),
    "te_depthwise_s8": (
        "input", "in_h", "in_w", "in_c", "filter", "k_h", "k_w", "depth_multiplier", "bias", "bias_folded", "output",
        "out_h", "out_w", "stride_h", "stride_w", "dilation_h", "dilation_w", "pad_top", "pad_left", "input_offset",
        "output_offset", "multiplier", "shift", "act_min", "act_max",
    ),
    "te_depthwise_s8_dsp": (
        "input", "in_h", "in_w", "channels", "blocks", "k_h", "k_w", "output", "out_h", "out_w", "stride_h",
        "stride_w", "dilation_h", "dilation_w", "pad_top", "pad_left", "input_offset", "output_offset", "act_min",
        "act_max", "wide",
    ),
    "te_dequantize_s8_f32": ("input", "output", "size", "scale_bits", "zero_point"),
    "te_fc4_chunks_dsp": ("x", "chunks", "w0", "w1", "offset2", "acc"),
    "te_fc_s8": (
        "input", "rows", "depth", "filter", "bias_folded", "output", "out_c", "output_offset", "multiplier", "shift",
        "quant_stride", "act_min", "act_max",
    ),
    "te_fc_s8_dsp": (
        "input", "rows", "depth", "filter", "params", "output", "out_c", "input_offset", "output_offset", "act_min",
        "act_max", "wide",
    ),
    "te_gather": ("input", "coords", "output", "batch", "outer", "axis_size", "coord_size", "inner", "elem_bytes"),
    "te_log_softmax_s8": (
        "input", "output", "outer", "depth", "input_multiplier", "input_left_shift", "reverse_divisor",
        "reverse_shift", "diff_min",
    ),
    "te_lut_s8": ("input", "output", "size", "table"),
    "te_lut_u8": ("input", "output", "size", "table"),
    "te_maximum_s8": ("in1", "in2", "out", "bcast"),
    "te_maxpool_s8": (
        "input", "in_h", "in_w", "channels", "output", "out_h", "out_w", "k_h", "k_w", "stride_h", "stride_w",
        "pad_top", "pad_left", "act_min", "act_max",
    ),
    "te_minimum_s8": ("in1", "in2", "out", "bcast"),
    "te_mul_s8": (
        "in1", "in2", "out", "bcast", "in1_offset", "in2_offset", "out_multiplier", "out_shift", "out_offset",
        "act_min", "act_max",
    ),
    "te_pad_s8": ("input", "output", "desc", "pad_value"),
    "te_prelu_s8": (
        "input", "alpha", "out", "bcast", "input_offset", "alpha_offset", "multiplier_1", "shift_1", "multiplier_2",
        "shift_2", "out_offset",
    ),
    "te_quantize_f32_s8": ("input", "output", "size", "scale_bits", "zero_point"),
    "te_reduce_max_s8": ("input", "outer", "reduce", "inner", "output"),
    "te_reduce_requant_s8": (
        "input", "outer", "reduce", "inner", "output", "input_zp", "output_zp", "multiplier", "shift",
    ),
    "te_resize_bilinear_s8": (
        "input", "output", "batches", "input_height", "input_width", "depth", "output_height", "output_width",
        "y_params", "x_params",
    ),
    "te_resize_nearest_s8": (
        "input", "output", "batches", "input_height", "input_width", "depth", "output_height", "output_width",
        "y_map", "x_map",
    ),
    "te_softmax_lut_s8": ("input", "output", "outer", "depth", "exp_table"),
    "te_softmax_s8": (
        "input", "output", "outer", "depth", "input_beta_multiplier", "input_beta_left_shift", "diff_min",
    ),
    "te_split_s8": ("input", "outer", "input_inner", "num_outputs", "..."),
    "te_squared_difference_s8": (
        "in1", "in2", "out", "bcast", "in1_offset", "in1_multiplier", "in1_shift", "in2_offset", "in2_multiplier",
        "in2_shift", "left_shift", "out_multiplier", "out_shift", "out_offset",
    ),
    "te_strided_copy": ("input", "output", "desc", "elem_bytes"),
    "te_sub_s8": (
        "in1", "in2", "out", "bcast", "in1_offset", "in1_multiplier", "in1_shift", "in2_offset", "in2_multiplier",
        "in2_shift", "left_shift", "out_multiplier", "out_shift", "out_offset", "act_min", "act_max",
    ),
    "te_transpose_conv_s8": (
        "input", "in_h", "in_w", "in_c", "filter", "k_h", "k_w", "bias", "output", "out_h", "out_w", "out_c",
        "stride_h", "stride_w", "pad_top", "pad_left", "input_offset", "output_offset", "multipliers", "shifts",
        "act_min", "act_max", "scratch",
    ),
}
