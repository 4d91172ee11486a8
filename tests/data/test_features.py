"""KWS features: config round trip, numpy reference vs tf.signal, the MLPerf reference model on our features."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from mcunet_tf.datasets import features, wav
from tests.conftest import DATA, INT8_MODELS
from tests.data import fixtures

MARVIN = DATA / "marvin_617de221_0.wav"
# The MLPerf KWS model's int8 input (models/mlperf_tiny/README.md).
KWS_SCALE, KWS_ZERO_POINT = 0.5847029089927673, 83
# float32 FFTs sum in different orders: TF's pocketfft vs numpy's float64 FFT. On full-scale speech the
# MFCCs (range about -40..20) then differ by a few 1e-6; 1e-4 leaves room without hiding a real error
# (a wrong table or scale moves them by > 1e-2).
FLOAT_TOLERANCE = 1e-4


def marvin_pcm() -> np.ndarray:
    return wav.read_pcm16(MARVIN, 16000)


def test_config_defaults_are_the_mlperf_kws_front_end():
    config = features.FeatureConfig()
    assert (config.window_samples, config.stride_samples, config.clip_samples) == (480, 320, 16000)
    assert config.shape == (49, 10, 1)
    assert config.num_bins == 257


def test_config_round_trip(tmp_path):
    config = features.FeatureConfig(num_coefficients=0, normalize="none", upper_edge_hz=7600.0)
    config.save(tmp_path / "features.json")
    assert features.FeatureConfig.load(tmp_path / "features.json") == config
    assert features.FeatureConfig.from_dict(config.to_dict()) == config
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.num_mel_bins = 3


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"normalize": "peak"}, "normalize"),
        ({"fft_length": 500}, "fft_length"),
        ({"fft_length": 256}, "fft_length"),
        ({"upper_edge_hz": 9000.0}, "upper_edge_hz"),
        ({"num_coefficients": 41}, "num_coefficients"),
        ({"clip_ms": 10}, "too short"),
    ],
)
def test_config_rejects_bad_values(fields, message):
    with pytest.raises(ValueError, match=message):
        features.FeatureConfig(**fields)


def test_from_dict_rejects_unknown_fields():
    with pytest.raises(ValueError, match="unknown fields"):
        features.FeatureConfig.from_dict({"num_mels": 40})


def test_tables_match_tf_signal():
    config = features.FeatureConfig()
    tf_window = tf.signal.hann_window(config.window_samples).numpy()
    # Both are float32 cos; numpy and Eigen may round the last bit differently.
    np.testing.assert_allclose(features.hann_window(config), tf_window, rtol=0, atol=1e-7)
    tf_mel = tf.signal.linear_to_mel_weight_matrix(40, 257, 16000, 20.0, 4000.0).numpy()
    # log1p in float32 on both sides; a few ulp of the mel scale (~1e-6 relative) move weights by <1e-5.
    np.testing.assert_allclose(features.mel_matrix(config), tf_mel, rtol=0, atol=1e-5)
    log_mel = np.random.default_rng(0).normal(size=(5, 40)).astype(np.float32)
    tf_mfcc = tf.signal.mfccs_from_log_mel_spectrograms(log_mel).numpy()[:, :10]
    np.testing.assert_allclose(log_mel @ features.dct_matrix(config).T, tf_mfcc, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "config",
    [
        features.FeatureConfig(),
        features.FeatureConfig(num_coefficients=0),
        features.FeatureConfig(
            normalize="none", window_ms=40, stride_ms=20, fft_length=1024, num_mel_bins=32, num_coefficients=13
        ),
        features.FeatureConfig(normalize="abs_max", upper_edge_hz=7600.0),
    ],
    ids=["mfcc", "log_mel", "none_40ms", "abs_max"],
)
def test_numpy_reference_matches_tf_signal(config):
    # (pcm, atol): float32 FFTs put a rounding floor ~1e-7 of the frame's peak bin into every bin. Speech and
    # noise keep all mel bands far above it (FLOAT_TOLERANCE); a pure tone leaves bands only ~1e-5 below its
    # peak (int16 quantisation noise), where TF's float32 floor moves MFCCs by up to ~1e-3 (0.002 LSB).
    clips = [
        (marvin_pcm(), FLOAT_TOLERANCE),
        (fixtures.pcm16(np.random.default_rng(1).uniform(-0.2, 0.2, 16000)), FLOAT_TOLERANCE),
        (fixtures.pcm16(fixtures.tone(440.0, 0.7) * 0.3), 5e-3),
    ]
    for clip, atol in clips:
        audio = features.fit_clip(features.pcm16_to_float(clip), config)
        reference = features.numpy_features(audio, config)
        assert reference.shape == config.shape
        np.testing.assert_allclose(reference, features.tf_features(audio, config).numpy(), rtol=0, atol=atol)


def test_silence_stays_finite():
    config = features.FeatureConfig()
    zeros = np.zeros(16000, np.float32)
    reference = features.numpy_features(zeros, config)
    assert np.isfinite(reference).all()
    # TF's DCT (an FFT of length 2M) leaves ~1e-6 where the exact DCT of a constant is 0.
    np.testing.assert_allclose(reference, features.tf_features(zeros, config).numpy(), rtol=0, atol=FLOAT_TOLERANCE)
    # log(1e-6) in every mel bin -> c0 = sqrt(2/40) * 40 * log(1e-6), the rest 0.
    assert reference[0, 0, 0] == pytest.approx(np.sqrt(2 / 40) * 40 * np.log(1e-6), rel=1e-6)


def test_quantize_rounds_half_away_from_zero_and_saturates():
    values = np.array([0.5, -0.5, 1.5, -1.5, 2.4999, 1000.0, -1000.0], np.float32)
    np.testing.assert_array_equal(features.quantize(values, 1.0, 0), [1, -1, 2, -2, 2, 127, -128])
    np.testing.assert_array_equal(features.quantize(np.float32([0.25]), 0.5, 83), [84])


def test_marvin_features_drive_the_mlperf_model_to_unknown():
    """Our defaults reproduce MLPerf's front end: its DS-CNN calls a real 'marvin' clip unknown (class 11)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    config = features.FeatureConfig()
    audio = features.fit_clip(features.pcm16_to_float(marvin_pcm()), config)
    quantized = features.quantize(features.tf_features(audio, config).numpy(), KWS_SCALE, KWS_ZERO_POINT)
    interpreter = Interpreter(
        model_path=str(INT8_MODELS["kws"]), experimental_op_resolver_type=OpResolverType.BUILTIN_REF
    )
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], quantized[None])
    interpreter.invoke()
    scores = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]
    assert scores.argmax() == 11, scores
