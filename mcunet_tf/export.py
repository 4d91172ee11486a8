"""From a chosen subnet to a verified int8 .tflite and its C folder, within an SRAM / Flash budget.

    subnet (Keras model or SubnetConfig) --QAT or PTQ (qat.py)--> int8 .tflite
        --tflite_bridge.read + engine compile_graph--> SRAM / Flash, checked against the budget
        --engine verify (bit-exact vs TFLM)--> C folder (engine.codegen)

SRAM is the engine's planned arena (`Program.arena_bytes`); Flash is defined as the estimator
defines it (`mcunet_tf.estimator.Cost.flash_bytes`: the generated C's const arrays plus the
Cortex-M4 code of the kernels called), measured here on the real conversion with
`estimator.program_cost`. When the subnet's `SubnetConfig` is known, the estimator's prediction
for it must equal the real figures: a difference means the estimator (what the search optimised)
and the converted model disagree, and the export stops rather than ship a model the search never
costed.

Example (`mcunet_tf.export` is both this module and, called, `export()`):
    import mcunet_tf.export
    result = mcunet_tf.export(model, ((x_train, y_train), (x_val, y_val)), "out/",
                    budget=Budget(sram_bytes=64 * 1024, flash_bytes=256 * 1024), method="qat", epochs=2)
    result.tflite_path, result.c_dir, result.int8_accuracy
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import sys
import types
from typing import Protocol

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

from engine import codegen  # noqa: E402
from engine.check.bitexact import BitExactReport, check_bit_exact, first_lines  # noqa: E402
from engine.compile import CompileOptions, Program, compile_graph  # noqa: E402
from mcunet_tf import qat  # noqa: E402
from mcunet_tf.config import SubnetConfig  # noqa: E402
from mcunet_tf.estimator import Cost, estimate, program_cost  # noqa: E402
from mcunet_tf.supernet import Supernet, build_subnet, extract, recalibrate_bn  # noqa: E402
from tflite_bridge import read  # noqa: E402
from tflite_bridge.ir import ABSENT, Graph, Quant, Tensor  # noqa: E402

METHODS = ("qat", "ptq")
Split = tuple[np.ndarray, np.ndarray]  # (float32 images NHWC, int labels)


class ExportError(Exception):
    """An export that must not ship; the message quotes the figures."""


class BudgetError(ExportError):
    """The int8 model needs more SRAM or Flash than the budget allows."""


class EstimateMismatch(ExportError):
    """The converted model's engine figures differ from the estimator's prediction for its config."""


class BudgetLike(Protocol):
    """What `export` reads from a budget (e.g. `mcunet_tf.search.Budget`)."""

    sram_bytes: int
    flash_bytes: int


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What `export` produced and measured.

    Attributes:
        tflite_path: the int8 .tflite.
        c_dir: the generated C folder (model .c/.h, kernels, Makefile).
        sram_bytes: the engine's arena for this model.
        flash_bytes: const arrays + kernel code (estimator definition).
        float_accuracy: the float Keras model's top-1 on the validation split (before quantisation).
        int8_accuracy: the int8 .tflite's top-1 on the validation split (TFLM runtime).
        bit_exact: the generated C matched TFLM on every tensor of the verified samples.
        method: "qat" or "ptq".
        cost: every engine figure of the converted model.
        predicted: the estimator's prediction for the config (None when no config was given).
    """

    tflite_path: pathlib.Path
    c_dir: pathlib.Path
    sram_bytes: int
    flash_bytes: int
    float_accuracy: float
    int8_accuracy: float
    bit_exact: bool
    method: str
    cost: Cost
    predicted: Cost | None = None

    def as_dict(self) -> dict:
        return dict(tflite_path=str(self.tflite_path), c_dir=str(self.c_dir), sram_bytes=self.sram_bytes,
                    flash_bytes=self.flash_bytes, float_accuracy=self.float_accuracy,
                    int8_accuracy=self.int8_accuracy, bit_exact=self.bit_exact, method=self.method,
                    cost=self.cost.as_dict(), predicted=None if self.predicted is None else self.predicted.as_dict())


def check_budget(cost: Cost, budget: BudgetLike | None, what: str = "model") -> None:
    """Raises BudgetError quoting both figures when `cost` exceeds `budget` (None: no limit)."""
    if budget is None:
        return
    over = [f"{name} {used:,} B > budget {limit:,} B (over by {used - limit:,} B)"
            for name, used, limit in (("SRAM", cost.sram_bytes, budget.sram_bytes),
                                      ("Flash", cost.flash_bytes, budget.flash_bytes))
            if used > limit]
    if over:
        raise BudgetError(f"{what}: over budget: " + "; ".join(over)
                          + f" (weights {cost.weight_bytes:,} B, const {cost.const_bytes:,} B, "
                          f"code {cost.code_bytes:,} B)")


