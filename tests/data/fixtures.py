"""Tiny datasets in the real on-disk layouts, built inside the tests."""

from __future__ import annotations

import pathlib

import numpy as np

from mcunet_tf.datasets import kws, wav

RATE = 16000


def tone(freq: float, seconds: float = 1.0, rate: int = RATE, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def pcm16(x: np.ndarray) -> np.ndarray:
    """float in [-1, 1] -> int16 PCM (rounded, saturated)."""
    return np.clip(np.round(np.asarray(x) * 32768.0), -32768, 32767).astype(np.int16)


def speech_commands(
    root: pathlib.Path,
    words=kws.WORDS,
    others=("bed", "cat"),
    per_word: int = 3,
    rate: int = RATE,
    background: bool = True,
) -> pathlib.Path:
    """Word folders of short tones (clip i of each word: 0 train, 1 validation, 2 test)."""
    root.mkdir(parents=True, exist_ok=True)
    validation, test = [], []
    for w, word in enumerate((*words, *others)):
        (root / word).mkdir()
        for i in range(per_word):
            name = f"{word}/{w:04x}{i:02x}_nohash_0.wav"
            # Shorter than a second on purpose: the loader pads.
            wav.write_pcm16(root / name, tone(200 + 50 * w + 7 * i, 0.8, rate), rate)
            (validation if i % 3 == 1 else test if i % 3 == 2 else []).append(name)
    (root / "validation_list.txt").write_text("\n".join(validation) + "\n")
    (root / "testing_list.txt").write_text("\n".join(test) + "\n")
    if background:
        (root / kws.BACKGROUND_DIR).mkdir()
        noise = np.random.default_rng(0).uniform(-0.5, 0.5, 3 * rate)
        wav.write_pcm16(root / kws.BACKGROUND_DIR / "white_noise.wav", noise, rate)
    return root


def image(seed: int, height: int = 40, width: int = 30) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def vww_folders(root: pathlib.Path, per_class: int = 5) -> pathlib.Path:
    """person/ (PNG) and non_person/ (JPEG) with a few random images of various sizes."""
    from PIL import Image

    for label, (name, suffix) in enumerate((("non_person", ".jpg"), ("person", ".png"))):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(image(10 * label + i, 30 + 5 * i, 40)).save(root / name / f"img_{i:02d}{suffix}")
    return root


def encoded_png(pixels: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def vww_records(root: pathlib.Path, labels: dict[str, list[int]]) -> pathlib.Path:
    """TFRecords as the VWW build writes them: <split>.record-00000-of-00001, image/encoded + image/class/label."""
    import tensorflow as tf

    root.mkdir(parents=True)
    for prefix, split_labels in labels.items():
        with tf.io.TFRecordWriter(str(root / f"{prefix}.record-00000-of-00001")) as writer:
            for i, label in enumerate(split_labels):
                feature = {
                    "image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[encoded_png(image(i))])),
                    "image/class/label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
                    "image/format": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"png"])),
                }
                writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return root
