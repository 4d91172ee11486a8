"""Cached int8 models for the patch-based inference tests."""

from __future__ import annotations

import numpy as np

from tests.oneop import int8_model

MBV2_SHAPE = (144, 144, 3)


def _he_init(net, seed: int) -> None:
    """He-normal kernels so activations keep their magnitude through ~50 layers.

    Keras' default (Glorot) init with untrained BatchNorm shrinks activations
    layer after layer until the logits' scale is ~1e-8: the int8 model would
    compute constants, a weak exactness test (and a softmax TFLM refuses).
    """
    rng = np.random.default_rng(seed)
    for layer in net.layers:
        weights = layer.get_weights()
        if not weights or len(weights[0].shape) < 2:
            continue
        kernel = weights[0]
        fan_in = int(np.prod(kernel.shape[:-1])) if "depthwise" not in layer.name else int(np.prod(kernel.shape[:2]))
        weights[0] = rng.normal(0.0, np.sqrt(2.0 / fan_in), kernel.shape).astype(np.float32)
        layer.set_weights(weights)


def mobilenet_v2(classes: int = 10) -> bytes:
    """keras.applications.MobileNetV2(alpha=0.35) at 144x144, full int8 (MCUNet-style)."""

    def build(x):
        import tf_keras as keras

        net = keras.applications.MobileNetV2(alpha=0.35, input_shape=MBV2_SHAPE, weights=None, classes=classes)
        _he_init(net, seed=0)
        return net(x)

    return int8_model(build, [MBV2_SHAPE], key=f"patch-mbv2-0.35-144-{classes}-he")
