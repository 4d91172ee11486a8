"""Shared test fixtures: where ../shared lives, and the models in it."""

import os
import pathlib

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
MODELS = SHARED / "models"
DATA = SHARED / "data"

INT8_MODELS = {
    "kws": MODELS / "mlperf_kws_ref_model.tflite",
    "vww": MODELS / "mlperf_vww_96_int8.tflite",
    "ic": MODELS / "mlperf_ic_pretrainedResnet_quant.tflite",
    "ad": MODELS / "mlperf_ad01_int8.tflite",
}
FLOAT_MODELS = {
    "kws": MODELS / "mlperf_kws_ref_model_float32.tflite",
    "vww": MODELS / "mlperf_vww_96_float.tflite",
    "ic": MODELS / "mlperf_ic_pretrainedResnet.tflite",
    "ad": MODELS / "mlperf_ad01_fp32.tflite",
}
