"""Hand-built one-op .tflite models, for quantisation parameters the converter
would not choose by itself (any scale, zero point, beta or alpha).

The real converter (tests/oneop.py) stays the main source of test models; these
only reach the corners: e.g. an int8 -> int8 QUANTIZE, a softmax with beta 0.3,
a logistic with an input scale of 0.5.
"""

from __future__ import annotations

import dataclasses

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

_TYPES = {
    "int8": schema.TensorType.INT8,
    "uint8": schema.TensorType.UINT8,
    "float32": schema.TensorType.FLOAT32,
    "int32": schema.TensorType.INT32,
}


@dataclasses.dataclass(frozen=True)
class Spec:
    """One tensor: shape, type, per-tensor quantisation, constant data or None."""

    shape: tuple[int, ...]
    dtype: str = "int8"
    scale: float | None = None
    zero_point: int = 0
    data: np.ndarray | None = None


def _tensor(i: int, spec: Spec, buffer: int) -> schema.TensorT:
    t = schema.TensorT()
    t.shape = list(spec.shape)
    t.type = _TYPES[spec.dtype]
    t.buffer = buffer
    t.name = f"t{i}"
    if spec.scale is not None:
        q = schema.QuantizationParametersT()
        q.scale = [float(np.float32(spec.scale))]
        q.zeroPoint = [int(spec.zero_point)]
        t.quantization = q
    return t


def one_op_model(
    kind: str, ins: list[Spec], outs: list[Spec], options=None, version: int = 1
) -> bytes:
    """A model of one builtin op `kind` with graph inputs = the non-constant `ins`.

    `options` is a schema *OptionsT object (its type is looked up by class name).
    """
    buffers = [schema.BufferT()]
    tensors = []
    for i, spec in enumerate(list(ins) + list(outs)):
        buffer = 0
        if spec.data is not None:
            b = schema.BufferT()
            b.data = list(np.ascontiguousarray(spec.data).tobytes())
            buffers.append(b)
            buffer = len(buffers) - 1
        tensors.append(_tensor(i, spec, buffer))
    code = schema.OperatorCodeT()
    code.builtinCode = getattr(schema.BuiltinOperator, kind)
    code.deprecatedBuiltinCode = min(code.builtinCode, 127)
    code.version = version
    op = schema.OperatorT()
    op.opcodeIndex = 0
    op.inputs = list(range(len(ins)))
    op.outputs = [len(ins) + k for k in range(len(outs))]
    if options is not None:
        op.builtinOptionsType = getattr(
            schema.BuiltinOptions, type(options).__name__[:-1]
        )
        op.builtinOptions = options
    sub = schema.SubGraphT()
    sub.tensors = tensors
    sub.operators = [op]
    sub.inputs = [i for i, s in enumerate(ins) if s.data is None]
    sub.outputs = op.outputs
    sub.name = "main"
    model = schema.ModelT()
    model.version = 3
    model.operatorCodes = [code]
    model.subgraphs = [sub]
    model.buffers = buffers
    model.description = f"handmade {kind}"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def options(name: str, **fields):
    """A schema options object, e.g. options("SoftmaxOptions", beta=0.5)."""
    opts = getattr(schema, f"{name}T")()
    for key, value in fields.items():
        setattr(opts, key, value)
    return opts


def assert_bit_exact(
    model: bytes, samples: int = 3, inputs=(), sanitize: bool = False
) -> None:
    """engine.check.bitexact on `model`: every tensor equal to TFLM's, byte for byte."""
    from engine.check.bitexact import check_bit_exact, first_lines

    report = check_bit_exact(model, samples=samples, inputs=inputs, sanitize=sanitize)
    assert report.bit_exact, first_lines(report)
    assert report.tensors_compared > 0