def check_estimate(cost: Cost, estimated: Cost, predicted: Cost | None, what: str = "model") -> None:
    """Raises EstimateMismatch when the converted model's figures moved from the prediction (None: skip).

    `estimated` is the cost of `as_estimated(graph)`: the converted graph as the estimator models it
    (shapes only): its SRAM and Flash must equal the prediction exactly, or the converter built a
    different graph than the estimator assumed. The real SRAM must equal it too (the plan depends on
    shapes only). The real Flash may be lower, never higher: a per-tensor filter (tfmot QAT's
    Dense) needs one requantisation multiplier and shift instead of one per channel, and the engine
    folds the input zero point into a per-channel bias array only where that cannot overflow int32,
    which depends on the trained values (e.g. the huge int32 bias of a channel whose filter scale is
    tiny). Weight bytes are not compared: the converter may share one buffer between equal constant
    tensors, which `weight_bytes` counts once.
    """
    if predicted is None:
        return
    moved = [f"{name} {real:,} B, estimator predicted {guess:,} B ({real - guess:+,} B)"
             for name, real, guess in (("SRAM", cost.sram_bytes, predicted.sram_bytes),
                                       ("structural SRAM", estimated.sram_bytes, predicted.sram_bytes),
                                       ("structural Flash", estimated.flash_bytes, predicted.flash_bytes))
             if real != guess]
    if cost.flash_bytes > predicted.flash_bytes:
        moved.append(f"Flash {cost.flash_bytes:,} B above the estimator's {predicted.flash_bytes:,} B")
    if moved:
        raise EstimateMismatch(f"{what}: the converted model's engine figures moved from the estimate: "
                               + "; ".join(moved))


# Conv-like ops and the quantised dimension of their filters, as the estimator builds them.
_FILTER_AXIS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}


def as_estimated(graph: Graph) -> Graph:
    """`graph` as the estimator models it: conv-like filters and biases zeroed, filters per-channel.

    Shapes, op kinds, attributes and activation quantisation are kept; only what the estimator
    cannot know (trained values) or fixes by assumption (per-channel filters) is replaced.
    """
    replace: dict[int, Tensor] = {}
    for op in graph.ops:
        if op.kind not in _FILTER_AXIS:
            continue
        filt = graph.tensors[op.inputs[1]]
        axis = _FILTER_AXIS[op.kind]
        replace[filt.id] = _zeroed(filt, _per_channel(filt.quant, filt.shape[axis], axis))
        if len(op.inputs) > 2 and op.inputs[2] != ABSENT:
            bias = graph.tensors[op.inputs[2]]
            replace[bias.id] = _zeroed(bias, _per_channel(bias.quant, bias.shape[0], 0))
    return dataclasses.replace(graph, tensors=tuple(replace.get(t.id, t) for t in graph.tensors))


def _per_channel(quant: Quant | None, channels: int, axis: int) -> Quant | None:
    if quant is None or quant.axis is not None:
        return quant
    return Quant(quant.scale * channels, quant.zero_point * channels, axis)


def _zeroed(tensor: Tensor, quant: Quant | None) -> Tensor:
    buffer = None if tensor.buffer is None else bytes(len(tensor.buffer))
    return dataclasses.replace(tensor, buffer=buffer, quant=quant)


def _check_data(data) -> tuple[Split, Split]:
    try:
        (x_train, y_train), (x_val, y_val) = data
    except (TypeError, ValueError) as error:
        raise ValueError("export: data must be ((train_images, train_labels), (val_images, val_labels))") from error
    for split, x, y in (("train", x_train, y_train), ("val", x_val, y_val)):
        if len(x) != len(y) or len(x) == 0:
            raise ValueError(f"export: {split} split has {len(x)} images and {len(y)} labels")
    return (np.asarray(x_train, np.float32), np.asarray(y_train)), (np.asarray(x_val, np.float32), np.asarray(y_val))


def resolve_model(model_or_config, train: Split, supernet: Supernet | None = None,
                  recalibration_batches: int = 8) -> tuple[keras.Model, Cost | None]:
    """(Keras model, estimator prediction or None) for a model or a config.

    A config is extracted from `supernet` (BatchNorm statistics re-estimated on `train`) or, without
    a supernet, built with fresh weights (then the QAT epochs are its only training).
    """
    if isinstance(model_or_config, keras.Model):
        return model_or_config, None
    if not isinstance(model_or_config, SubnetConfig):
        raise TypeError(f"export: expected a tf_keras Model or a SubnetConfig, got {type(model_or_config).__name__}")
    config = model_or_config
    if supernet is None:
        return build_subnet(config), estimate(config)
    model = extract(supernet, config)
    images = qat.fit_images(train[0], model.input_shape)
    batches = tf.data.Dataset.from_tensor_slices(images).batch(32)
    return recalibrate_bn(model, batches, recalibration_batches), estimate(config)


