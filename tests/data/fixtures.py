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


def speech_commands(root: pathlib.Path, words=kws.WORDS, others=("bed", "cat"), per_word: int = 3,
                    rate: int = RATE, background: bool = True) -> pathlib.Path:
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
