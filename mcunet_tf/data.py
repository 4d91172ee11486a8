"""Small offline data helpers (no downloads): synthetic image classification for tests and demos."""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def synthetic_images(num_examples: int, resolution: int, num_classes: int, seed: int = 0,
                     channels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Learnable synthetic images: each class is a fixed random colour pattern plus noise.

    Returns:
        (images float32 [n, resolution, resolution, channels] in about [-1, 1], labels int32 [n]).
    """
    if num_examples < 1 or resolution < 1 or num_classes < 1:
        raise ValueError(f"synthetic_images: need positive sizes, got {num_examples}, {resolution}, {num_classes}")
    rng = np.random.default_rng(seed)
    # Class patterns are smooth (4x4 upsampled) so they survive resizing to smaller resolutions.
    coarse = rng.uniform(-1.0, 1.0, size=(num_classes, 4, 4, channels))
    patterns = np.repeat(np.repeat(coarse, -(-resolution // 4), axis=1), -(-resolution // 4), axis=2)
    patterns = patterns[:, :resolution, :resolution]
    labels = rng.integers(num_classes, size=num_examples).astype(np.int32)
    noise = rng.normal(0.0, 0.3, size=(num_examples, resolution, resolution, channels))
    return (patterns[labels] + noise).astype(np.float32), labels


def synthetic_dataset(num_examples: int, resolution: int, num_classes: int, seed: int = 0) -> tf.data.Dataset:
    """`synthetic_images` as an unbatched tf.data.Dataset of (image, label)."""
    return tf.data.Dataset.from_tensor_slices(synthetic_images(num_examples, resolution, num_classes, seed))
