"""Where the MLPerf Tiny reference models and their sample inputs are (tests, benches, fuzzers, notebooks).

The repository carries them in `models/mlperf_tiny/` (licence, upstream paths and SHA-256 sums there).
A folder named in the environment variable `MCUNET_MODELS` takes precedence: the same layout, the
`.tflite` files at its top and the inputs in `data/`. Nothing else is searched, so a missing file is
an error naming the folder, never a silent fall-back to some other copy.

    from mcunet_tf import mlperf
    graph = tflite_bridge.read(mlperf.int8_model("vww"))
"""

from __future__ import annotations

import os
import pathlib

ENV_VAR = "MCUNET_MODELS"
REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
REPO_MODELS = REPO_ROOT / "models" / "mlperf_tiny"

# task -> file name, in the order the tables list them.
INT8_FILES = {
    "kws": "mlperf_kws_ref_model.tflite",
    "vww": "mlperf_vww_96_int8.tflite",
    "ic": "mlperf_ic_pretrainedResnet_quant.tflite",
    "ad": "mlperf_ad01_int8.tflite",
}
FLOAT_FILES = {
    "kws": "mlperf_kws_ref_model_float32.tflite",
    "vww": "mlperf_vww_96_float.tflite",
    "ic": "mlperf_ic_pretrainedResnet.tflite",
    "ad": "mlperf_ad01_fp32.tflite",
}
KWS_INPUT = "kws_input_int8_1x49x10x1.npy"  # the reference submission's int8 features ("on")
MARVIN_WAV = "marvin_617de221_0.wav"  # one real Speech Commands clip
AD_FEATURES = "ad_normal_id_01_00000000_hist_librosa.bin"  # float32 log-mel of one ToyCar clip


class ModelsNotFound(FileNotFoundError):
    """The models folder (or a file in it) is missing; the message says where it looked."""


def models_dir() -> pathlib.Path:
    """The folder of the `.tflite` files: `$MCUNET_MODELS` if set, else the repository's copy.

    Raises:
        ModelsNotFound: the chosen folder does not exist (e.g. a non-editable install without
            `MCUNET_MODELS`).
    """
    override = os.environ.get(ENV_VAR)
    folder = pathlib.Path(override).expanduser() if override else REPO_MODELS
    if not folder.is_dir():
        source = f"${ENV_VAR}={override!r}" if override else "the repository's copy"
        raise ModelsNotFound(f"MLPerf Tiny models folder {folder} ({source}) does not exist; set {ENV_VAR} "
                             "to a folder holding the .tflite files (and data/), e.g. models/mlperf_tiny "
                             "of a clone of mcunet-tf")
    return folder


def data_dir() -> pathlib.Path:
    """The sample inputs: `data/` inside `models_dir()`."""
    return models_dir() / "data"


def _existing(path: pathlib.Path) -> pathlib.Path:
    if not path.is_file():
        raise ModelsNotFound(f"{path} is missing (models folder: {path.parent}; see models/mlperf_tiny/README.md)")
    return path


def int8_model(task: str) -> pathlib.Path:
    """Path of the int8 model of `task` (kws, vww, ic, ad)."""
    return _existing(models_dir() / INT8_FILES[task])


def float_model(task: str) -> pathlib.Path:
    """Path of the float twin of `task` (kws, vww, ic, ad)."""
    return _existing(models_dir() / FLOAT_FILES[task])


def sample(name: str) -> pathlib.Path:
    """Path of one sample input in `data_dir()` (e.g. `KWS_INPUT`)."""
    return _existing(data_dir() / name)
