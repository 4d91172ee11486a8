"""Datasets for the mcunet apps: Speech Commands (KWS), Visual Wake Words, offline demo data."""

from mcunet_tf.datasets.errors import DatasetError
from mcunet_tf.datasets.features import FeatureConfig

__all__ = ["DatasetError", "FeatureConfig"]
