"""Shared test fixtures: the MLPerf Tiny models and sample inputs (mcunet_tf.mlperf: $MCUNET_MODELS or the
repository's models/mlperf_tiny)."""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pathlib  # noqa: E402

from mcunet_tf import mlperf  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODELS = mlperf.models_dir()
DATA = mlperf.data_dir()

INT8_MODELS = {task: MODELS / name for task, name in mlperf.INT8_FILES.items()}
FLOAT_MODELS = {task: MODELS / name for task, name in mlperf.FLOAT_FILES.items()}
