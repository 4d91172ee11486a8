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

from collections.abc import Sequence

import numpy as np

from engine.lowering import ConstArray, LowerOptions

DSP_TARGETS = ("cortex-m4", "cortex-m7")
ACC_LIMIT = 2**29  # te_dsp.h condition (b)


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


def depthwise_filter(filt: np.ndarray) -> ConstArray:
    """[1, k_h, k_w, C] int8 depthwise weights in te_depthwise_dsp.h's layout (int16).

    Groups of 4 channels (zero weights past the last), each tap as
    (w_c0, w_c2, w_c1, w_c3).
    """
    _, k_h, k_w, channels = filt.shape
    groups = -(-channels // 4)
    padded = np.zeros((k_h * k_w, groups * 4), np.int16)
    padded[:, :channels] = filt.reshape(k_h * k_w, channels)
    lanes = padded.reshape(k_h * k_w, groups, 4)[:, :, [0, 2, 1, 3]].transpose(1, 0, 2)
    return ConstArray("int16_t", tuple(int(v) for v in lanes.reshape(-1)))


def conv_scratch_bytes(depth: int, in_c: int) -> int:
    """TE_CONV_DSP_SCRATCH(depth, in_c) of te_conv_dsp.h."""
    return (16 + (4 if in_c % 4 else 0)) * (-(-depth // 4))
