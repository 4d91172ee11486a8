"""The four MLPerf Tiny int8 models, end to end: bit-exact with TFLM in every tensor."""

import numpy as np
import pytest

from engine.check.bitexact import check_bit_exact
from tests.conftest import DATA, INT8_MODELS
from tflite_bridge import analysis, read

PLAIN_BOUNDS = {"kws": 16000, "vww": 55296, "ic": 49152, "ad": 768}


def real_inputs(key: str) -> list[list[np.ndarray]]:
    if key == "kws":
        return [[np.load(DATA / "kws_input_int8_1x49x10x1.npy")]]
    if key == "ad":
        # One real ToyCar clip: 200 frames of 128 log-mel bins; the model takes
        # 5 consecutive frames (640 values), quantised with the input's params.
        feats = np.fromfile(DATA / "ad_normal_id_01_00000000_hist_librosa.bin", dtype=np.float32)
        g = read(INT8_MODELS["ad"])
        q = g.tensors[g.inputs[0]].quant
        windows = feats.reshape(-1, 128)
        out = []
        for start in (0, 50, 100):
            x = windows[start : start + 5].reshape(1, 640) / q.scale[0] + q.zero_point[0]
            out.append([np.clip(np.round(x), -128, 127).astype(np.int8)])
        return out
    return []


@pytest.mark.parametrize("key", sorted(INT8_MODELS))
def test_shared_model_bit_exact(key):
    report = check_bit_exact(INT8_MODELS[key], samples=100, seed=1, inputs=real_inputs(key))
    assert report.bit_exact, report.mismatches[:3]
    assert report.tensors_compared >= report.samples * len(read(INT8_MODELS[key]).ops)
    assert report.arena_bytes <= PLAIN_BOUNDS[key] == analysis.activation_lower_bound(read(INT8_MODELS[key]))
    if key == "kws":
        assert int(np.argmax(report.outputs[0][0])) == 5  # "on", per the MLPerf reference submission


@pytest.mark.parametrize("key", sorted(INT8_MODELS))
def test_shared_model_clean_under_sanitizers(key):
    report = check_bit_exact(INT8_MODELS[key], samples=2, seed=2, sanitize=True)
    assert report.bit_exact
