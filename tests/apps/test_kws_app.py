"""mcunet-kws end to end (tiny settings) on the offline demo data and on a Speech Commands folder built here."""

import json
import os
import shutil

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import pytest  # noqa: E402

from mcunet_tf.apps import common, kws  # noqa: E402
from mcunet_tf.datasets import FeatureConfig  # noqa: E402
from tests.apps.conftest import KWS_SPACE, VWW_SPACE, assert_outputs, run_config  # noqa: E402
from tests.data import fixtures  # noqa: E402

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def assert_frontend(out_dir, record):
    assert FeatureConfig.load(out_dir / "features.json") == kws.FEATURES
    assert kws.FEATURES.shape == (32, 32, 1)
    names = {p.name for p in (out_dir / "kws" / "frontend").iterdir()}
    assert names == {"kws_features.c", "kws_features.h", "kws_tables.c", "kws_tables.h", "kws_model_input.h"}
    check = record["extras"]["frontend_check"]
    # The C front end's features drive the generated C model bit-exactly with TFLM; against tf.signal
    # the front end may differ by 1 LSB where a value sits on a rounding boundary (engine/frontend/README.md).
    assert check["bit_exact"] and check["tensors_compared"] > 0
    # Pure tones (the fixture) put more values near a boundary than speech: 25 of 8,192 measured.
    assert check["max_diff"] <= 1 and check["differing"] <= check["values"] // 100
    assert "KWS feature front end (C)" in (out_dir / "report.md").read_text()
    m4 = record["built"]["frontend_m4"]
    assert m4 is None or m4["text"] > 0


@needs_espeak
def test_kws_demo_data_end_to_end(tmp_path):
    task = kws.make_task(None, "demo", 0, space=KWS_SPACE)
    assert task.data.demo
    common.run_pipeline(task, run_config(tmp_path))
    assert_frontend(tmp_path, assert_outputs(tmp_path, "kws", demo=True))


def test_kws_speech_commands_folder_end_to_end(tmp_path):
    root = fixtures.speech_commands(tmp_path / "speech", per_word=3)
    task = kws.make_task(str(root), "full", 0, space=KWS_SPACE)
    assert not task.data.demo
    common.run_pipeline(task, run_config(tmp_path / "out"))
    record = assert_outputs(tmp_path / "out", "kws", demo=False)
    assert_frontend(tmp_path / "out", record)
    assert json.loads((tmp_path / "out" / "kws.json").read_text())["bit_exact"] is True


def test_kws_needs_the_feature_resolution(tmp_path):
    with pytest.raises(common.AppError, match=r"resolution_choices=\(32,\) and input_channels=1"):
        kws.make_task(str(tmp_path), "full", 0, space=VWW_SPACE)
