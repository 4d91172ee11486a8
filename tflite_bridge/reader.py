"""TFLite flatbuffer -> IR (`read`).

Reads subgraph 0 through the schema's accessor API, touching only what the IR
keeps. Work and memory stay linear in the file's size even on hostile input:
flatbuffer tables and vectors may be shared by many references, so the reader
charges every decoded element against a budget of a few times the file size
(an honest file decodes to less than it holds) and fails past it.
Every failure becomes a `BridgeError` naming the part of the file it was in.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import struct
import typing
from typing import Union

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from tflite_bridge import attrs as A
from tflite_bridge import conventions
from tflite_bridge.ir import ABSENT, BridgeError, DType, Graph, Op, Tensor

FILE_IDENTIFIER = b"TFL3"
MAX_FILE_BYTES = 1 << 31  # flatbuffers' own limit
# Decoded bytes allowed per file byte (plus a constant for tiny files); honest
# files stay under 1 even counting the fixed per-tensor and per-op charges.
DECODE_BUDGET_FACTOR = 2
DECODE_BUDGET_SLACK = 4096
RECORD_CHARGE = 16  # bytes charged per tensor, op or metadata record read

# The exceptions a malformed flatbuffer raises inside the generated accessors.
_DECODE_ERRORS = (
    IndexError,
    struct.error,
    ValueError,
    TypeError,
    UnicodeDecodeError,
    OverflowError,
    AttributeError,
    KeyError,
)

BUILTIN_NAMES = {
    v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")
}
_OPTIONS_CODES = {
    k: v for k, v in vars(schema.BuiltinOptions).items() if not k.startswith("_")
}
_OPTIONS_NAMES = {v: k for k, v in _OPTIONS_CODES.items()}


def read(source: Union[str, os.PathLike, bytes, bytearray]) -> Graph:
    """Read a `.tflite` file (path or bytes) into a `Graph`.

    Raises:
        BridgeError: the file is missing, not a TFLite model, malformed, or uses
            something the IR cannot express (control flow, sparse tensors).
    """
    where = "<bytes>"
    if isinstance(source, (str, os.PathLike)):
        where = os.fspath(source)
        try:
            with open(where, "rb") as f:
                buf = f.read(MAX_FILE_BYTES + 1)
        except OSError as e:
            raise BridgeError(f"{where}: cannot read: {e.strerror or e}") from None
    elif isinstance(source, (bytes, bytearray)):
        buf = bytes(source)
    else:
        raise BridgeError(f"read() takes a path or bytes, got {type(source).__name__}")
    if len(buf) > MAX_FILE_BYTES:
        raise BridgeError(f"{where}: larger than the 2 GiB flatbuffer limit")
    if len(buf) < 8:
        raise BridgeError(f"{where}: {len(buf)} bytes is too short for a TFLite model")
    if buf[4:8] != FILE_IDENTIFIER:
        raise BridgeError(
            f"{where}: not a TFLite model (file identifier {buf[4:8]!r}, expected {FILE_IDENTIFIER!r})"
        )
    reader = _Reader(buf, where)
    try:
        return reader.graph()
    except BridgeError:
        raise
    except RecursionError:
        raise BridgeError(f"{where}: malformed flatbuffer while reading {reader.context}") from None
    except _DECODE_ERRORS as e:
        raise BridgeError(
            f"{where}: malformed flatbuffer while reading {reader.context} "
            f"({type(e).__name__}: {e})"
        ) from None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _hashable(value):
    if isinstance(value, np.ndarray):
        return tuple(value.tolist())
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if hasattr(value, "__dict__"):
        return tuple((k, _hashable(v)) for k, v in sorted(vars(value).items()))
    return value


class _Reader:
    """One pass over one file; `context` says where a failure happened."""

    def __init__(self, buf: bytes, where: str):
        self.buf = buf
        self.where = where
        self.context = "the model header"
        self.buffers: dict[int, bytes] = {}
        self.budget = DECODE_BUDGET_FACTOR * len(buf) + DECODE_BUDGET_SLACK
        self.spent = 0

    def charge(self, nbytes: int) -> None:
        """Count `nbytes` decoded; fail once the file decodes to more than it could hold."""
        self.spent += nbytes
        if self.spent > self.budget:
            raise self.fail(
                f"{self.context} decodes past {self.budget} bytes from a {len(self.buf)}-byte "
                "file; its tables or vectors must overlap"
            )

    def ints(self, as_numpy, length) -> tuple[int, ...]:
        """A scalar vector as a tuple of Python ints, charged before it is decoded."""
        n = length()
        self.charge(4 * n)
        return tuple(int(x) for x in as_numpy()) if n else ()

    def string(self, raw) -> str:
        self.charge(len(raw or b""))
        return (raw or b"").decode("utf-8")

    def fail(self, message: str) -> BridgeError:
        return BridgeError(f"{self.where}: {message}")

    def graph(self) -> Graph:
        model = schema.Model.GetRootAsModel(self.buf, 0)
        self.model = model
        if model.SubgraphsLength() < 1:
            raise self.fail("model has no subgraph")
        self.context = "subgraph 0"
        sub = model.Subgraphs(0)
        tensors = tuple(self.tensor(sub, i) for i in range(sub.TensorsLength()))
        ops = tuple(self.op(sub, i, len(tensors)) for i in range(sub.OperatorsLength()))
        self.context = "subgraph 0 inputs/outputs"
        inputs = self.ints(sub.InputsAsNumpy, sub.InputsLength)
        outputs = self.ints(sub.OutputsAsNumpy, sub.OutputsLength)
        for kind, ids in (("input", inputs), ("output", outputs)):
            for t in ids:
                if not 0 <= t < len(tensors):
                    raise self.fail(f"graph {kind} names tensor {t}, subgraph has {len(tensors)}")
        self.context = "metadata"
        metadata = tuple(self.metadata(i) for i in range(model.MetadataLength()))
        return Graph(
            tensors=tensors,
            ops=ops,
            inputs=inputs,
            outputs=outputs,
            metadata=metadata,
            name=self.string(sub.Name()),
            description=self.string(model.Description()),
        )

    def buffer_bytes(self, index: int) -> bytes:
        if index in self.buffers:
            return self.buffers[index]
        n = self.model.BuffersLength()
        if not 0 <= index < n:
            raise self.fail(f"{self.context} names buffer {index}, model has {n}")
        b = self.model.Buffers(index)
        offset = b.Offset()
        if offset > 1:  # data stored after the flatbuffer (models over 2 GiB)
            size = b.Size()
            if offset + size > len(self.buf):
                raise self.fail(f"buffer {index} lies outside the file (offset {offset}, size {size})")
            self.charge(size)
            data = self.buf[offset : offset + size]
        else:
            self.charge(b.DataLength())
            data = b.DataAsNumpy().tobytes() if b.DataLength() else b""
        self.buffers[index] = data
        return data

    def tensor(self, sub, i: int) -> Tensor:
        self.context = f"tensor {i}"
        self.charge(RECORD_CHARGE)
        t = sub.Tensors(i)
        name = self.string(t.Name())
        self.context = f"tensor {i} ({name!r})"
        try:
            dtype = DType(t.Type())
        except ValueError:
            raise self.fail(f"tensor {i} ({name!r}) has unknown type code {t.Type()}") from None
        shape = self.ints(t.ShapeAsNumpy, t.ShapeLength)
        if any(d < 0 for d in shape):
            raise self.fail(f"tensor {i} ({name!r}) has negative dimension in shape {_brief(shape)}")
        sig = None
        if t.ShapeSignatureLength():
            sig = self.ints(t.ShapeSignatureAsNumpy, t.ShapeSignatureLength)
        if t.Sparsity() is not None:
            raise self.fail(f"tensor {i} ({name!r}) is sparse; sparse tensors are not supported")
        data = self.buffer_bytes(t.Buffer()) if t.Buffer() else b""
        buffer = None
        if data:
            nbytes = _bounded_size(shape, _itemsize(dtype, name, i, self), len(data))
            if len(data) != nbytes:
                needs = f"{nbytes}" if nbytes <= len(data) else f"more than {len(data)}"
                raise self.fail(
                    f"tensor {i} ({name!r}) has {len(data)} data bytes, shape {_brief(shape)} "
                    f"{dtype.name} needs {needs}"
                )
            buffer = data
        return Tensor(
            id=i,
            name=name,
            shape=shape,
            dtype=dtype,
            quant=self.quant(t.Quantization(), i, name, len(shape)),
            buffer=buffer,
            is_variable=bool(t.IsVariable()),
            shape_signature=sig,
        )

    def quant(self, q, i: int, name: str, rank: int):
        if q is None:
            return None
        self.charge(4 * q.ScaleLength() + 8 * q.ZeroPointLength())
        scale = tuple(float(s) for s in q.ScaleAsNumpy()) if q.ScaleLength() else ()
        zp = tuple(int(z) for z in q.ZeroPointAsNumpy()) if q.ZeroPointLength() else ()
        try:
            return conventions.quantization(scale, zp, int(q.QuantizedDimension()), rank)
        except ValueError as e:
            raise self.fail(f"tensor {i} ({name!r}) is {e}") from None

    def op(self, sub, i: int, num_tensors: int) -> Op:
        self.context = f"op {i}"
        self.charge(RECORD_CHARGE)
        o = sub.Operators(i)
        idx = o.OpcodeIndex()
        n_codes = self.model.OperatorCodesLength()
        if not 0 <= idx < n_codes:
            raise self.fail(f"op {i} has opcode index {idx}, model has {n_codes} operator codes")
        code = self.model.OperatorCodes(idx)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        kind = BUILTIN_NAMES.get(builtin)
        if kind is None:
            raise self.fail(f"op {i} has unknown builtin code {builtin}")
        version = code.Version()
        self.context = f"op {i} ({kind} v{version})"
        if kind in A.CONTROL_FLOW:
            raise self.fail(
                f"op {i} ({kind} v{version}) is control flow; only single-subgraph models are supported"
            )
        inputs = self.ints(o.InputsAsNumpy, o.InputsLength)
        outputs = self.ints(o.OutputsAsNumpy, o.OutputsLength)
        for t in inputs + outputs:
            if t != ABSENT and not 0 <= t < num_tensors:
                raise self.fail(f"op {i} ({kind}) names tensor {t}, subgraph has {num_tensors}")
        if ABSENT in outputs:
            raise self.fail(f"op {i} ({kind}) has an absent (-1) output")
        attrs = self.attrs(o, kind, code, i)
        return Op(kind=kind, version=version, inputs=inputs, outputs=outputs, attrs=attrs)

    def attrs(self, o, kind: str, code, i: int) -> A.Attrs:
        spec = A.SPECS.get(kind)
        type_code = o.BuiltinOptionsType()
        table = o.BuiltinOptions()
        if spec is None:
            return self.opaque(o, kind, code, type_code, table)
        cls, options_name = spec
        if options_name is None:
            return cls()
        expected = _OPTIONS_CODES[options_name]
        options_t = getattr(schema, options_name + "T")
        if type_code == 0 or table is None:
            obj = options_t()
        elif type_code != expected:
            got = _OPTIONS_NAMES.get(type_code, type_code)
            raise self.fail(f"op {i} ({kind}) carries {got} options, expected {options_name}")
        else:
            obj = self.options(options_t, table)
        return _attrs_from_options(cls, obj, lambda m: self.fail(f"op {i} ({kind}): {m}"))

    def opaque(self, o, kind, code, type_code, table) -> A.OpaqueAttrs:
        # No options table is "" (OpaqueAttrs' default), not the schema's "NONE".
        options_type = _OPTIONS_NAMES.get(type_code, "") if type_code else ""
        options: tuple = ()
        if type_code and table is not None and options_type:
            options_t = getattr(schema, options_type + "T", None)
            if options_t is not None:
                obj = self.options(options_t, table)
                options = tuple((k, _hashable(v)) for k, v in sorted(vars(obj).items()))
        custom = b""
        if o.CustomOptionsLength():
            self.charge(o.CustomOptionsLength())
            custom = o.CustomOptionsAsNumpy().tobytes()
        return A.OpaqueAttrs(
            options_type=options_type,
            options=options,
            custom_code=self.string(code.CustomCode()) if kind == "CUSTOM" else "",
            custom_options=custom,
        )

    def options(self, options_t, table):
        """An options table as its object-API class, its vectors charged after decoding.

        Object-API decoding allocates before we can count, but one table holds
        at most the file, so the budget still stops a run of shared tables.
        """
        obj = options_t.InitFromBuf(table.Bytes, table.Pos)
        self.charge(RECORD_CHARGE + sum(4 * len(v) for v in vars(obj).values() if _is_vector(v)))
        return obj

    def metadata(self, i: int) -> tuple[str, bytes]:
        self.charge(RECORD_CHARGE)
        m = self.model.Metadata(i)
        name = self.string(m.Name())
        self.context = f"metadata {i} ({name!r})"
        return name, self.buffer_bytes(m.Buffer())


def _itemsize(dtype: DType, name: str, i: int, reader: _Reader) -> int:
    try:
        return dtype.itemsize
    except BridgeError:
        raise reader.fail(f"tensor {i} ({name!r}) holds constant {dtype.name} data, unsupported") from None


def _bounded_size(shape: tuple[int, ...], itemsize: int, limit: int) -> int:
    """shape's byte size, or the first partial product past `limit`.

    Stopping early keeps a hostile shape of a million large dimensions from
    turning into a million-digit multiplication.
    """
    if 0 in shape:
        return 0
    size = itemsize
    for d in shape:
        size *= d
        if size > limit:
            return size
    return size


def _brief(shape: tuple[int, ...]) -> str:
    """A shape for an error message, cut short if a hostile file made it huge."""
    if len(shape) <= 8:
        return str(list(shape))
    return f"[{', '.join(map(str, shape[:8]))}, ... ({len(shape)} dims)]"


def _is_vector(value) -> bool:
    return isinstance(value, (list, np.ndarray, bytes, str))


_HINTS: dict[type, dict[str, object]] = {}


def _attrs_from_options(cls, obj, fail) -> A.Attrs:
    """Build attrs dataclass `cls` from a schema options object (generic over fields)."""
    hints = _HINTS.get(cls) or _HINTS.setdefault(cls, typing.get_type_hints(cls))
    values = {}
    for field in dataclasses.fields(cls):
        raw = getattr(obj, _camel(field.name))
        hint = hints[field.name]
        values[field.name] = _convert(raw, hint, field.name, fail)
    return cls(**values)


def _convert(raw, hint, field: str, fail):
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(raw)
        except ValueError:
            raise fail(f"{field} = {raw} is not a valid {hint.__name__}") from None
    if hint is bool:
        return bool(raw)
    if hint is int:
        return int(raw)
    if hint is float:
        return float(raw)
    # tuple[int, ...] or Optional[tuple[int, ...]]
    if raw is None:
        return None if type(None) in typing.get_args(hint) else ()
    return tuple(int(x) for x in raw)
