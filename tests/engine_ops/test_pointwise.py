"""Non-conv int8 kernels against TFLM, at zero tolerance.

Three kinds of evidence:
  * tables: every int8 -> int8 pointwise op is lowered to a 256-entry table;
    each table is compared entry by entry with TFLM run on all 256 inputs;
  * check_bit_exact: one-op models (hand-built for chosen quantisation, or from
    the real converter) are compiled to C, run, and compared tensor by tensor;
  * sanitizers: a converter-built model using every kernel file runs under
    ASan + UBSan.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from engine.check.tflm import Tflm
from engine.lower.call import ConstArray, UnsupportedOp
from engine.lower.lowering import lower
from engine.lower.ops.elementwise import broadcast_descriptor
from engine.lower.quant import calculate_input_radius, preprocess_softmax_scaling
from tests.engine_ops.handmade import Spec, assert_bit_exact, one_op_model, options
from tflite_bridge import read

ALL_INT8 = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)


# --- 256-entry tables, checked exhaustively -------------------------------------------------


def table_of(model: bytes) -> np.ndarray:
    graph = read(model)
    call = lower(graph, graph.ops[0])
    assert call.function == "te_lut_s8"
    (table,) = [a for a in call.args if isinstance(a, ConstArray)]
    return np.array(table.values, dtype=np.int8)


def tflm_on_all_int8(model: bytes) -> np.ndarray:
    return Tflm(model).run([ALL_INT8], 1)[0].reshape(-1)


def unary(kind: str, in_q, out_q, opts=None) -> bytes:
    return one_op_model(
        kind,
        [Spec((1, 256), scale=in_q[0], zero_point=in_q[1])],
        [Spec((1, 256), scale=out_q[0], zero_point=out_q[1])],
        opts,
    )


SIGMOID_INPUTS = [
    (0.001, 0),
    (0.01, -128),
    (0.0235, 17),
    (0.1, 0),
    (0.5, 127),
    (2.0, -40),
]
TABLE_CASES = (
    [("LOGISTIC", q, (1 / 256, -128), None) for q in SIGMOID_INPUTS]
    + [("TANH", q, (1 / 128, 0), None) for q in SIGMOID_INPUTS]
    + [
        ("HARD_SWISH", (si, zi), (so, zo), None)
        for si, zi, so, zo in [
            (0.02, -128, 0.015, -110),
            (0.05, 3, 0.03, -20),
            (0.1, 60, 0.5, -1),
            (0.3, -5, 0.01, 0),
            (0.004, 0, 0.003, 5),
            (1.0, 0, 0.9, 0),
        ]
    ]
    + [
        ("LEAKY_RELU", (si, zi), (so, zo), options("LeakyReluOptions", alpha=alpha))
        for si, zi, so, zo, alpha in [
            (0.01, -3, 0.01, 1, 0.2),
            (0.05, 10, 0.04, -7, 0.01),
            (0.1, 0, 0.1, 0, -0.5),
            (0.3, -3, 0.1, 1, -0.5),
            (0.02, 0, 0.05, 5, 2.5),
            (0.1, -128, 0.2, -128, -3.0),
        ]
    ]
    + [
        ("RELU", (si, zi), (so, zo), None)
        for si, zi, so, zo in [
            (0.1, 0, 0.05, -128),
            (0.02, -20, 0.03, 12),
            (0.5, 100, 0.2, -128),
            (0.01, -128, 0.01, -128),
        ]
    ]
    + [
        ("RELU6", (si, zi), (si, zi), None)
        for si, zi in [(6 / 255, -128), (0.1, 0), (0.02, -30), (0.5, 120)]
    ]
    + [
        ("QUANTIZE", (si, zi), (so, zo), None)
        for si, zi, so, zo in [
            (0.02, 5, 0.03, -5),
            (0.1, -128, 0.01, 0),
            (0.05, 0, 0.05, 1),
            (0.007, 90, 0.2, -100),
        ]
    ]
)


@pytest.mark.parametrize(
    "kind,in_q,out_q,opts",
    TABLE_CASES,
    ids=lambda v: str(v) if not hasattr(v, "__dict__") else "",
)
def test_table_equals_tflm_on_every_int8_input(kind, in_q, out_q, opts):
    model = unary(kind, in_q, out_q, opts)
    np.testing.assert_array_equal(table_of(model), tflm_on_all_int8(model))


def test_lut_kernel_runs_the_table():
    assert_bit_exact(unary("LOGISTIC", (0.03, 4), (1 / 256, -128)), inputs=[[ALL_INT8]])
    assert_bit_exact(unary("HARD_SWISH", (0.05, 3), (0.03, -20)), inputs=[[ALL_INT8]])


def test_hard_swish_rejects_what_tflm_rejects():
    with pytest.raises(UnsupportedOp, match="exponent"):
        table_of(unary("HARD_SWISH", (1.0, 0), (0.001, 0)))


# --- SOFTMAX -----------------------------------------------------------------------------------


def softmax_model(shape, scale, zero_point, beta) -> bytes:
    return one_op_model(
        "SOFTMAX",
        [Spec(shape, scale=scale, zero_point=zero_point)],
        [Spec(shape, scale=1 / 256, zero_point=-128)],
        options("SoftmaxOptions", beta=beta),
    )


def softmax_kernel(model: bytes) -> str:
    graph = read(model)
    return lower(graph, graph.ops[0]).function


# Samples whose rows, together, reach every difference x - max in [-255, 0]:
# for the table kernel one (2, 256) sample; for the direct kernel, which the
# lowering picks below 256 elements, three (1, 128) samples.
ALL_DIFFERENCES = {
    "te_softmax_lut_s8": (
        (2, 256),
        [[np.stack([np.arange(-128, 128), np.roll(np.arange(-128, 128), 77)])]],
    ),
    "te_softmax_s8": (
        (1, 128),
        [
            [np.array([[127, *range(-128, -1)]])],
            [np.array([[127, *range(-1, 126)]])],
            [np.array([[127, 126] + [0] * 126])],
        ],
    ),
}


@pytest.mark.parametrize("kernel", sorted(ALL_DIFFERENCES))
@pytest.mark.parametrize(
    "scale,zero_point,beta",
    # Small and large input scales, betas below and above 1; beta 100 caps the
    # multiplier at 2^31 - 1 (PreprocessSoftmaxScaling's clamp).
    [(0.0078, -5, 1.0), (3.0, 0, 1.0), (0.05, 0, 0.3), (0.2, 7, 100.0)],
)
def test_softmax_every_difference(kernel, scale, zero_point, beta):
    shape, samples = ALL_DIFFERENCES[kernel]
    model = softmax_model(shape, scale, zero_point, beta)
    assert softmax_kernel(model) == kernel
    inputs = [[x.astype(np.int8) for x in sample] for sample in samples]
    assert_bit_exact(model, samples=1, inputs=inputs, sanitize=beta == 100.0)


@pytest.mark.parametrize(
    "shape", [(1, 1), (1, 10), (3, 12), (1, 2, 3, 5), (4, 64), (2, 1, 300)]
)
def test_softmax_shapes(shape):
    assert_bit_exact(softmax_model(shape, 0.06, -3, 1.0))


def test_softmax_requires_tflm_output_quantisation():
    model = one_op_model(
        "SOFTMAX",
        [Spec((1, 10), scale=0.1)],
        [Spec((1, 10), scale=1 / 255, zero_point=-128)],
        options("SoftmaxOptions", beta=1.0),
    )
    graph = read(model)
    with pytest.raises(UnsupportedOp, match="1/256"):
        lower(graph, graph.ops[0])


def test_softmax_prepare_constants():
    # beta * scale * 2^26 = 2^26 / 10 -> multiplier 0.8 * 2^31, left shift 23; radius 31 * 2^26 / 2^23 = 248.
    mult, shift = preprocess_softmax_scaling(1.0, 0.1, 5)
    assert (mult, shift) == (1717986918, 23)
    assert calculate_input_radius(5, shift) == 248


# --- LOG_SOFTMAX -------------------------------------------------------------------------------


def log_softmax_model(shape, scale, zero_point) -> bytes:
    return one_op_model(
        "LOG_SOFTMAX",
        [Spec(shape, scale=scale, zero_point=zero_point)],
        [Spec(shape, scale=16 / 256, zero_point=127)],
        options("LogSoftmaxOptions"),
    )


@pytest.mark.parametrize(
    "scale,zero_point",
    # Small scales (long tails below the max), ~1 (the -128 cut-off inside the row), large (one term dominates).
    [(0.0078, -5), (0.05, 0), (0.3, 12), (1.0, 0), (3.0, -100)],
)
def test_log_softmax_every_difference(scale, zero_point):
    """Rows reaching every difference x - max in [-255, 0], plus flat, two-valued and random rows."""
    model = log_softmax_model((1, 128), scale, zero_point)
    assert softmax_kernel(model) == "te_log_softmax_s8"
    rows = [
        np.array([[127, *range(-128, -1)]]),
        np.array([[127, *range(-1, 126)]]),
        np.array([[127, 126] + [0] * 126]),
        np.full((1, 128), -7),
        np.array([[5, -5] * 64]),
    ]
    assert_bit_exact(model, samples=3, inputs=[[r.astype(np.int8)] for r in rows], sanitize=scale == 1.0)


@pytest.mark.parametrize("shape", [(1, 1), (1, 10), (3, 12), (1, 2, 3, 5), (2, 1, 300)])
def test_log_softmax_shapes(shape):
    assert_bit_exact(log_softmax_model(shape, 0.06, -3))


def test_log_softmax_from_the_converter():
    import tensorflow as tf

    from tests.oneop import int8_model

    model = int8_model(lambda x: tf.nn.log_softmax(x), [(3, 10)], key="log_softmax|(3, 10)", calib_range=(-4.0, 4.0))
    assert [op.kind for op in read(model).ops] == ["LOG_SOFTMAX"]
    assert_bit_exact(model, samples=20)


def test_log_softmax_requires_tflm_output_quantisation():
    model = one_op_model("LOG_SOFTMAX", [Spec((1, 10), scale=0.1)], [Spec((1, 10), scale=16 / 256, zero_point=0)],
                         options("LogSoftmaxOptions"))
    graph = read(model)
    with pytest.raises(UnsupportedOp, match="16/256, 127"):
        lower(graph, graph.ops[0])


# --- ADD / SUB / MUL -------------------------------------------------------------------------------

BROADCASTS = [
    ((1, 6, 6, 8), (1, 6, 6, 8)),
    ((1, 6, 6, 8), (8,)),
    ((1, 6, 6, 8), (1, 1, 1, 1)),
    ((1, 4, 1, 8), (1, 1, 5, 1)),
    ((3,), (2, 3)),
    ((2, 3, 1, 4, 1), (1, 3, 6, 1, 2)),
]
OPTIONS = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions"}


# Each (op, broadcast) pair gets one fused activation, NONE/RELU/RELU6 in turn,
# so every op meets every activation and every broadcast without the product.
ELEMENTWISE_CASES = [
    (kind, shapes, (0, 1, 3)[(k + i) % 3])
    for k, kind in enumerate(OPTIONS)
    for i, shapes in enumerate(BROADCASTS)
]


@pytest.mark.parametrize("kind,shapes,activation", ELEMENTWISE_CASES, ids=str)
def test_elementwise(kind, shapes, activation):
    rng = np.random.default_rng(
        zlib.crc32(repr((kind, shapes, activation)).encode())
    )  # stable across runs
    s1, s2, so = rng.uniform(0.005, 0.2, 3)
    if kind == "MUL":
        so = s1 * s2 * rng.uniform(20, 200)
    z1, z2, zo = (int(v) for v in rng.integers(-128, 128, 3))
    out = tuple(np.broadcast_shapes(*shapes))
    model = one_op_model(
        kind,
        [
            Spec(shapes[0], scale=s1, zero_point=z1),
            Spec(shapes[1], scale=s2, zero_point=z2),
        ],
        [Spec(out, scale=so, zero_point=zo)],
        options(OPTIONS[kind], fusedActivationFunction=activation),
    )
    assert_bit_exact(model, samples=2)


# Shapes of 1024+ elements, where ADD/SUB switch to tabulated input scaling.
LARGE_BROADCASTS = [
    ((1, 16, 16, 8), (1, 16, 16, 8)),
    ((1, 16, 16, 8), (8,)),
    ((1, 16, 1, 8), (1, 1, 16, 1)),
    ((2, 3, 1, 4, 1, 8), (1, 3, 6, 1, 2, 8)),
]


@pytest.mark.parametrize("kind", ["ADD", "SUB"])
@pytest.mark.parametrize("index,shapes", list(enumerate(LARGE_BROADCASTS)), ids=str)
def test_add_sub_tabulated(kind, index, shapes):
    rng = np.random.default_rng(zlib.crc32(repr((kind, shapes)).encode()))
    s1, s2, so = rng.uniform(0.005, 0.2, 3)
    z1, z2, zo = (int(v) for v in rng.integers(-128, 128, 3))
    out = tuple(np.broadcast_shapes(*shapes))
    opts = options(OPTIONS[kind], fusedActivationFunction=(0, 1, 3)[index % 3])
    ins = [
        Spec(shapes[0], scale=s1, zero_point=z1),
        Spec(shapes[1], scale=s2, zero_point=z2),
    ]
    model = one_op_model(kind, ins, [Spec(out, scale=so, zero_point=zo)], opts)
    graph = read(model)
    assert lower(graph, graph.ops[0]).function == "te_add_lut_s8"
    assert_bit_exact(model, samples=2, sanitize=index == 1)


@pytest.mark.parametrize("kind", ["MAXIMUM", "MINIMUM", "PRELU"])
@pytest.mark.parametrize(
    "shapes",
    [((1, 4, 4, 8), (1, 1, 8)), ((1, 4, 1, 8), (1, 1, 5, 1))],
    ids=str,
)
def test_max_min_prelu(kind, shapes):
    rng = np.random.default_rng(zlib.crc32(repr((kind, shapes)).encode()))
    s1, s2, so = rng.uniform(0.005, 0.2, 3)
    z1, z2, zo = (int(v) for v in rng.integers(-128, 128, 3))
    alpha = None
    if (
        kind == "PRELU"
    ):  # alpha is a constant in real models; here constant for one broadcast
        alpha = (
            rng.integers(-128, 128, shapes[1]).astype(np.int8)
            if shapes[1] == (1, 1, 8)
            else None
        )
    else:  # the converter gives MAXIMUM/MINIMUM one quantisation throughout
        s2, so, z2, zo = s1, s1, z1, z1
    out = tuple(np.broadcast_shapes(*shapes))
    ins = [
        Spec(shapes[0], scale=s1, zero_point=z1),
        Spec(shapes[1], scale=s2, zero_point=z2, data=alpha),
    ]
    model = one_op_model(kind, ins, [Spec(out, scale=so, zero_point=zo)])
    assert_bit_exact(
        model, samples=2, sanitize=alpha is not None
    )  # one PRELU case under ASan/UBSan


@pytest.mark.parametrize(
    "shapes",
    [((1, 4, 4, 8), (1, 4, 4, 8)), ((1, 4, 4, 8), (8,)), ((1, 4, 1, 8), (1, 1, 5, 1))],
    ids=str,
)
def test_squared_difference(shapes):
    rng = np.random.default_rng(zlib.crc32(repr(shapes).encode()))
    s1, s2 = rng.uniform(0.005, 0.2, 2)
    so = max(s1, s2) ** 2 * rng.uniform(10, 3000)
    z1, z2, zo = (int(v) for v in rng.integers(-128, 128, 3))
    ins = [
        Spec(shapes[0], scale=s1, zero_point=z1),
        Spec(shapes[1], scale=s2, zero_point=z2),
    ]
    out = tuple(np.broadcast_shapes(*shapes))
    model = one_op_model(
        "SQUARED_DIFFERENCE", ins, [Spec(out, scale=so, zero_point=zo)]
    )
    assert_bit_exact(model, samples=2, sanitize=shapes[1] == (8,))


def test_broadcast_descriptor_merges_contiguous_axes():
    assert broadcast_descriptor((1, 4, 4, 8), (1, 4, 4, 8), (1, 4, 4, 8)) == (
        1,
    ) * 5 + (128,) + (0,) * 5 + (1,) + (0,) * 5 + (1,)
    # (8,) against NHWC: one axis of 16 pixels where input 2 stays put, one of 8 channels.
    assert broadcast_descriptor((1, 4, 4, 8), (8,), (1, 4, 4, 8)) == (
        1,
        1,
        1,
        1,
        16,
        8,
        0,
        0,
        0,
        0,
        8,
        1,
        0,
        0,
        0,
        0,
        0,
        1,
    )


# --- QUANTIZE / DEQUANTIZE -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scale,zero_point", [(0.02, 5), (0.1, -128), (1 / 255, -128), (0.7, 100)]
)
def test_quantize_float(scale, zero_point):
    # Exact ties (k + 0.5) * scale, both signs, values far outside the range and
    # signed zeros. (TFLM's float -> int32 cast is undefined beyond 2^31, so stay inside.)
    ties = (np.arange(-200, 200) + 0.5) * np.float32(scale)
    x = np.concatenate(
        [ties, [0.0, -0.0, 1e6 * scale, -1e6 * scale], np.linspace(-3, 3, 60)]
    ).astype(np.float32)
    model = one_op_model(
        "QUANTIZE",
        [Spec((1, x.size), "float32")],
        [Spec((1, x.size), scale=scale, zero_point=zero_point)],
    )
    assert_bit_exact(model, inputs=[[x.reshape(1, -1)]])


@pytest.mark.parametrize("scale,zero_point", [(0.02, 5), (0.1, -128), (3.3e-5, 17)])
def test_dequantize(scale, zero_point):
    model = one_op_model(
        "DEQUANTIZE",
        [Spec((1, 256), scale=scale, zero_point=zero_point)],
        [Spec((1, 256), "float32")],
    )
    assert_bit_exact(model, inputs=[[ALL_INT8]])


@pytest.mark.parametrize(
    "types,quant",
    [
        (("uint8", "int8"), (0.1, 128, 0.1, 0)),  # TFLM's x ^ 0x80 shortcut
        (("uint8", "int8"), (0.02, 3, 0.05, -7)),
        (("int8", "uint8"), (0.1, 0, 0.1, 128)),
        (("int8", "uint8"), (0.03, -10, 0.02, 100)),
    ],
    ids=str,
)
def test_quantize_between_uint8_and_int8(types, quant):
    (t_in, t_out), (si, zi, so, zo) = types, quant
    model = one_op_model(
        "QUANTIZE",
        [Spec((1, 256), t_in, scale=si, zero_point=zi)],
        [Spec((1, 256), t_out, scale=so, zero_point=zo)],
    )
    every_byte = np.arange(256, dtype=np.uint8).reshape(1, 256).view(np.dtype(t_in))
    assert_bit_exact(
        model, samples=0, inputs=[[every_byte]], sanitize=t_in == "uint8" and zi == 3
    )


# --- models from the real converter -----------------------------------------------------------------


def keras_layers():
    import tf_keras as keras

    from tests.oneop import int8_model  # imports TF lazily

    return int8_model, keras.layers


def combo(a, b):
    """Every kernel family in one graph: ADD/SUB/MUL, CONCATENATION (with the
    requantising QUANTIZEs the converter inserts), PAD, RESIZE, the table
    activations and SOFTMAX, between float QUANTIZE/DEQUANTIZE edges."""
    import tensorflow as tf

    _, L = keras_layers()
    c = L.Concatenate()([L.Add()([a, b]), L.Subtract()([a, b]), L.Multiply()([a, b])])
    u = L.UpSampling2D(2)(L.ZeroPadding2D(1)(c))
    hard_swish = L.Lambda(lambda x: x * tf.nn.relu6(x + 3.0) / 6.0)(u)
    acts = [
        L.Activation("sigmoid")(u),
        L.Activation("tanh")(u),
        L.LeakyReLU(0.2)(u),
        hard_swish,
        L.ReLU()(u),
        L.ReLU(6.0)(u),
    ]
    return L.Softmax()(L.Concatenate()(acts))


def test_converter_model_with_every_kernel_under_sanitizers():
    int8_model, _ = keras_layers()
    model = int8_model(
        combo, [(4, 4, 3), (4, 4, 3)], key="engine_ops.combo.v1", int8_io=False
    )
    kinds = {op.kind for op in read(model).ops}
    assert {
        "QUANTIZE",
        "DEQUANTIZE",
        "ADD",
        "SUB",
        "MUL",
        "CONCATENATION",
        "PAD",
        "RESIZE_NEAREST_NEIGHBOR",
        "LOGISTIC",
        "TANH",
        "HARD_SWISH",
        "LEAKY_RELU",
        "RELU",
        "RELU6",
        "SOFTMAX",
    } <= kinds
    assert_bit_exact(model, samples=3, sanitize=True)


def residual(x):
    _, L = keras_layers()
    y = L.Conv2D(16, 3, padding="same")(x)
    return L.ReLU()(L.Add()([x, y]))


def squeeze_excite(x):
    _, L = keras_layers()
    s = L.Activation("sigmoid")(L.Dense(16)(L.GlobalAveragePooling2D(keepdims=True)(x)))
    return L.Multiply()([x, s])


def classifier(x):
    _, L = keras_layers()
    return L.Softmax()(L.Dense(12)(L.Flatten()(x)))


@pytest.mark.parametrize(
    "name,build,shape",
    [
        ("residual_add_relu", residual, (8, 8, 16)),
        ("se_broadcast_mul", squeeze_excite, (6, 6, 16)),
        ("dense_softmax", classifier, (4, 4, 2)),
    ],
)
def test_converter_models(name, build, shape):
    int8_model, _ = keras_layers()
    model = int8_model(
        build, [shape], key=f"engine_ops.{name}.v1", calib_range=(-2.0, 2.0)
    )
    assert_bit_exact(model, samples=4)
