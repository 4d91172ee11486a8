"""mcunet-vww end to end (tiny settings) on the offline demo data and on VWW folders built here; resuming."""

import dataclasses
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import pytest  # noqa: E402

from mcunet_tf.apps import common, vww  # noqa: E402
from tests.apps.conftest import TINY_QAT, VWW_SPACE, assert_outputs, run_config  # noqa: E402
from tests.data import fixtures  # noqa: E402

RECORDS = ("train.json", "search.json", "export.json", "vww.tflite", "vww/vww.c")


def stamps(out_dir):
    return {name: (out_dir / name).stat().st_mtime_ns for name in RECORDS}


def test_vww_demo_data_end_to_end_then_a_rerun_skips_every_stage(tmp_path, capsys):
    task = vww.make_task(None, "demo", 0, space=VWW_SPACE)
    assert task.data.demo and task.data.num_train > 100
    common.run_pipeline(task, run_config(tmp_path, settings=TINY_QAT))
    record = assert_outputs(tmp_path, "vww", demo=True)
    assert 0.0 <= record["export"]["int8_accuracy"] <= 1.0
    before = stamps(tmp_path)
    capsys.readouterr()
    common.run_pipeline(task, run_config(tmp_path, settings=TINY_QAT))
    out = capsys.readouterr().out
    for stage in common.STAGES:
        assert f"{stage}: done before" in out, out
    assert stamps(tmp_path) == before
    # A later stage alone reads the earlier ones' records; changed search settings rerun the search.
    changed = run_config(tmp_path, stages=("search",), settings=dataclasses.replace(TINY_QAT, space_samples=5))
    common.run_pipeline(task, changed)
    assert "search: done before" not in capsys.readouterr().out
    assert common.read_record(tmp_path, "search")["settings"]["space_samples"] == 5


def test_vww_image_folders_end_to_end(tmp_path):
    root = fixtures.vww_folders(tmp_path / "vww_data", per_class=12)
    task = vww.make_task(str(root), "full", 0, space=VWW_SPACE)
    assert not task.data.demo and (task.data.num_train, task.data.num_validation) == (22, 2)
    common.run_pipeline(task, run_config(tmp_path / "out"))
    assert_outputs(tmp_path / "out", "vww", demo=False)


def test_vww_tfrecords_feed_the_pipeline(tmp_path):
    root = fixtures.vww_records(tmp_path / "records", {"train": [0, 1, 1, 0, 1], "val": [1, 0]})
    task = vww.make_task(str(root), "full", 0, space=VWW_SPACE)
    assert (task.data.num_train, task.data.num_validation) == (5, 2)
    images, labels = common.arrays(task.data.dataset("validation", False, 1))
    assert images.shape == (1, 32, 32, 3) and labels.tolist() == [1]


def test_a_stage_without_its_predecessor_is_one_clear_error(tmp_path):
    task = vww.make_task(None, "demo", 0, space=VWW_SPACE)
    with pytest.raises(common.AppError, match=r"the export stage needs the search stage's result.*add search"):
        common.run_pipeline(task, run_config(tmp_path, stages=("export",)))


def test_other_supernet_settings_in_the_same_out_dir_are_refused(tmp_path):
    task = vww.make_task(None, "demo", 0, space=VWW_SPACE)
    common.write_record(tmp_path, "train", {"settings": {**common.train_settings(task, run_config(tmp_path)),
                                                         "seed": 7}, "result": None})
    with pytest.raises(common.AppError, match="holds a supernet trained with other settings"):
        common.run_pipeline(task, run_config(tmp_path, stages=("train",)))
