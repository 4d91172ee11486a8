"""Compiled candidate scoring: BatchNorm re-estimation plus accuracy of inherited subnets.

`CompiledFitness(supernet, data, calibration, bn_steps)` scores a subnet as
`accuracy_fitness(..., step="eager")` does (extract, `recalibrate_bn` on `bn_steps` calibration
batches, top-1 accuracy on `data`), without building a Keras model per candidate: one `tf.function`
runs the supernet on the architecture as a tensor (`Supernet.encode`), collects every BatchNorm's
batch mean and biased variance over the calibration batches (upstream layers normalised by batch
statistics, as `recalibrate_bn` does), averages them, and counts the correct predictions on the
validation set normalised by those statistics. The graph is traced once for all candidates.

`score_many(configs)` spreads candidates over the strategy's replicas: each replica scores its
own candidate on the whole (replicated) calibration and validation data, and the accuracies are
gathered from every replica (`Strategy.gather`), so evolution scores a population R at a time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from mcunet_tf.config import SubnetConfig  # noqa: E402


class ScoringError(ValueError):
    """The scoring data is empty or malformed; the message says which."""


def _images_labels(batch):
    if isinstance(batch, (tuple, list)):
        return batch[0], (batch[1] if len(batch) > 1 else None)
    return batch, None


def _calibration_groups(calibration, steps: int) -> tuple[tf.Tensor, ...]:
    """The first `steps` batches, stacked by shape: (group of equal-shaped batches, ...) in order."""
    groups: list[list[tf.Tensor]] = []
    for batch in calibration.take(steps):
        images, _ = _images_labels(batch)
        images = tf.cast(images, tf.float32)
        if groups and groups[-1][0].shape == images.shape:
            groups[-1].append(images)
        else:
            groups.append([images])
    if not groups:
        raise ScoringError("CompiledFitness: the calibration data yielded no batches")
    return tuple(tf.stack(group) for group in groups)


def _validation_chunks(data, eval_steps: int | None, chunk: int):
    """All validation examples as (images [c, chunk, ...], labels [c, chunk], mask [c, chunk], count)."""
    images, labels = [], []
    for batch in data if eval_steps is None else data.take(eval_steps):
        x, y = _images_labels(batch)
        if y is None:
            raise ScoringError("CompiledFitness: validation batches must be (images, labels)")
        images.append(tf.cast(x, tf.float32).numpy())
        labels.append(np.reshape(np.asarray(y), [-1]).astype(np.int64))
    if not images:
        raise ScoringError("CompiledFitness: the validation data yielded no examples")
    x, y = np.concatenate(images), np.concatenate(labels)
    count = len(y)
    chunks = -(-count // chunk)
    pad = chunks * chunk - count
    x = np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)]).reshape(chunks, chunk, *x.shape[1:])
    mask = np.concatenate([np.ones(count, np.float32), np.zeros(pad, np.float32)]).reshape(chunks, chunk)
    y = np.concatenate([y, np.zeros(pad, y.dtype)]).reshape(chunks, chunk)
    return tf.constant(x), tf.constant(y), tf.constant(mask), count


class CompiledFitness:
    """Fitness of subnets: top-1 accuracy after BatchNorm re-estimation, in one compiled graph.

    Args:
        supernet: a trained `Supernet`.
        data: (images, labels) batches to score on (the validation split).
        calibration: batches for the BatchNorm re-estimation (default: `data`).
        bn_steps: calibration batches used.
        eval_steps: validation batches scored (None: all of `data`).
        strategy: replicas to spread candidates over (default: the current strategy).
        chunk: validation examples per forward pass (inference batches are independent of size).

    Calling it with a config returns the accuracy; `score_many` scores a list.
    """

    def __init__(self, supernet, data, calibration=None, bn_steps: int = 10, eval_steps: int | None = None,
                 strategy: tf.distribute.Strategy | None = None, chunk: int = 250):
        if bn_steps < 1:
            raise ScoringError(f"CompiledFitness: bn_steps must be >= 1, got {bn_steps}")
        self.supernet = supernet
        self.strategy = strategy or tf.distribute.get_strategy()
        self.calibration = _calibration_groups(data if calibration is None else calibration, bn_steps)
        self.batches = sum(int(group.shape[0]) for group in self.calibration)
        first = next(iter(data.take(1)))
        chunk = max(1, min(chunk, int(_images_labels(first)[0].shape[0]) * 8))
        self.images, self.labels, self.mask, self.count = _validation_chunks(data, eval_steps, chunk)
        self.function = tf.function(self._distributed, autograph=False)

    @property
    def traces(self) -> int:
        return self.function.experimental_get_tracing_count()

    def __call__(self, config: SubnetConfig) -> float:
        return self.score_many([config])[0]

    def score_many(self, configs: Sequence[SubnetConfig]) -> list[float]:
        """Accuracies of `configs`, scored `num_replicas_in_sync` at a time."""
        replicas = self.strategy.num_replicas_in_sync
        archs = [self.supernet.encode(config) for config in configs]
        scores: list[float] = []
        for start in range(0, len(archs), replicas):
            group = archs[start:start + replicas]
            padded = np.stack(group + [group[-1]] * (replicas - len(group)))
            values = self.strategy.experimental_distribute_values_from_function(
                lambda context, padded=padded: tf.constant(padded[context.replica_id_in_sync_group]))
            correct = self.function(values).numpy()
            scores += [float(c) / self.count for c in correct[:len(group)]]
        return scores

    def _distributed(self, arch):
        per_replica = self.strategy.run(self._correct, args=(arch,))
        return self.strategy.gather(per_replica, axis=0)

    def _correct(self, arch):
        """Correct predictions (shape [1]) of `arch` after re-estimating its BatchNorm statistics."""
        supernet = self.supernet
        sums = [tf.zeros((2, bn.max_channels), tf.float32) for bn in supernet.batch_norms()]
        for group in self.calibration:
            def collect(index, totals, group=group):
                _, stats = supernet.forward(group[index], arch, mode="collect")
                return index + 1, [a + b for a, b in zip(totals, stats, strict=True)]

            count = tf.shape(group)[0]
            _, sums = tf.while_loop(lambda index, _, count=count: index < count, collect, (tf.constant(0), sums))
        stats = [total / float(self.batches) for total in sums]

        def evaluate(index, correct):
            logits = supernet.forward(self.images[index], arch, mode="given", stats=stats)
            hits = tf.cast(tf.equal(tf.argmax(logits, axis=-1), self.labels[index]), tf.float32)
            return index + 1, correct + tf.reduce_sum(hits * self.mask[index])

        _, correct = tf.while_loop(lambda index, _: index < tf.shape(self.images)[0], evaluate,
                                   (tf.constant(0), tf.constant(0.0)))
        return tf.reshape(correct, [1])