def quantize(model: keras.Model, train: Split, method: str, epochs: int, batch_size: int = 32,
             learning_rate: float = 1e-4, seed: int = 0, num_calibration: int = 100) -> bytes:
    """Full-int8 .tflite bytes of `model`: QAT fine-tuning for `epochs` then conversion, or PTQ."""
    if method not in METHODS:
        raise ValueError(f"export: method must be one of {METHODS}, got {method!r}")
    if method == "qat":
        model = qat.fine_tune(model, train[0], train[1], epochs, batch_size, learning_rate, seed)
    return qat.convert_int8(model, train[0], num_calibration)


def engine_cost(tflite: bytes, name: str) -> tuple[Program, Cost, Cost]:
    """(the engine's program for the .tflite, its cost, the cost of `as_estimated` of its graph)."""
    graph = read(tflite)
    program = compile_graph(graph, CompileOptions(name=name))
    estimated = program_cost(compile_graph(as_estimated(graph), CompileOptions(name=name)))
    return program, program_cost(program), estimated


def verify_on(tflite: bytes, images: np.ndarray, samples: int) -> BitExactReport:
    """Engine verify (every tensor vs TFLM) on `samples` real images plus one random input."""
    real = [[x[None]] for x in qat.quantize_input(tflite, images[:samples])]
    return check_bit_exact(tflite, samples=1, seed=0, inputs=real)


def export(model_or_config: keras.Model | SubnetConfig, data, out_dir: os.PathLike,
           budget: BudgetLike | None = None, method: str = "qat", epochs: int = 1, *,
           supernet: Supernet | None = None, expected: Cost | None = None, name: str = "model",
           batch_size: int = 32, learning_rate: float = 1e-4, seed: int = 0, num_calibration: int = 100,
           verify_samples: int = 3) -> ExportResult:
    """Quantises a subnet to int8, checks it against the budget, verifies it and writes its C.

    Args:
        model_or_config: a trained tf_keras model (e.g. from `extract`) or a `SubnetConfig`
            (extracted from `supernet` when given, else built fresh; see `resolve_model`).
        data: ((train_images, train_labels), (val_images, val_labels)), float32 NHWC images (resized
            to the model's resolution as needed) and int labels.
        out_dir: gets `{name}.tflite`, the C folder `{name}/` and `{name}.json` (this result).
        budget: SRAM / Flash limits (anything with `sram_bytes` and `flash_bytes`); None: no limit.
        method: "qat" (tfmot quantisation-aware fine-tuning for `epochs`) or "ptq" (calibration only).
        epochs: QAT epochs (ignored for PTQ).
        supernet: where a config's weights come from.
        expected: the estimator's prediction to hold the model to (default: `estimate(config)` when
            a config is given).
        name: C identifier for the model (file names and symbols).
        batch_size, learning_rate, seed: QAT fine-tuning settings.
        num_calibration: training images that calibrate the int8 ranges.
        verify_samples: validation images run through the generated C and TFLM, every tensor compared.

    Raises:
        BudgetError: SRAM or Flash over the budget (the .tflite is written first, for inspection).
        EstimateMismatch: the real figures differ from the estimator's prediction.
        ExportError: the generated C is not bit-exact with TFLM.
    """
    train, val = _check_data(data)
    model, predicted = resolve_model(model_or_config, train, supernet)
    predicted = expected if expected is not None else predicted
    float_accuracy = qat.keras_accuracy(model, *val)
    tflite = quantize(model, train, method, epochs, batch_size, learning_rate, seed, num_calibration)
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tflite_path = out / f"{name}.tflite"
    tflite_path.write_bytes(tflite)
    program, cost, estimated = engine_cost(tflite, name)
    what = f"{tflite_path} ({method})"
    check_budget(cost, budget, what)
    check_estimate(cost, estimated, predicted, what)
    report = verify_on(tflite, val[0], verify_samples)
    if not report.bit_exact:
        raise ExportError(f"{what}: the generated C differs from TFLM: {first_lines(report)}")
    c_dir = codegen.write_folder(codegen.render(program), out / name)
    result = ExportResult(tflite_path, c_dir, cost.sram_bytes, cost.flash_bytes, float_accuracy,
                          qat.int8_accuracy(tflite, *val), report.bit_exact, method, cost, predicted)
    (out / f"{name}.json").write_text(json.dumps(result.as_dict(), indent=2, sort_keys=True))
    return result


class _CallableModule(types.ModuleType):
    """Lets `mcunet_tf.export(...)` call `export()`, as `mcunet_tf.search(...)` calls `search()`.

    Importing `mcunet_tf.export` binds this module to the package attribute `export`, which would
    shadow a function of that name; making the module callable keeps both spellings working.
    """

    def __call__(self, *args, **kwargs) -> ExportResult:
        return export(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
