"""Compiled scoring over 2 replicas (two logical CPUs under MirroredStrategy) vs one replica.

Usage: python -m tests.mcunet.replicas_worker OUT.json
Logical devices must be configured before TensorFlow initialises, hence a process of its own.
"""

import json
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from mcunet_tf.data import synthetic_dataset  # noqa: E402
from mcunet_tf.scoring import CompiledFitness  # noqa: E402
from mcunet_tf.supernet import build_supernet  # noqa: E402
from tests.mcunet.conftest import tiny_space  # noqa: E402


def main(out_path: str) -> None:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    space = tiny_space()
    with strategy.scope():
        supernet = build_supernet(space)
    data = synthetic_dataset(32, 48, space.num_classes, seed=2).batch(8)
    rng = np.random.default_rng(0)
    configs = [space.sample(rng) for _ in range(5)]  # odd: the last group is padded
    spread = CompiledFitness(supernet, data, bn_steps=2, strategy=strategy)
    alone = CompiledFitness(supernet, data, bn_steps=2, strategy=tf.distribute.OneDeviceStrategy("/cpu:0"))
    result = {"replicas": strategy.num_replicas_in_sync, "spread": spread.score_many(configs),
              "alone": [alone(config) for config in configs], "traces": spread.traces}
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1])
