"""Build small int8 TFLite models with the real TF converter, for per-op tests.

`int8_model(build, input_shapes)` calls `build(*keras_inputs)` to get the
output tensor(s), converts with full-integer quantisation (int8 in and out)
calibrated on seeded random data, and returns the .tflite bytes. Results are
cached per process and on disk (keyed by a caller-given name) because the
converter takes about a second per model.
"""

from __future__ import annotations

import hashlib
import os
import pathlib

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

CACHE = pathlib.Path(os.environ.get("MCUNET_TEST_CACHE", pathlib.Path(__file__).parent / ".model_cache"))


def int8_model(build, input_shapes, key: str, seed: int = 0, calib_range=(-1.0, 1.0), int8_io=True) -> bytes:
    """A full-int8 .tflite of the Keras graph `build` makes from inputs of `input_shapes`.

    Args:
        build: function of the Keras input tensors returning the output tensor(s).
        input_shapes: shapes without the batch dimension.
        key: a unique, stable description of this model (the cache key).
        seed: seeds weights and calibration data.
        calib_range: uniform range of the calibration inputs.
        int8_io: int8 inputs/outputs (else float32 edges with QUANTIZE/DEQUANTIZE).
    """
    digest = hashlib.sha1(f"{key}|{input_shapes}|{seed}|{calib_range}|{int8_io}".encode()).hexdigest()[:16]
    path = CACHE / f"{digest}.tflite"
    if path.exists():
        return path.read_bytes()
    import tensorflow as tf
    import tf_keras as keras

    keras.utils.set_random_seed(seed)
    inputs = [keras.Input(shape=s, batch_size=1) for s in input_shapes]
    outputs = build(*inputs)
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(seed)

    def representative():
        for _ in range(32):
            yield [rng.uniform(*calib_range, size=(1, *s)).astype(np.float32) for s in input_shapes]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if int8_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    data = conv.convert()
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data


def replace_tensor(graph, tid: int, **changes):
    """`graph` with tensor `tid`'s fields replaced (e.g. quant=..., buffer=...)."""
    import dataclasses

    tensors = list(graph.tensors)
    tensors[tid] = dataclasses.replace(tensors[tid], **changes)
    return dataclasses.replace(graph, tensors=tuple(tensors))
