"""Datasets for the mcunet apps: Speech Commands (KWS), Visual Wake Words, offline demo data.

Stages, one module each: `features` (FeatureConfig, tf.signal pipeline, numpy
reference), `kws` (Speech Commands -> tf.data), `vww` (VWW folders/TFRecords ->
tf.data), `demo` (offline demo folders in those layouts), `frontend_c` (the C
front end's tables and a host build). TensorFlow is imported only when a
tf.data pipeline is built.
"""

from mcunet_tf.datasets.demo import DEMO_NOTE, demo_kws, demo_vww
from mcunet_tf.datasets.errors import DatasetError
from mcunet_tf.datasets.features import FeatureConfig
from mcunet_tf.datasets.kws import (
    KwsConfig,
    index_speech_commands,
    kws_audio_dataset,
    kws_dataset,
)
from mcunet_tf.datasets.vww import VwwConfig, index_vww, vww_dataset

__all__ = [
    "DEMO_NOTE",
    "DatasetError",
    "FeatureConfig",
    "KwsConfig",
    "VwwConfig",
    "demo_kws",
    "demo_vww",
    "index_speech_commands",
    "index_vww",
    "kws_audio_dataset",
    "kws_dataset",
    "vww_dataset",
]
