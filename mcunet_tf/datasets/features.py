"""Keyword-spotting features: one frozen config, a tf.signal pipeline and its numpy reference.

The pipeline (defaults = the MLPerf Tiny KWS DS-CNN front end, 49x10 MFCC):

1. int16 PCM -> float32 by `x / 32768` (what `tf.audio.decode_wav` does), one clip
   of `clip_samples` (zero-padded or cut).
2. Normalise: `normalize="max"` divides by the clip's largest sample (MLPerf's
   `wav / reduce_max(wav)`, signed max, not abs); a clip whose max is <= 0 is left
   unscaled instead of becoming NaN. "abs_max" divides by max |x|; "none" skips it.
3. Frames of `window_samples` every `stride_samples` (no end padding), times a
   periodic Hann window `0.5 - 0.5 cos(2 pi n / window_samples)`.
4. |rfft| with `fft_length` points (zero-padded frame) -> `fft_length // 2 + 1` bins.
5. Mel filter bank: `tf.signal.linear_to_mel_weight_matrix` (HTK mel
   1127 ln(1 + f/700), triangles between `lower_edge_hz` and `upper_edge_hz`,
   DC bin zeroed), then `log(mel + log_offset)`.
6. MFCC (`num_coefficients > 0`): `tf.signal.mfccs_from_log_mel_spectrograms`,
   i.e. an unnormalised DCT-II scaled by `1/sqrt(2 num_mel_bins)`, which is
   `sqrt(2/M) sum_m x_m cos(pi k (2m+1) / 2M)` for every k (k = 0 included), first
   `num_coefficients` kept. `num_coefficients = 0` outputs the log-mel spectrogram.
7. int8 model input (`quantize`): `clamp(round_half_away(x / scale) + zero_point)`,
   the TFLite QUANTIZE rule.

`tf_features` is what training uses; `numpy_features` is a float64 reference of the
same steps (tables in float32, as TF builds them) that the C front end
(engine/frontend/kws_features.c) and the tests check against.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

NORMALIZE_MODES = ("max", "abs_max", "none")


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """Every parameter of the KWS feature pipeline (saved next to trained models).

    Attributes:
        sample_rate: Hz of the audio.
        clip_ms: clip length; audio is zero-padded or cut to it.
        window_ms: STFT frame length.
        stride_ms: STFT frame step.
        fft_length: FFT points (>= window samples, a power of two).
        num_mel_bins: mel filters.
        lower_edge_hz: lowest mel edge.
        upper_edge_hz: highest mel edge (<= sample_rate / 2).
        log_offset: added before the log so silence stays finite.
        num_coefficients: MFCCs kept; 0 means log-mel features (num_mel_bins of them).
        normalize: "max" (MLPerf), "abs_max" or "none"; see the module docstring.
    """

    sample_rate: int = 16000
    clip_ms: int = 1000
    window_ms: int = 30
    stride_ms: int = 20
    fft_length: int = 512
    num_mel_bins: int = 40
    lower_edge_hz: float = 20.0
    upper_edge_hz: float = 4000.0
    log_offset: float = 1e-6
    num_coefficients: int = 10
    normalize: str = "max"

    def __post_init__(self):
        if self.normalize not in NORMALIZE_MODES:
            raise ValueError(f"FeatureConfig.normalize must be one of {NORMALIZE_MODES}, got {self.normalize!r}")
        if self.fft_length < self.window_samples or self.fft_length & (self.fft_length - 1):
            raise ValueError(
                f"FeatureConfig.fft_length must be a power of two >= {self.window_samples} "
                f"window samples, got {self.fft_length}"
            )
        if not 0 <= self.lower_edge_hz < self.upper_edge_hz <= self.sample_rate / 2:
            raise ValueError(
                f"FeatureConfig: need 0 <= lower_edge_hz < upper_edge_hz <= {self.sample_rate / 2}, "
                f"got {self.lower_edge_hz}, {self.upper_edge_hz}"
            )
        if not 0 <= self.num_coefficients <= self.num_mel_bins:
            raise ValueError(
                f"FeatureConfig.num_coefficients must be in [0, {self.num_mel_bins}], got {self.num_coefficients}"
            )
        if self.num_frames < 1 or self.stride_samples < 1:
            raise ValueError(
                f"FeatureConfig: clip_ms={self.clip_ms} too short for window_ms={self.window_ms} "
                f"(or stride_ms={self.stride_ms} < 1 sample)"
            )

    # Sample counts use int(rate * ms / 1000), as MLPerf's prepare_model_settings.
    @property
    def clip_samples(self) -> int:
        return int(self.sample_rate * self.clip_ms / 1000)

    @property
    def window_samples(self) -> int:
        return int(self.sample_rate * self.window_ms / 1000)

    @property
    def stride_samples(self) -> int:
        return int(self.sample_rate * self.stride_ms / 1000)

    @property
    def num_frames(self) -> int:
        return 1 + (self.clip_samples - self.window_samples) // max(self.stride_samples, 1)

    @property
    def num_bins(self) -> int:
        return self.fft_length // 2 + 1

    @property
    def num_features(self) -> int:
        return self.num_coefficients or self.num_mel_bins

    @property
    def shape(self) -> tuple[int, int, int]:
        """Model input shape without batch: (frames, features, 1)."""
        return (self.num_frames, self.num_features, 1)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> FeatureConfig:
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"FeatureConfig: unknown fields {sorted(unknown)}")
        return cls(**values)

    def save(self, path: os.PathLike | str) -> None:
        """Write the config as JSON (the apps keep it beside the .tflite)."""
        with open(path, "w") as f:
            json.dump(self.to_dict(), f, indent=2, sort_keys=True)
            f.write("\n")

    @classmethod
    def load(cls, path: os.PathLike | str) -> FeatureConfig:
        with open(path) as f:
            return cls.from_dict(json.load(f))


# ---------------------------------------------------------------- tables (float32, TF's formulas)


def hann_window(config: FeatureConfig) -> np.ndarray:
    """Periodic Hann window, float32, computed as tf.signal.hann_window does."""
    n = config.window_samples
    arg = np.float32(2 * np.pi) * np.arange(n, dtype=np.float32) / np.float32(n)
    return (np.float32(0.5) - np.float32(0.5) * np.cos(arg)).astype(np.float32)


def _hertz_to_mel(hz: np.ndarray) -> np.ndarray:
    return np.float32(1127.0) * np.log1p(hz / np.float32(700.0))


def mel_matrix(config: FeatureConfig) -> np.ndarray:
    """[num_bins, num_mel_bins] float32 weights, following tf.signal.linear_to_mel_weight_matrix."""
    freqs = np.linspace(0.0, config.sample_rate / 2.0, config.num_bins).astype(np.float32)[1:]
    bins_mel = _hertz_to_mel(freqs)[:, None]
    edges = np.linspace(
        _hertz_to_mel(np.float32(config.lower_edge_hz)),
        _hertz_to_mel(np.float32(config.upper_edge_hz)),
        config.num_mel_bins + 2,
    ).astype(np.float32)
    lower, center, upper = edges[:-2][None], edges[1:-1][None], edges[2:][None]
    lower_slopes = (bins_mel - lower) / (center - lower)
    upper_slopes = (upper - bins_mel) / (upper - center)
    weights = np.maximum(np.float32(0), np.minimum(lower_slopes, upper_slopes))
    # TF zeroes the DC bin (it carries no mel information).
    return np.concatenate([np.zeros((1, config.num_mel_bins), np.float32), weights]).astype(np.float32)


def dct_matrix(config: FeatureConfig) -> np.ndarray:
    """[num_coefficients, num_mel_bins] float32: sqrt(2/M) cos(pi k (2m+1) / 2M)."""
    m = config.num_mel_bins
    k = np.arange(config.num_coefficients)[:, None]
    n = np.arange(m)[None, :]
    return (np.sqrt(2.0 / m) * np.cos(np.pi * k * (2 * n + 1) / (2 * m))).astype(np.float32)


# ---------------------------------------------------------------- numpy reference


def _normalize_np(audio: np.ndarray, mode: str) -> np.ndarray:
    if mode == "none":
        return audio
    peak = np.max(audio) if mode == "max" else np.max(np.abs(audio))
    return audio / peak if peak > 0 else audio


def fit_clip(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Zero-pad or cut a 1-D clip to config.clip_samples (float32)."""
    audio = np.asarray(audio, np.float32)[: config.clip_samples]
    return np.pad(audio, (0, config.clip_samples - audio.shape[0]))


