"""Supernet training with the sandwich rule, in-place distillation, checkpoints and tf.distribute.

Each step trains, on one batch, the largest subnet, the smallest subnet and `num_random` random
subnets, sums their gradients and applies one optimizer update (BigNAS / Once-for-All sandwich rule).
With `distill=True` the non-largest subnets learn the largest subnet's softened predictions on the same
batch (in-place distillation) instead of the labels. The subnets of step `s` are drawn from
`numpy.random.default_rng([seed, s])`, so every worker and a resumed run pick the same ones.

The step is one `tf.function` (`SandwichStep`): the subnets are passed as int32 tensors
(`Supernet.encode`), the weights are sliced to each subnet's channel counts and kernel sizes at run
time and blocks past a stage's depth are skipped by `tf.cond`, so one trace per input resolution
serves every architecture and each subnet costs what its own size costs. The whole sandwich (largest,
smallest, random subnets, distillation from the largest, one optimizer update) runs in that graph
inside `strategy.run`; gradients are all-reduced by the strategy's own machinery
(`optimizer.apply_gradients` in replica context). Works with the default strategy, `MirroredStrategy`
and `MultiWorkerMirroredStrategy` (cluster from TF_CONFIG); see `make_strategy`. `TrainConfig.step =
"eager"` (or the environment variable MCUNET_TF_STEP=eager) runs the former eager step instead, for
comparison. Mixed precision (`precision="mixed_float16"` with loss scaling, or "mixed_bfloat16")
computes convolutions in 16 bits and keeps weights, BatchNorm and the loss in float32.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from typing import Callable

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from mcunet_tf.config import STEP_KINDS, SearchSpace, SubnetConfig, step_kind_from_env  # noqa: E402
from mcunet_tf.supernet import Supernet, build_supernet  # noqa: E402

PRECISIONS = {"float32": tf.float32, "mixed_float16": tf.float16, "mixed_bfloat16": tf.bfloat16}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Supernet training options.

    Attributes:
        steps: total optimizer steps (a resumed run continues up to this number).
        global_batch_size: examples per step over all replicas (a multiple of the replica count).
        learning_rate, momentum, weight_decay: SGD settings (weight decay decoupled, as in Keras SGD).
        num_random: random subnets per step besides the largest and the smallest.
        distill: train the non-largest subnets on the largest subnet's predictions.
        seed: seeds weight init and the per-step subnet choice.
        checkpoint_dir: where checkpoints go and are resumed from (None: no checkpoints).
        checkpoint_every: save every this many steps (and at the end).
        max_to_keep: checkpoints kept by the CheckpointManager.
        kernel_transform: build the supernet with Once-for-All kernel transform matrices.
        progress: show a tqdm bar (on the chief only).
        step: "compiled" (one traced graph per input resolution) or "eager" (the former step);
            None: the environment variable MCUNET_TF_STEP, else "compiled".
        precision: "float32", "mixed_float16" (with dynamic loss scaling) or "mixed_bfloat16"
            (for GPUs/TPUs: 16-bit convolutions, float32 weights, BatchNorm and loss).
    """

    steps: int
    global_batch_size: int
    learning_rate: float = 0.05
    momentum: float = 0.9
    weight_decay: float | None = None
    num_random: int = 2
    distill: bool = True
    seed: int = 0
    checkpoint_dir: str | None = None
    checkpoint_every: int = 100
    max_to_keep: int = 3
    kernel_transform: bool = False
    progress: bool = True
    step: str | None = None
    precision: str = "float32"

    def __post_init__(self):
        for name in ("steps", "global_batch_size", "checkpoint_every", "max_to_keep"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.num_random < 0:
            raise ValueError(f"TrainConfig.num_random must be >= 0, got {self.num_random}")
        if self.step is not None and self.step not in STEP_KINDS:
            raise ValueError(f"TrainConfig.step must be one of {STEP_KINDS}, got {self.step!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"TrainConfig.precision must be one of {tuple(PRECISIONS)}, got {self.precision!r}")
        if self.precision != "float32" and self.step_kind == "eager":
            raise ValueError(f"TrainConfig.precision {self.precision!r} needs the compiled step, not 'eager'")

    @property
    def step_kind(self) -> str:
        """"compiled" or "eager": `step`, else the environment variable MCUNET_TF_STEP, else compiled."""
        return self.step or step_kind_from_env()


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What `train_supernet` returns.

    Attributes:
        supernet: the trained supernet (variables live in the strategy's scope).
        start_step: the step training started from (> 0 after resuming).
        losses: per trained step, the globally averaged loss of each sandwich subnet
            (column 0: largest, 1: smallest, then the random ones).
    """

    supernet: Supernet
    start_step: int
    losses: np.ndarray


def make_strategy(kind: str = "default") -> tf.distribute.Strategy:
    """"default" (one device), "mirrored" (all local devices) or "multi_worker" (cluster from TF_CONFIG)."""
    if kind == "default":
        return tf.distribute.get_strategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    if kind == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"make_strategy: unknown kind {kind!r}; use 'default', 'mirrored' or 'multi_worker'")


def sandwich_configs(space: SearchSpace, step: int, seed: int, num_random: int) -> list[SubnetConfig]:
    """[largest, smallest, num_random random subnets] for `step`, identical on every worker."""
    rng = np.random.default_rng([seed, step])
    return [space.largest(), space.smallest()] + [space.sample(rng) for _ in range(num_random)]


def subnet_loss(labels, logits, teacher_logits, global_batch_size: int) -> tf.Tensor:
    """Cross-entropy on labels, or on the teacher's softmax when `teacher_logits` is given.

    Averaged over the global batch so that summing over replicas gives the batch mean.
    """
    if teacher_logits is None:
        per_example = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    else:
        targets = tf.nn.softmax(tf.stop_gradient(teacher_logits))
        per_example = keras.losses.categorical_crossentropy(targets, logits, from_logits=True)
    return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)


def _add_gradients(total, grads, variables):
    grads = [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(grads, variables, strict=True)]
    return grads if total is None else [a + b for a, b in zip(total, grads, strict=True)]


def replica_step(supernet, optimizer, images, labels, configs, distill: bool, global_batch_size: int):
    """One sandwich step on this replica's share of the batch; returns the per-subnet losses."""
    variables = supernet.trainable_variables
    total, losses, teacher = None, [], None
    for config in configs:
        size = (config.resolution, config.resolution)
        inputs = images if tuple(images.shape[1:3]) == size else tf.image.resize(images, size)
        with tf.GradientTape() as tape:
            logits = supernet(inputs, training=True, config=config)
            loss = subnet_loss(labels, logits, teacher, global_batch_size)
        total = _add_gradients(total, tape.gradient(loss, variables), variables)
        if distill and teacher is None:
            teacher = logits  # the largest subnet runs first
        losses.append(loss)
    optimizer.apply_gradients(zip(total, variables, strict=True))
    return tf.stack(losses)


class SandwichStep:
    """The sandwich step as one `tf.function`: every subnet of every step runs in the same graph.

    Call it with a (distributed) batch and the step's configs; it returns the globally summed
    per-subnet losses. The graph is traced once per batch shape: the architectures arrive as an
    int32 (subnets, arch length) tensor from `Supernet.encode`.
    """

    def __init__(self, supernet: Supernet, optimizer, cfg: TrainConfig, strategy: tf.distribute.Strategy):
        self.supernet, self.optimizer, self.cfg, self.strategy = supernet, optimizer, cfg, strategy
        self.compute_dtype = PRECISIONS[cfg.precision]
        self.function = tf.function(self._step, autograph=False)  # explicit tf.cond/while_loop: no conversion needed

    def __call__(self, batch, configs: list[SubnetConfig]) -> np.ndarray:
        archs = tf.constant(np.stack([self.supernet.encode(c) for c in configs]))
        images, labels = batch
        return self.function(images, labels, archs).numpy()

    @property
    def traces(self) -> int:
        """How many times the step was traced (one per batch shape)."""
        return self.function.experimental_get_tracing_count()

    def _step(self, images, labels, archs):
        per_replica = self.strategy.run(self._replica, args=(images, labels, archs))
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    def _replica(self, images, labels, archs):
        """The sandwich on this replica: a `tf.while_loop` over the subnets (one copy of the graph).

        Each iteration runs one subnet forward and backward and adds its gradients to the totals;
        iteration 0 (the largest) keeps its logits as the teacher of the others (in-place
        distillation). Iterations run in order (`parallel_iterations=1`), so the BatchNorm running
        statistics move subnet after subnet as in the eager step. One optimizer update follows.
        """
        supernet, cfg, optimizer = self.supernet, self.cfg, self.optimizer
        variables = supernet.trainable_variables
        scaled = isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer)

        def body(index, totals, teacher, losses):
            with tf.GradientTape() as tape:
                logits = supernet.forward(images, archs[index], mode="train", compute_dtype=self.compute_dtype)
                loss = subnet_loss(labels, logits, None, cfg.global_batch_size)
                if cfg.distill:
                    distilled = subnet_loss(labels, logits, teacher, cfg.global_batch_size)
                    loss = tf.where(index > 0, distilled, loss)
                objective = optimizer.get_scaled_loss(loss) if scaled else loss
            grads = tape.gradient(objective, variables)
            # A slice's gradient has the variable's size, with dimensions unknown to the tracer.
            totals = [t if g is None else t + tf.ensure_shape(g, t.shape) for t, g in zip(totals, grads, strict=True)]
            teacher = tf.where(index > 0, teacher, logits) if cfg.distill else teacher
            return index + 1, totals, teacher, losses.write(index, loss)

        members = tf.shape(archs)[0]
        teacher = tf.zeros((tf.shape(labels)[0], supernet.space.num_classes), tf.float32)
        start = (tf.constant(0), [tf.zeros_like(v) for v in variables], teacher,
                 tf.TensorArray(tf.float32, size=members))
        _, totals, _, losses = tf.while_loop(lambda index, *_: index < members, body, start, parallel_iterations=1)
        if scaled:
            totals = optimizer.get_unscaled_gradients(totals)
        optimizer.apply_gradients(zip(totals, variables, strict=True))
        return losses.stack()


def _is_chief(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "chief" or (not has_chief and resolver.task_type == "worker"
                                             and resolver.task_id == 0)


def _write_dir(strategy, checkpoint_dir: str) -> str:
    # Every worker must take part in saving (it reads distributed variables); non-chiefs write to a
    # private directory that is deleted afterwards, as the tf.distribute multi-worker guide does.
    if _is_chief(strategy):
        return checkpoint_dir
    return os.path.join(checkpoint_dir, f"workertemp_{strategy.cluster_resolver.task_id}")


def _make_state(space, cfg: TrainConfig, strategy):
    with strategy.scope():
        keras.utils.set_random_seed(cfg.seed)  # unseeded Keras initialisers draw from Python's `random`
        supernet = build_supernet(space, kernel_transform=cfg.kernel_transform)
        optimizer = keras.optimizers.SGD(cfg.learning_rate, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        if cfg.precision == "mixed_float16":
            optimizer = keras.mixed_precision.LossScaleOptimizer(optimizer)
        optimizer.build(supernet.trainable_variables)  # slots exist before restore: no deferred restore
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        checkpoint = tf.train.Checkpoint(supernet=supernet, optimizer=optimizer, step=step)
    return supernet, optimizer, step, checkpoint


def _restore(checkpoint, checkpoint_dir: str | None) -> None:
    latest = tf.train.latest_checkpoint(checkpoint_dir) if checkpoint_dir else None
    if latest:
        checkpoint.restore(latest).assert_existing_objects_matched()


def _save(manager, strategy, step: int) -> None:
    manager.save(checkpoint_number=step)
    if not _is_chief(strategy):
        shutil.rmtree(manager.directory, ignore_errors=True)


def _batches(make_dataset: Callable[[], tf.data.Dataset], strategy, cfg: TrainConfig, skip: int):
    if cfg.global_batch_size % strategy.num_replicas_in_sync:
        raise ValueError(f"global_batch_size {cfg.global_batch_size} is not a multiple of the "
                         f"{strategy.num_replicas_in_sync} replicas")

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        dataset = make_dataset().shard(context.num_input_pipelines, context.input_pipeline_id)
        batch = context.get_per_replica_batch_size(cfg.global_batch_size)
        # Skipping the batches already trained on makes a resumed run see the data it would have seen.
        return dataset.repeat().batch(batch, drop_remainder=True).skip(skip)

    return iter(strategy.distribute_datasets_from_function(dataset_fn))


def train_supernet(space: SearchSpace, make_dataset: Callable[[], tf.data.Dataset], cfg: TrainConfig,
                   strategy: tf.distribute.Strategy | None = None) -> TrainResult:
    """Trains a supernet of `space`, resuming from `cfg.checkpoint_dir` if it holds a checkpoint.

    Args:
        space: the search space.
        make_dataset: returns an unbatched, finite dataset of (image, label) at the largest resolution;
            called once per input pipeline, sharded per worker, repeated and batched here.
        cfg: training options.
        strategy: a tf.distribute strategy (default: the current one).

    Returns:
        A TrainResult; `losses` holds only the steps this call ran.
    """
    strategy = strategy or tf.distribute.get_strategy()
    supernet, optimizer, step, checkpoint = _make_state(space, cfg, strategy)
    _restore(checkpoint, cfg.checkpoint_dir)
    start = int(step.numpy())
    manager = None
    if cfg.checkpoint_dir:
        manager = tf.train.CheckpointManager(checkpoint, _write_dir(strategy, cfg.checkpoint_dir), cfg.max_to_keep)
    batches = _batches(make_dataset, strategy, cfg, start)
    if cfg.step_kind == "compiled":
        sandwich = SandwichStep(supernet, optimizer, cfg, strategy)
        run_step = lambda batch, current: sandwich(  # noqa: E731
            batch, sandwich_configs(space, current, cfg.seed, cfg.num_random))
    else:
        run_step = lambda batch, current: _distributed_step(  # noqa: E731
            strategy, supernet, optimizer, batch, cfg, current)
    losses = []
    bar = tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, desc="supernet",
               disable=not (cfg.progress and _is_chief(strategy)))
    for current in bar:
        losses.append(run_step(next(batches), current))
        step.assign(current + 1)
        bar.set_postfix(largest=f"{losses[-1][0]:.3f}", smallest=f"{losses[-1][1]:.3f}")
        if manager and ((current + 1) % cfg.checkpoint_every == 0 or current + 1 == cfg.steps):
            _save(manager, strategy, current + 1)
    return TrainResult(supernet, start, np.asarray(losses, dtype=np.float32).reshape(-1, 2 + cfg.num_random))


def _distributed_step(strategy, supernet, optimizer, batch, cfg: TrainConfig, current: int) -> np.ndarray:
    configs = sandwich_configs(supernet.space, current, cfg.seed, cfg.num_random)
    images, labels = batch
    per_replica = strategy.run(replica_step, args=(supernet, optimizer, images, labels, configs, cfg.distill,
                                                   cfg.global_batch_size))
    return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None).numpy()
