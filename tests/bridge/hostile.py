"""Hand-built hostile flatbuffers: valid structure, shared tables and vectors.

flatbuffers lets any number of references point at one table or vector, so a
small file can describe a huge model. These builders make such files to check
that the reader's decode budget stops them.
"""

from __future__ import annotations

import flatbuffers
from ai_edge_litert import schema_py_generated as schema


def shared_buffers(copies: int, data_bytes: int) -> bytes:
    """A model whose `copies` tensors each own a distinct buffer record, all
    pointing at one `data_bytes`-long data vector (copies * data_bytes decoded)."""
    b = flatbuffers.Builder(data_bytes + 64 * copies + 1024)
    data = b.CreateByteVector(bytes(data_bytes))
    schema.BufferStart(b)
    empty = schema.BufferEnd(b)
    schema.BufferStart(b)
    schema.BufferAddData(b, data)
    full = schema.BufferEnd(b)
    buffers = _offsets(b, schema.ModelStartBuffersVector, [empty] + [full] * copies)
    shape = _ints(b, schema.TensorStartShapeVector, [data_bytes])
    tensors = []
    for i in range(copies):
        schema.TensorStart(b)
        schema.TensorAddShape(b, shape)
        schema.TensorAddType(b, schema.TensorType.INT8)
        schema.TensorAddBuffer(b, i + 1)
        tensors.append(schema.TensorEnd(b))
    return _finish(b, _offsets(b, schema.SubGraphStartTensorsVector, tensors), buffers)


def shared_shape(copies: int, rank: int) -> bytes:
    """A model of `copies` tensor records, all one table with a rank-`rank` shape."""
    b = flatbuffers.Builder(4 * rank + 8 * copies + 1024)
    shape = _ints(b, schema.TensorStartShapeVector, [1] * rank)
    schema.TensorStart(b)
    schema.TensorAddShape(b, shape)
    schema.TensorAddType(b, schema.TensorType.INT8)
    tensor = schema.TensorEnd(b)
    schema.BufferStart(b)
    empty = schema.BufferEnd(b)
    buffers = _offsets(b, schema.ModelStartBuffersVector, [empty])
    return _finish(
        b, _offsets(b, schema.SubGraphStartTensorsVector, [tensor] * copies), buffers
    )


def _finish(b, tensors, buffers) -> bytes:
    schema.SubGraphStart(b)
    schema.SubGraphAddTensors(b, tensors)
    sub = schema.SubGraphEnd(b)
    subgraphs = _offsets(b, schema.ModelStartSubgraphsVector, [sub])
    schema.ModelStart(b)
    schema.ModelAddVersion(b, 3)
    schema.ModelAddSubgraphs(b, subgraphs)
    schema.ModelAddBuffers(b, buffers)
    b.Finish(schema.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _offsets(b, start, items) -> int:
    start(b, len(items))
    for item in reversed(items):
        b.PrependUOffsetTRelative(item)
    return b.EndVector()


def _ints(b, start, values) -> int:
    start(b, len(values))
    for v in reversed(values):
        b.PrependInt32(v)
    return b.EndVector()
