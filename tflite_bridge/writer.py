"""IR -> TFLite flatbuffer (`write`), the inverse of `reader.read`.

Builds the schema's object API (`ModelT` and friends) and packs it with a
`flatbuffers.Builder`: file identifier "TFL3", schema version 3, one subgraph.
Buffer 0 stays empty (TFLite's convention for "no data"); every constant
tensor gets its own buffer, its data aligned to 16 bytes in the file because
TFLM and TinyEngine-style kernels cast weight and bias pointers to wider types.
Metadata entries become buffers plus `MetadataT` records.
"""

from __future__ import annotations

import dataclasses
import enum
import struct

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

from tflite_bridge import attrs as A
from tflite_bridge.ir import ABSENT, BridgeError, Graph, Op, Tensor
from tflite_bridge.reader import FILE_IDENTIFIER, _camel

SCHEMA_VERSION = 3
BUFFER_ALIGNMENT = 16  # TFLite's own kBufferAlignment; enough for any C type
# Builtin codes >= this go only in `builtin_code`; the byte-wide deprecated
# field then holds PLACEHOLDER_FOR_GREATER_OP_CODES (schema v3a).
PLACEHOLDER_FOR_GREATER_OP_CODES = (
    schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES
)

# TFLM's metadata entry for an offline memory plan (micro_allocation_info.cc):
# int32 words [version, subgraph, num_offsets, offset per tensor...], where an
# offset is bytes from the start of the arena's non-persistent area and -1
# leaves the tensor to TFLM's online planner.
OFFLINE_PLAN_METADATA = "OfflineMemoryAllocation"
OFFLINE_PLAN_VERSION = 0
ONLINE_PLANNED = -1

_BUILTIN_CODES = {
    k: v for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")
}
_OPTIONS_CODES = {
    k: v for k, v in vars(schema.BuiltinOptions).items() if not k.startswith("_")
}
# Errors the schema's Pack methods raise on values that do not fit a field.
_PACK_ERRORS = (struct.error, TypeError, ValueError, OverflowError, AttributeError)


def write(graph: Graph) -> bytes:
    """Serialise `graph` as a `.tflite` flatbuffer that `read` turns back into it.

    Raises:
        BridgeError: the graph holds something the schema cannot express (an op
            kind with no builtin code, an attribute that does not fit its field).
    """
    model = _model(graph)
    size_hint = sum(len(t.buffer or b"") for t in graph.tensors) + 4096
    builder = flatbuffers.Builder(size_hint)
    try:
        root = model.Pack(builder)
        builder.Finish(root, file_identifier=FILE_IDENTIFIER)
    except _PACK_ERRORS as e:
        raise BridgeError(
            f"cannot serialise graph {graph.name!r}: {type(e).__name__}: {e}"
        ) from None
    return bytes(builder.Output())


def with_offline_plan(graph: Graph, offsets: list[int]) -> Graph:
    """`graph` with an `OfflineMemoryAllocation` metadata entry for subgraph 0.

    Args:
        graph: the graph; an existing offline plan entry is replaced.
        offsets: one arena offset per tensor of the graph (constants included,
            which TFLM ignores), or -1 to let TFLM plan that tensor online.

    Raises:
        BridgeError: wrong number of offsets, or an offset below -1 or past int32.
    """
    if len(offsets) != len(graph.tensors):
        raise BridgeError(
            f"offline plan has {len(offsets)} offsets, graph has {len(graph.tensors)} tensors"
        )
    for i, off in enumerate(offsets):
        if not ONLINE_PLANNED <= off < 2**31:
            raise BridgeError(
                f"offline plan offset {off} for tensor {i} is not -1 or a valid int32 offset"
            )
    words = [OFFLINE_PLAN_VERSION, 0, len(offsets), *offsets]
    entry = (OFFLINE_PLAN_METADATA, np.asarray(words, dtype="<i4").tobytes())
    rest = tuple(m for m in graph.metadata if m[0] != OFFLINE_PLAN_METADATA)
    return dataclasses.replace(graph, metadata=rest + (entry,))


def offline_plan(graph: Graph) -> tuple[int, ...] | None:
    """The per-tensor offsets of the graph's offline plan entry, or None.

    Raises:
        BridgeError: the entry is malformed or plans another subgraph.
    """
    raw = graph.metadata_entry(OFFLINE_PLAN_METADATA)
    if raw is None:
        return None
    if len(raw) % 4 or len(raw) < 12:
        raise BridgeError(
            f"{OFFLINE_PLAN_METADATA} entry has {len(raw)} bytes, not 12 + 4n"
        )
    version, subgraph, count, *offsets = np.frombuffer(raw, dtype="<i4").tolist()
    if version != OFFLINE_PLAN_VERSION or subgraph != 0 or count != len(offsets):
        raise BridgeError(
            f"{OFFLINE_PLAN_METADATA} entry: version {version}, subgraph {subgraph}, "
            f"{count} offsets declared, {len(offsets)} present"
        )
    return tuple(offsets)


class _AlignedBufferT(schema.BufferT):
    """A `BufferT` whose data vector starts on a BUFFER_ALIGNMENT boundary.

    flatbuffers aligns a vector relative to the end of the buffer and pads the
    finished buffer to its largest alignment, so aligning here aligns the data
    in the final file too.
    """

    def Pack(self, builder):
        data = None
        if self.data is not None:
            payload = bytes(self.data)
            builder.StartVector(1, len(payload), BUFFER_ALIGNMENT)
            # Copy in one slice, as Builder.CreateByteVector does; a byte-wise
            # Prepend loop would take seconds on a megabyte of weights.
            builder.head = builder.head - len(payload)
            builder.Bytes[builder.head : builder.head + len(payload)] = payload
            data = builder.EndVector()
        schema.BufferStart(builder)
        if data is not None:
            schema.BufferAddData(builder, data)
        return schema.BufferEnd(builder)


