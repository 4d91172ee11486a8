"""Synthetic lifetimes shaped like real networks, for the planner tests."""

from __future__ import annotations

from collections.abc import Sequence

from engine.memory.planner import Buffer


def chain(sizes: Sequence[int], align: int = 16) -> tuple[Buffer, ...]:
    """A chain of ops: op i reads buffer i and writes buffer i + 1.

    The graph input is live at op 0 only, the output at the last op only,
    every other buffer from the op that writes it to the op that reads it.
    """
    last_op = max(len(sizes) - 2, 0)
    return tuple(
        Buffer(i, size, max(i - 1, 0), min(i, last_op), align) for i, size in enumerate(sizes)
    )


def residual(
    input_size: int, blocks: Sequence[tuple[int, int]], align: int = 16
) -> tuple[Buffer, ...]:
    """ResNet-like blocks: x -> op -> h -> op -> y; out = op(x, y).

    Each block is three ops (two convs and the add); `x` stays live until the
    add, so three buffers overlap inside every block. (Sizes of x and y may
    differ, as if the shortcut were a projection: the planner does not care.)

    Args:
        input_size: bytes of the first block's input.
        blocks: (h bytes, y and out bytes) per block.
    """
    buffers, step, next_id = [], 0, 1
    x_id, x_size, x_first = 0, input_size, 0
    for h_size, y_size in blocks:
        h_id, y_id, out_id = next_id, next_id + 1, next_id + 2
        next_id += 3
        buffers.append(Buffer(x_id, x_size, x_first, step + 2, align))
        buffers.append(Buffer(h_id, h_size, step, step + 1, align))
        buffers.append(Buffer(y_id, y_size, step + 1, step + 2, align))
        x_id, x_size, x_first = out_id, y_size, step + 2
        step += 3
    buffers.append(Buffer(x_id, x_size, x_first, step - 1, align))
    return tuple(buffers)
