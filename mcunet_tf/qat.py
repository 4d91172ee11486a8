"""Quantisation-aware fine-tuning, full-int8 conversion and int8 accuracy of a Keras subnet.

The training side of the data flow, one function per arrow:

    Keras model --fit (float)--> --quantize_aware + fine_tune (tfmot QAT)--> --convert_int8--> .tflite bytes

`convert_int8` gives the models the engine runs: int8 input and output, int8 activations and
per-channel int8 filters, calibrated on a representative sample of the training images (the
only calibration for post-training quantisation; for a QAT model the ranges come from training
and the sample only confirms the input range). `int8_accuracy` runs the .tflite with the TFLM
runtime, the oracle the engine is bit-exact with, so it is also the accuracy of the generated C.

Images are float32 NHWC arrays; they are resized (bilinear) to the model's input size when they
differ, so one data set serves subnets of every resolution.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

from engine.check.tflm import Tflm  # noqa: E402
from tflite_bridge import read  # noqa: E402


def fit_images(images: np.ndarray, input_shape) -> np.ndarray:
    """`images` (N, H, W, C) float32 resized to `input_shape` (.., H', W', C'), a Keras input shape.

    Raises:
        ValueError: the channel counts differ (resizing never changes channels).
    """
    images = np.asarray(images, np.float32)
    height, width, channels = (int(d) for d in tuple(input_shape)[-3:])
    if images.ndim != 4 or images.shape[-1] != channels:
        raise ValueError(f"fit_images: expected images (N, H, W, {channels}), got shape {images.shape}")
    if images.shape[1:3] == (height, width):
        return images
    return tf.image.resize(images, (height, width)).numpy().astype(np.float32)


def compile_classifier(model: keras.Model, learning_rate: float) -> keras.Model:
    """Compiles `model` (logits out) with Adam and sparse cross-entropy; returns it."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def fit(model: keras.Model, images: np.ndarray, labels: np.ndarray, epochs: int, batch_size: int = 32,
        learning_rate: float = 1e-3, seed: int = 0) -> keras.Model:
    """Trains `model` in place for `epochs` (shuffled with `seed`); returns it.

    Works for float models and for the QAT models `quantize_aware` returns alike.
    """
    if epochs < 0:
        raise ValueError(f"fit: epochs must be >= 0, got {epochs}")
    if epochs == 0:
        return model
    images = fit_images(images, model.input_shape)
    compile_classifier(model, learning_rate)
    data = (tf.data.Dataset.from_tensor_slices((images, np.asarray(labels, np.int32)))
            .shuffle(len(images), seed=seed, reshuffle_each_iteration=True).batch(batch_size))
    model.fit(data, epochs=epochs, verbose=0)
    return model


def quantize_aware(model: keras.Model) -> keras.Model:
    """A tfmot QAT copy of `model` (default 8-bit scheme: per-channel conv weights, BN folded into
    convs, per-tensor activations, per-tensor Dense weights).

    Dense stays per-tensor: a per-axis Dense kernel quantizer (tfmot LastValueQuantizer per_axis)
    makes the TF 2.21 converter fail ("'tfl.transpose' op has mismatched quantized axes"). So a QAT
    classifier has one requantisation multiplier where post-training quantisation has one per
    class; `export.as_estimated` accounts for that when comparing with the estimator.
    The copy starts from `model`'s weights; fake-quant ranges are learned during `fit`.
    """
    import tensorflow_model_optimization as tfmot

    return tfmot.quantization.keras.quantize_model(model)


def fine_tune(model: keras.Model, images: np.ndarray, labels: np.ndarray, epochs: int,
              batch_size: int = 32, learning_rate: float = 1e-4, seed: int = 0) -> keras.Model:
    """Quantisation-aware fine-tuning: `quantize_aware(model)` trained for `epochs`; returns the QAT model.

    The learning rate is low by default: the float weights are already trained and only need to
    adapt to the int8 grid.
    """
    return fit(quantize_aware(model), images, labels, epochs, batch_size, learning_rate, seed)


def convert_int8(model: keras.Model, representative: np.ndarray, num_calibration: int = 100) -> bytes:
    """Full-int8 .tflite bytes of `model` (float or QAT): int8 input, output, activations and filters.

    Args:
        model: a Keras model (from `extract`, `build_subnet`, keras.applications or `fine_tune`).
        representative: training images; the first `num_calibration` calibrate the int8 ranges.
        num_calibration: calibration images (one per converter step).
    """
    sample = fit_images(representative[:num_calibration], model.input_shape)
    if len(sample) == 0:
        raise ValueError("convert_int8: the representative data set is empty")

    def calibration():
        for image in sample:
            yield [image[None]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = calibration
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def keras_accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray, batch_size: int = 64) -> float:
    """Top-1 accuracy of a Keras model (float or QAT) on `images`."""
    logits = model.predict(fit_images(images, model.input_shape), batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(labels)))


def quantize_input(tflite: bytes, images: np.ndarray) -> np.ndarray:
    """Float `images` on the int8 grid of the model's input (its scale and zero point), int8 NHWC."""
    graph = read(tflite)
    tensor = graph.tensors[graph.inputs[0]]
    if tensor.quant is None or tensor.dtype.numpy != np.int8:
        raise ValueError(f"quantize_input: model input {tensor.name!r} is {tensor.dtype.name}, not quantised int8")
    images = fit_images(images, tensor.shape)
    scale, zero_point = tensor.quant.scale[0], tensor.quant.zero_point[0]
    # As TFLite's QUANTIZE: std::round (halves away from zero, not numpy's half-to-even), add the
    # zero point, saturate.
    scaled = images / np.float32(scale)
    q = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def int8_predict(tflite: bytes, images: np.ndarray) -> np.ndarray:
    """The int8 output of the .tflite on each image, run by the TFLM runtime (one invoke per image)."""
    quantised = quantize_input(tflite, images)
    runtime = Tflm(tflite)
    return np.stack([runtime.run([x[None]], 1)[0].reshape(-1) for x in quantised])


def int8_accuracy(tflite: bytes, images: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy of the int8 model on `images` (TFLM runtime, so also the generated C's)."""
    predictions = np.argmax(int8_predict(tflite, images), axis=-1)
    return float(np.mean(predictions == np.asarray(labels)))