def _model(graph: Graph) -> schema.ModelT:
    buffers = [_AlignedBufferT()]  # buffer 0: the empty sentinel

    def add_buffer(data: bytes) -> int:
        b = _AlignedBufferT()
        b.data = data
        buffers.append(b)
        return len(buffers) - 1

    codes: dict[tuple[str, int, str], int] = {}
    sub = schema.SubGraphT()
    sub.tensors = [_tensor(t, add_buffer) for t in graph.tensors]
    sub.operators = [_operator(graph, i, op, codes) for i, op in enumerate(graph.ops)]
    sub.inputs = list(graph.inputs)
    sub.outputs = list(graph.outputs)
    sub.name = graph.name
    model = schema.ModelT()
    model.version = SCHEMA_VERSION
    model.operatorCodes = [
        _operator_code(*key) for key in codes
    ]  # dicts keep insertion order
    model.subgraphs = [sub]
    model.description = graph.description
    model.metadata = [
        _metadata(name, add_buffer(value)) for name, value in graph.metadata
    ]
    model.buffers = buffers
    return model


def _metadata(name: str, buffer: int) -> schema.MetadataT:
    m = schema.MetadataT()
    m.name = name
    m.buffer = buffer
    return m


def _tensor(t: Tensor, add_buffer) -> schema.TensorT:
    out = schema.TensorT()
    out.name = t.name
    out.shape = list(t.shape)
    out.type = t.dtype.value
    out.buffer = add_buffer(t.buffer) if t.buffer else 0
    out.isVariable = t.is_variable
    out.hasRank = True  # every IR shape is ranked (rank 0 included)
    if t.shape_signature is not None:
        out.shapeSignature = list(t.shape_signature)
    if t.quant is not None:
        q = schema.QuantizationParametersT()
        q.scale = np.asarray(t.quant.scale, dtype=np.float32)
        q.zeroPoint = np.asarray(t.quant.zero_point, dtype=np.int64)
        q.quantizedDimension = t.quant.axis if t.quant.axis is not None else 0
        out.quantization = q
    return out


def _operator_code(kind: str, version: int, custom_code: str) -> schema.OperatorCodeT:
    code = _BUILTIN_CODES[kind]
    c = schema.OperatorCodeT()
    c.builtinCode = code
    c.deprecatedBuiltinCode = min(code, PLACEHOLDER_FOR_GREATER_OP_CODES)
    c.version = version
    if kind == "CUSTOM":
        c.customCode = custom_code
    return c


def _operator(graph: Graph, i: int, op: Op, codes: dict) -> schema.OperatorT:
    if op.kind not in _BUILTIN_CODES:
        raise BridgeError(
            f"op {i} ({op.kind} v{op.version}): no TFLite builtin has this name"
        )
    n = len(graph.tensors)
    for t in op.inputs + op.outputs:
        if t != ABSENT and not 0 <= t < n:
            raise BridgeError(f"op {i} ({op.kind}) names tensor {t}, graph has {n}")
    custom_code = op.attrs.custom_code if isinstance(op.attrs, A.OpaqueAttrs) else ""
    key = (op.kind, op.version, custom_code)
    o = schema.OperatorT()
    o.opcodeIndex = codes.setdefault(key, len(codes))
    o.inputs = list(op.inputs)
    o.outputs = list(op.outputs)
    fail = lambda m: BridgeError(f"op {i} ({op.kind} v{op.version}): {m}")
    o.builtinOptionsType, o.builtinOptions = _options(op, fail)
    if isinstance(op.attrs, A.OpaqueAttrs) and op.attrs.custom_options:
        o.customOptions = np.frombuffer(op.attrs.custom_options, dtype=np.uint8)
    return o


def _options(op: Op, fail) -> tuple[int, object]:
    """(BuiltinOptions type code, options object) for the op's attrs."""
    if isinstance(op.attrs, A.OpaqueAttrs):
        return _opaque_options(op.attrs, fail)
    spec = A.SPECS.get(op.kind)
    if spec is None or not isinstance(op.attrs, spec[0]):
        expected = spec[0].__name__ if spec else "OpaqueAttrs"
        raise fail(f"attrs are {type(op.attrs).__name__}, expected {expected}")
    options_name = spec[1]
    if options_name is None:
        return 0, None
    obj = getattr(schema, options_name + "T")()
    for field in dataclasses.fields(op.attrs):
        _set_field(obj, _camel(field.name), _raw(getattr(op.attrs, field.name)), fail)
    return _OPTIONS_CODES[options_name], obj


def _opaque_options(attrs: A.OpaqueAttrs, fail) -> tuple[int, object]:
    if attrs.options_type in ("", "NONE"):
        if attrs.options:
            raise fail("opaque attrs carry option fields but no options type")
        return 0, None
    options_t = getattr(schema, attrs.options_type + "T", None)
    if attrs.options_type not in _OPTIONS_CODES or options_t is None:
        raise fail(f"unknown builtin options type {attrs.options_type!r}")
    obj = options_t()
    for name, value in attrs.options:
        _set_field(obj, name, _raw(value), fail)
    return _OPTIONS_CODES[attrs.options_type], obj


def _set_field(obj, name: str, value, fail) -> None:
    # Options objects are plain classes: setattr would silently add a typo'd field.
    if not hasattr(obj, name):
        raise fail(f"{type(obj).__name__[:-1]} has no field {name!r}")
    setattr(obj, name, value)


def _raw(value):
    """An attrs value as the schema object API wants it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_raw(v) for v in value]
    return value
