"""Constants for the Cortex-M4/M7 DSP kernels (te_*_dsp); registers no lowering.

The conv-like lowerings call these when `LowerOptions.target` is a core with
the ARMv7E-M DSP extension. Each helper returns None where a DSP kernel's
preconditions do not hold, and the lowering then keeps the portable kernel:

  - te_dsp_requant's short form of TFLM's requantisation is exact only when
    every channel's shift is negative (or its multiplier zero); where some
    accumulator may reach 2^29 in magnitude (bound from the constant weights
    and bias) the kernel is told to use te_dsp_requant_wide (proofs in te_dsp.h);
  - the weights and bias must be constant (they are rearranged at compile time).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from engine.lower.call import ConstArray, LowerOptions

DSP_TARGETS = ("cortex-m4", "cortex-m7")
ACC_LIMIT = 2**29  # te_dsp.h condition (b)
FOLD_MAX_SHIFT = 23  # te_dsp_requant: the output offset fits in the addend up to this right shift (te_dsp.h)


def use_dsp(options: LowerOptions) -> bool:
    """True when the compile targets a core whose kernels may use the DSP extension."""
    return options.target in DSP_TARGETS


def requant_params(
    bias: np.ndarray | None,
    multipliers: Sequence[int],
    shifts: Sequence[int],
    weights: np.ndarray | None,
    input_offset: int,
) -> tuple[ConstArray, int] | None:
    """(per channel (bias, multiplier, 2^(e-1), e), wide) for te_dsp.h, or None.

    Args:
        bias: int64 bias per output channel (zeros when the model has none),
            None when not constant.
        multipliers, shifts: TFLM's per-channel (or one per-tensor) pair.
        weights: [channel, taps] int8 weights, None when not constant.
        input_offset: the offset added to every input byte (-zero point).
    """
    if bias is None or weights is None:
        return None
    channels = weights.shape[0]
    mults = list(multipliers) * (channels if len(multipliers) == 1 else 1)
    shs = list(shifts) * (channels if len(shifts) == 1 else 1)
    if any(s >= 0 and m != 0 for m, s in zip(mults, shs)):
        return None  # TFLM shifts left first: not te_dsp_requant's form
    x_max = max(abs(-128 + input_offset), abs(127 + input_offset))
    worst = np.abs(bias) + x_max * np.abs(weights.astype(np.int64)).sum(axis=1)
    wide = int(int(worst.max(initial=0)) >= ACC_LIMIT)
    values = []
    for b, m, s in zip(bias, mults, shs):
        e = 1 if m == 0 else -s  # a zero multiplier gives 0 for any e
        values += [int(b), int(m), 1 << (e - 1), e]
    return ConstArray("int32_t", tuple(values)), wide


@dataclasses.dataclass(frozen=True)
class Requant:
    """TFLM's per-channel requantisation in te_dsp.h's form.

    Attributes:
        bias: int64 bias per output channel.
        multipliers: per channel, as TFLM computes them.
        addends: per channel 2^(e-1), plus output_offset * 2^e when folded.
        shifts: per channel right shift e >= 1.
        wide: accumulators may reach 2^29 (te_dsp_requant_wide).
        output_offset: what the kernel still adds after requantising (0 when folded).
    """

    bias: tuple[int, ...]
    multipliers: tuple[int, ...]
    addends: tuple[int, ...]
    shifts: tuple[int, ...]
    wide: bool
    output_offset: int


def requant(
    bias: np.ndarray | None,
    multipliers: Sequence[int],
    shifts: Sequence[int],
    weights: np.ndarray | None,
    input_offset: int,
    output_offset: int,
) -> Requant | None:
    """requant_params' arithmetic, with the output offset folded into the addends where exact."""
    found = requant_params(bias, multipliers, shifts, weights, input_offset)
    if found is None:
        return None
    words = np.array(found[0].values, np.int64).reshape(-1, 4)
    es = words[:, 3]
    fold = int(es.max(initial=1)) <= FOLD_MAX_SHIFT
    addends = words[:, 2] + (output_offset << es if fold else 0)
    return Requant(tuple(int(v) for v in words[:, 0]), tuple(int(v) for v in words[:, 1]),
                   tuple(int(v) for v in addends), tuple(int(v) for v in es), bool(found[1]),
                   0 if fold else output_offset)


def conv_params(rq: Requant) -> ConstArray:
    """Per output channel (bias, multiplier, addend, e): te_conv_dsp.h's `params`."""
    rows = zip(rq.bias, rq.multipliers, rq.addends, rq.shifts)
    return ConstArray("int32_t", tuple(int(v) for row in rows for v in row))


