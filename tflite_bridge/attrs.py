"""Typed attributes, one frozen dataclass per TFLite builtin op kind.

Field names are the schema's option fields in snake_case (`stride_w` for
`strideW`), so the reader and writer convert between the two generically.
Enum-typed fields use the enums below; anything the bridge does not model
keeps its raw options in `OpaqueAttrs`.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Optional


class Padding(enum.Enum):
    SAME = 0
    VALID = 1


class Activation(enum.Enum):
    NONE = 0
    RELU = 1
    RELU_N1_TO_1 = 2
    RELU6 = 3
    TANH = 4
    SIGN_BIT = 5


class MirrorPadMode(enum.Enum):
    REFLECT = 0
    SYMMETRIC = 1


class Attrs:
    """Base class of every attrs dataclass."""


@dataclasses.dataclass(frozen=True)
class NoAttrs(Attrs):
    """For builtins whose options table is empty or absent."""


@dataclasses.dataclass(frozen=True)
class Conv2DAttrs(Attrs):
    padding: Padding
    stride_w: int
    stride_h: int
    fused_activation_function: Activation = Activation.NONE
    dilation_w_factor: int = 1
    dilation_h_factor: int = 1
    quantized_bias_type: int = 0


@dataclasses.dataclass(frozen=True)
class DepthwiseConv2DAttrs(Attrs):
    padding: Padding
    stride_w: int
    stride_h: int
    depth_multiplier: int = 1
    fused_activation_function: Activation = Activation.NONE
    dilation_w_factor: int = 1
    dilation_h_factor: int = 1


@dataclasses.dataclass(frozen=True)
class TransposeConvAttrs(Attrs):
    padding: Padding
    stride_w: int
    stride_h: int
    fused_activation_function: Activation = Activation.NONE
    quantized_bias_type: int = 0


@dataclasses.dataclass(frozen=True)
class FullyConnectedAttrs(Attrs):
    fused_activation_function: Activation = Activation.NONE
    weights_format: int = 0  # 0 DEFAULT, 1 SHUFFLED4x16INT8
    keep_num_dims: bool = False
    asymmetric_quantize_inputs: bool = False
    quantized_bias_type: int = 0


@dataclasses.dataclass(frozen=True)
class BatchMatMulAttrs(Attrs):
    adj_x: bool = False
    adj_y: bool = False
    asymmetric_quantize_inputs: bool = False


@dataclasses.dataclass(frozen=True)
class AddAttrs(Attrs):
    fused_activation_function: Activation = Activation.NONE
    pot_scale_int16: bool = True


@dataclasses.dataclass(frozen=True)
class SubAttrs(Attrs):
    fused_activation_function: Activation = Activation.NONE
    pot_scale_int16: bool = True


@dataclasses.dataclass(frozen=True)
class MulAttrs(Attrs):
    fused_activation_function: Activation = Activation.NONE


@dataclasses.dataclass(frozen=True)
class Pool2DAttrs(Attrs):
    padding: Padding
    stride_w: int
    stride_h: int
    filter_width: int
    filter_height: int
    fused_activation_function: Activation = Activation.NONE


@dataclasses.dataclass(frozen=True)
class ReducerAttrs(Attrs):
    keep_dims: bool = False


@dataclasses.dataclass(frozen=True)
class SoftmaxAttrs(Attrs):
    beta: float = 1.0


@dataclasses.dataclass(frozen=True)
class LeakyReluAttrs(Attrs):
    alpha: float = 0.0


@dataclasses.dataclass(frozen=True)
class ReshapeAttrs(Attrs):
    new_shape: Optional[tuple[int, ...]] = None


@dataclasses.dataclass(frozen=True)
class SqueezeAttrs(Attrs):
    squeeze_dims: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True)
class MirrorPadAttrs(Attrs):
    mode: MirrorPadMode = MirrorPadMode.REFLECT


@dataclasses.dataclass(frozen=True)
class ConcatenationAttrs(Attrs):
    axis: int
    fused_activation_function: Activation = Activation.NONE


@dataclasses.dataclass(frozen=True)
class SplitAttrs(Attrs):
    num_splits: int


@dataclasses.dataclass(frozen=True)
class PackAttrs(Attrs):
    values_count: int
    axis: int = 0


@dataclasses.dataclass(frozen=True)
class UnpackAttrs(Attrs):
    num: int
    axis: int = 0


@dataclasses.dataclass(frozen=True)
class StridedSliceAttrs(Attrs):
    begin_mask: int = 0
    end_mask: int = 0
    ellipsis_mask: int = 0
    new_axis_mask: int = 0
    shrink_axis_mask: int = 0
    offset: bool = False


@dataclasses.dataclass(frozen=True)
class GatherAttrs(Attrs):
    axis: int = 0
    batch_dims: int = 0


@dataclasses.dataclass(frozen=True)
class ResizeAttrs(Attrs):
    align_corners: bool = False
    half_pixel_centers: bool = False


@dataclasses.dataclass(frozen=True)
class BlockSizeAttrs(Attrs):
    block_size: int


@dataclasses.dataclass(frozen=True)
class CastAttrs(Attrs):
    in_data_type: int = 0
    out_data_type: int = 0


@dataclasses.dataclass(frozen=True)
class ShapeAttrs(Attrs):
    out_type: int = 2  # INT32


@dataclasses.dataclass(frozen=True)
class ArgAttrs(Attrs):
    output_type: int = 4  # INT64


@dataclasses.dataclass(frozen=True)
class OpaqueAttrs(Attrs):
    """Raw options of an op the bridge does not model.

    `options` is the builtin options table as (schema field name, value)
    pairs, values made hashable (lists become tuples); `custom_code` and
    `custom_options` are set for CUSTOM ops.
    """

    options_type: str = ""
    options: tuple[tuple[str, object], ...] = ()
    custom_code: str = ""
    custom_options: bytes = b""


# kind -> (attrs class, schema options table name or None)
SPECS: dict[str, tuple[type, Optional[str]]] = {
    "CONV_2D": (Conv2DAttrs, "Conv2DOptions"),
    "DEPTHWISE_CONV_2D": (DepthwiseConv2DAttrs, "DepthwiseConv2DOptions"),
    "TRANSPOSE_CONV": (TransposeConvAttrs, "TransposeConvOptions"),
    "FULLY_CONNECTED": (FullyConnectedAttrs, "FullyConnectedOptions"),
    "BATCH_MATMUL": (BatchMatMulAttrs, "BatchMatMulOptions"),
    "ADD": (AddAttrs, "AddOptions"),
    "SUB": (SubAttrs, "SubOptions"),
    "MUL": (MulAttrs, "MulOptions"),
    "SQUARED_DIFFERENCE": (NoAttrs, "SquaredDifferenceOptions"),
    "MAXIMUM": (NoAttrs, "MaximumMinimumOptions"),
    "MINIMUM": (NoAttrs, "MaximumMinimumOptions"),
    "AVERAGE_POOL_2D": (Pool2DAttrs, "Pool2DOptions"),
    "MAX_POOL_2D": (Pool2DAttrs, "Pool2DOptions"),
    "MEAN": (ReducerAttrs, "ReducerOptions"),
    "SUM": (ReducerAttrs, "ReducerOptions"),
    "REDUCE_MAX": (ReducerAttrs, "ReducerOptions"),
    "SOFTMAX": (SoftmaxAttrs, "SoftmaxOptions"),
    "LOG_SOFTMAX": (NoAttrs, "LogSoftmaxOptions"),
    "LOGISTIC": (NoAttrs, None),
    "TANH": (NoAttrs, None),
    "RELU": (NoAttrs, None),
    "RELU6": (NoAttrs, None),
    "RELU_N1_TO_1": (NoAttrs, None),
    "HARD_SWISH": (NoAttrs, "HardSwishOptions"),
    "LEAKY_RELU": (LeakyReluAttrs, "LeakyReluOptions"),
    "PRELU": (NoAttrs, None),
    "ELU": (NoAttrs, None),
    "RESHAPE": (ReshapeAttrs, "ReshapeOptions"),
    "SQUEEZE": (SqueezeAttrs, "SqueezeOptions"),
    "EXPAND_DIMS": (NoAttrs, "ExpandDimsOptions"),
    "PAD": (NoAttrs, "PadOptions"),
    "PADV2": (NoAttrs, "PadV2Options"),
    "MIRROR_PAD": (MirrorPadAttrs, "MirrorPadOptions"),
    "CONCATENATION": (ConcatenationAttrs, "ConcatenationOptions"),
    "SPLIT": (SplitAttrs, "SplitOptions"),
    "SPLIT_V": (SplitAttrs, "SplitVOptions"),
    "PACK": (PackAttrs, "PackOptions"),
    "UNPACK": (UnpackAttrs, "UnpackOptions"),
    "STRIDED_SLICE": (StridedSliceAttrs, "StridedSliceOptions"),
    "SLICE": (NoAttrs, "SliceOptions"),
    "TRANSPOSE": (NoAttrs, "TransposeOptions"),
    "GATHER": (GatherAttrs, "GatherOptions"),
    "RESIZE_NEAREST_NEIGHBOR": (ResizeAttrs, "ResizeNearestNeighborOptions"),
    "RESIZE_BILINEAR": (ResizeAttrs, "ResizeBilinearOptions"),
    "DEPTH_TO_SPACE": (BlockSizeAttrs, "DepthToSpaceOptions"),
    "SPACE_TO_DEPTH": (BlockSizeAttrs, "SpaceToDepthOptions"),
    "QUANTIZE": (NoAttrs, "QuantizeOptions"),
    "DEQUANTIZE": (NoAttrs, "DequantizeOptions"),
    "CAST": (CastAttrs, "CastOptions"),
    "SHAPE": (ShapeAttrs, "ShapeOptions"),
    "ARG_MAX": (ArgAttrs, "ArgMaxOptions"),
    "ARG_MIN": (ArgAttrs, "ArgMinOptions"),
}

# Ops whose bodies live in other subgraphs: the bridge reads one subgraph.
CONTROL_FLOW = frozenset({"WHILE", "IF", "CALL", "CALL_ONCE", "STABLEHLO_WHILE", "STABLEHLO_CASE"})