def numpy_features(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Reference features of one clip (float audio in [-1, 1]) -> float32 config.shape.

    Normalisation runs in float32 (an exact IEEE division, as in TF); the rest in
    float64 so this is the more accurate side when compared with tf.signal.
    """
    audio = _normalize_np(fit_clip(audio, config), config.normalize).astype(np.float64)
    starts = np.arange(config.num_frames) * config.stride_samples
    frames = audio[starts[:, None] + np.arange(config.window_samples)[None, :]]
    spectrum = np.abs(np.fft.rfft(frames * hann_window(config), n=config.fft_length))
    log_mel = np.log(spectrum @ mel_matrix(config).astype(np.float64) + config.log_offset)
    features = log_mel @ dct_matrix(config).T.astype(np.float64) if config.num_coefficients else log_mel
    return features.astype(np.float32)[..., None]


def quantize(features: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """float -> int8 as TFLite QUANTIZE: round half away from zero of x / scale (float32), + zero point."""
    scaled = (np.asarray(features, np.float32) / np.float32(scale)).astype(np.float64)
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    return np.clip(rounded + zero_point, -128, 127).astype(np.int8)


def pcm16_to_float(pcm: np.ndarray) -> np.ndarray:
    """int16 samples -> float32 in [-1, 1), exactly as tf.audio.decode_wav scales them."""
    return np.asarray(pcm, np.int16).astype(np.float32) / np.float32(32768.0)


# ---------------------------------------------------------------- tf.signal (training pipeline)


def tf_normalize(audio, mode: str):
    """Normalise the last axis of a float tensor; see the module docstring."""
    import tensorflow as tf

    if mode == "none":
        return audio
    peak = tf.reduce_max(audio if mode == "max" else tf.abs(audio), axis=-1, keepdims=True)
    return audio / tf.where(peak > 0, peak, tf.ones_like(peak))


def tf_features(audio, config: FeatureConfig):
    """tf.signal features of clips [..., clip_samples] float32 -> [..., frames, features, 1]."""
    import tensorflow as tf

    audio = tf_normalize(tf.convert_to_tensor(audio, tf.float32), config.normalize)
    stft = tf.signal.stft(
        audio,
        frame_length=config.window_samples,
        frame_step=config.stride_samples,
        fft_length=config.fft_length,
        window_fn=tf.signal.hann_window,
    )
    weights = tf.signal.linear_to_mel_weight_matrix(
        config.num_mel_bins, config.num_bins, config.sample_rate, config.lower_edge_hz, config.upper_edge_hz
    )
    mel = tf.tensordot(tf.abs(stft), weights, 1)
    features = tf.math.log(mel + config.log_offset)
    if config.num_coefficients:
        features = tf.signal.mfccs_from_log_mel_spectrograms(features)[..., : config.num_coefficients]
    return features[..., None]
