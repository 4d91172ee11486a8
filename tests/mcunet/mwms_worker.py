"""One worker of the 2-worker MultiWorkerMirroredStrategy test (TF_CONFIG set by the test).

Usage: python -m tests.mcunet.mwms_worker OUT.npz CHECKPOINT_DIR
Trains the tiny supernet for 1 step, then resumes from that checkpoint for a 2nd step, and saves
every variable after each phase (read on every worker: reads of ON_READ variables are collectives)
to OUT.npz as "step{1,2}/trainable/<i>" and "step{1,2}/stats/<i>", plus the losses and start steps.
"""

import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402

from mcunet_tf.data import synthetic_dataset  # noqa: E402
from mcunet_tf.train import TrainConfig, make_strategy, train_supernet  # noqa: E402
from tests.mcunet.conftest import tiny_space  # noqa: E402


def main(out_path: str, checkpoint_dir: str) -> None:
    strategy = make_strategy("multi_worker")  # created first: it must own the TF runtime's cluster setup
    space = tiny_space(resolution_choices=(32,), depth_choices=(1, 2), stage_channels=(24, 40, 80),
                       stage_strides=(2, 2, 2))
    arrays = {}
    for steps in (1, 2):
        cfg = TrainConfig(steps=steps, global_batch_size=8, num_random=1, checkpoint_dir=checkpoint_dir,
                          progress=False)
        result = train_supernet(space, lambda: synthetic_dataset(16, 32, space.num_classes), cfg, strategy)
        net = result.supernet
        arrays.update({f"step{steps}/trainable/{i}": v.numpy() for i, v in enumerate(net.trainable_variables)})
        arrays.update({f"step{steps}/stats/{i}": v.numpy() for i, v in enumerate(net.non_trainable_variables)})
        arrays[f"step{steps}/losses"] = result.losses
        arrays[f"step{steps}/start"] = np.int64(result.start_step)
    np.savez(out_path, **arrays)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
