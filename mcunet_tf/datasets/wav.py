"""WAV files: header checks and 16-bit PCM reading/writing with clear errors."""

from __future__ import annotations

import dataclasses
import os
import wave

import numpy as np

from mcunet_tf.datasets.errors import DatasetError


@dataclasses.dataclass(frozen=True)
class WavInfo:
    """What a WAV header says."""

    sample_rate: int
    channels: int
    sample_width: int  # bytes per sample
    num_frames: int


def wav_info(path: os.PathLike | str) -> WavInfo:
    """Read only the header of a WAV file; DatasetError if it is not a readable PCM WAV."""
    try:
        with wave.open(os.fspath(path), "rb") as f:
            return WavInfo(f.getframerate(), f.getnchannels(), f.getsampwidth(), f.getnframes())
    except (wave.Error, EOFError, OSError) as e:
        raise DatasetError(path, f"unreadable WAV file ({e})") from None


def check_wav(path: os.PathLike | str, sample_rate: int) -> WavInfo:
    """The header of a WAV the loaders can decode: 16-bit PCM at `sample_rate`."""
    info = wav_info(path)
    if info.sample_rate != sample_rate:
        raise DatasetError(path, f"sample rate {info.sample_rate} Hz, expected {sample_rate} Hz")
    if info.sample_width != 2:
        raise DatasetError(path, f"{8 * info.sample_width}-bit samples, expected 16-bit PCM")
    return info


def read_pcm16(path: os.PathLike | str, sample_rate: int) -> np.ndarray:
    """int16 samples of the first channel (Speech Commands clips may be stereo-duplicated)."""
    info = check_wav(path, sample_rate)
    with wave.open(os.fspath(path), "rb") as f:
        frames = f.readframes(info.num_frames)
    return np.frombuffer(frames, "<i2").reshape(-1, info.channels)[:, 0].copy()


def write_pcm16(path: os.PathLike | str, samples: np.ndarray, sample_rate: int) -> None:
    """Write mono 16-bit PCM; float input in [-1, 1] is scaled by 32767 and clipped."""
    samples = np.asarray(samples)
    if samples.dtype.kind == "f":
        samples = np.clip(np.round(samples * 32767.0), -32768, 32767)
    with wave.open(os.fspath(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sample_rate)
        f.writeframes(samples.astype("<i2").tobytes())