def depthwise_blocks(rq: Requant, filt: np.ndarray, input_offset: int) -> ConstArray:
    """te_depthwise_dsp.h's per-group int32 blocks for [1, k_h, k_w, C] int8 weights.

    Biases and weights are doubled unless `rq.wide`; channels past the last
    are zeros.
    """
    _, k_h, k_w, channels = filt.shape
    groups = -(-channels // 4)
    scale = 1 if rq.wide else 2
    taps = np.zeros((k_h * k_w, groups * 4), np.int64)
    taps[:, :channels] = filt.reshape(k_h * k_w, channels).astype(np.int64) * scale
    bias = np.zeros(groups * 4, np.int64)
    bias[:channels] = np.array(rq.bias, np.int64) * scale
    bias_in = bias + input_offset * taps.sum(axis=0)
    mre = np.zeros((groups * 4, 3), np.int64)
    mre[:, 2] = 1
    mre[:channels] = np.stack([rq.multipliers, rq.addends, rq.shifts], axis=1)
    lanes = taps.reshape(k_h * k_w, groups, 4)[:, :, [0, 2, 1, 3]] & 0xFFFF
    pairs = (lanes[:, :, 0::2] | (lanes[:, :, 1::2] << 16)).transpose(1, 0, 2).reshape(groups, -1)
    pairs = np.where(pairs >= 2**31, pairs - 2**32, pairs)
    blocks = np.concatenate([bias_in.reshape(groups, 4), bias.reshape(groups, 4), mre.reshape(groups, 12), pairs],
                            axis=1)
    return ConstArray("int32_t", tuple(int(v) for v in blocks.reshape(-1)))


def depthwise_padded_bytes(in_hw, out_hw, kernel, strides, dilations, pads) -> int:
    """Bytes of te_depthwise_dsp.c's te_dw_pad copy of one group: 4 per padded input pixel."""
    sizes = []
    for i, o, k, s, d, before in zip(in_hw, out_hw, kernel, strides, dilations, pads):
        after = max(0, (o - 1) * s + (k - 1) * d + 1 - i - before)
        sizes.append(before + i + after)
    return 4 * sizes[0] * sizes[1]


def use_padded_copy(padded_bytes: int, out_pixels: int) -> bool:
    """The in-place depthwise pads a copy when it costs little more scratch than the output plane.

    The copy lets every pixel take the interior path (borders cost about
    twice as much), at a price of the padding's bytes: allowed up to 1 kB or
    an eighth of the plane.
    """
    return padded_bytes - 4 * out_pixels <= max(1024, out_pixels // 2)


def pair_filter(weights: np.ndarray) -> ConstArray:
    """[out_c, depth] int8 weights in te_conv_dsp.h's layout.

    Depth is zero-padded to a multiple of 4; channels go in pairs, chunk by
    chunk (4 bytes of o, then 4 bytes of o + 1); an odd last channel follows.
    """
    out_c, depth = weights.shape
    chunks = -(-depth // 4)
    padded = np.zeros((out_c, chunks * 4), np.int8)
    padded[:, :depth] = weights
    pairs = out_c // 2 * 2
    blocks = padded[:pairs].reshape(pairs // 2, 2, chunks, 4).transpose(0, 2, 1, 3).reshape(-1)
    tail = padded[pairs:].reshape(-1)
    return ConstArray("int8_t", tuple(int(v) for v in np.concatenate([blocks, tail])))


def _segment(k_w: int, dilation_w: int) -> int:
    """Taps per segment (TE_CONV_DSP_SEG_TAPS): a kernel row, or one tap when dilated."""
    return k_w if dilation_w == 1 else 1


def segment_filter(filt: np.ndarray, dilation_w: int) -> np.ndarray:
    """[out_c, k_h, k_w, in_c] weights as [out_c, depth] with te_conv_dsp.h's zero-padded segments."""
    out_c, k_h, k_w, in_c = filt.shape
    taps = _segment(k_w, dilation_w)
    segments = filt.reshape(out_c, k_h * k_w // taps, taps * in_c)
    padded = np.zeros((out_c, segments.shape[1], -(-taps * in_c // 4) * 4), np.int8)
    padded[:, :, : taps * in_c] = segments
    return padded.reshape(out_c, -1)


def borrow_output_end(scratch_bytes: int, output_bytes: int) -> bool:
    """Whether te_conv2d_s8_dsp takes its columns from the output's end instead of a scratch area.

    Borrowing keeps the arena at the tensors' own lower bound; its price is
    that the pixels whose outputs lie there are computed without columns
    (about 1.4x the instructions). Worth it while the scratch is under a
    quarter of the output: early layers, where MCU networks peak. Deep
    layers on small maps keep a scratch area (there, the tensors are small).
    """
    return 4 * scratch_bytes <= output_bytes


def conv_scratch_bytes(k_h: int, k_w: int, in_c: int, dilation_w: int) -> int:
    """Scratch of te_conv2d_s8_dsp: 16 bytes per chunk of the padded depth, plus one segment of staging."""
    taps = _segment(k_w, dilation_w)
    segment = -(-taps * in_c // 4) * 4
    return 4 * k_h * (k_w // taps) * segment + segment
