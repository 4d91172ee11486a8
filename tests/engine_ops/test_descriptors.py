"""Property tests (no C compiler): the shape descriptors the lowerings hand to
the data-walking kernels describe exactly numpy's broadcast, transpose and pad.

Each test walks a descriptor the way the C kernel does, in Python, over input
element indices, and compares the visited indices with numpy's own answer.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.lower.ops.elementwise import BCAST_AXES, broadcast_descriptor
from engine.lower.ops.layout import COPY_AXES, copy_descriptor, dense_strides
from engine.lower.ops.shape import PAD_AXES, mirror_index, pad_descriptor


def walk_broadcast(desc):
    """te_elementwise.c's TE_BROADCAST_LOOP: (index into input 1, into input 2) per output element."""
    e, s1, s2 = (
        desc[:BCAST_AXES],
        desc[BCAST_AXES : 2 * BCAST_AXES],
        desc[2 * BCAST_AXES :],
    )
    for idx in itertools.product(*(range(n) for n in e)):
        yield sum(i * s for i, s in zip(idx, s1)), sum(i * s for i, s in zip(idx, s2))


def walk_copy(desc):
    """te_strided_copy: the input element index of each output element, in order."""
    e, s, offset = (
        desc[:COPY_AXES],
        desc[COPY_AXES : 2 * COPY_AXES],
        desc[2 * COPY_AXES],
    )
    for idx in itertools.product(*(range(n) for n in e)):
        yield offset + sum(i * st_ for i, st_ in zip(idx, s))


def walk_pad(desc, n_out: int):
    """te_pad_s8: the output index each input element lands on, in input order."""
    ins, outs, before = (
        desc[:PAD_AXES],
        desc[PAD_AXES : 2 * PAD_AXES],
        desc[2 * PAD_AXES :],
    )
    strides = dense_strides(outs)
    for idx in itertools.product(*(range(n) for n in ins[:-1])):
        row = (
            sum((i + b) * s for i, b, s in zip(idx, before[:-1], strides[:-1]))
            + before[-1]
        )
        yield from range(row, row + ins[-1])


dims = st.lists(st.integers(1, 4), min_size=1, max_size=5)


@st.composite
def broadcastable(draw):
    out = draw(dims)
    a = [draw(st.sampled_from([n, 1])) for n in out]
    b = [draw(st.sampled_from([n, 1])) for n in out]
    # Either side may also have fewer axes (numpy right-aligns them).
    return tuple(a[draw(st.integers(0, len(a) - 1)) :]), tuple(
        b[draw(st.integers(0, len(b) - 1)) :]
    )


@settings(max_examples=200, deadline=None)
@given(broadcastable())
def test_broadcast_descriptor_walks_numpy_broadcast(shapes):
    a, b = shapes
    out = np.broadcast_shapes(a, b)
    ia = np.broadcast_to(np.arange(int(np.prod(a))).reshape(a), out).reshape(-1)
    ib = np.broadcast_to(np.arange(int(np.prod(b))).reshape(b), out).reshape(-1)
    walked = list(walk_broadcast(broadcast_descriptor(a, b, out)))
    assert walked == list(zip(ia.tolist(), ib.tolist()))


@settings(max_examples=200, deadline=None)
@given(dims, st.randoms(use_true_random=False))
def test_copy_descriptor_walks_numpy_transpose(shape, rng):
    perm = list(range(len(shape)))
    rng.shuffle(perm)
    strides = dense_strides(shape)
    desc = copy_descriptor([shape[p] for p in perm], [strides[p] for p in perm], 0)
    expected = np.arange(int(np.prod(shape))).reshape(shape).transpose(perm).reshape(-1)
    assert list(walk_copy(desc)) == expected.tolist()


@settings(max_examples=200, deadline=None)
@given(dims, st.data())
def test_pad_descriptor_places_input_as_numpy_pad(shape, data):
    pads = [(data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in shape]
    marker = np.pad(np.arange(1, int(np.prod(shape)) + 1).reshape(shape), pads).reshape(
        -1
    )
    expected = np.flatnonzero(
        marker
    )  # output positions of input elements 1, 2, ... in order
    assert list(walk_pad(pad_descriptor(shape, pads), marker.size)) == expected.tolist()


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.data(), st.sampled_from(["reflect", "symmetric"]))
def test_mirror_index_is_numpy_pad(size, data, mode):
    limit = (
        size - 1 if mode == "reflect" else size
    )  # the largest padding each mode allows
    left, right = data.draw(st.integers(0, limit)), data.draw(st.integers(0, limit))
    expected = np.pad(np.arange(size), (left, right), mode=mode)
    offset = 1 if mode == "reflect" else 0
    assert [
        mirror_index(i, left, size, offset) for i in range(size + left + right)
    ] == expected.tolist()
