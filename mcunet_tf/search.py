"""TinyNAS search under a microcontroller budget: search-space optimisation, then evolution.

Every cost comes from `mcunet_tf.estimator` (the engine's own memory plan and weight bytes, no
TensorFlow), so whatever this module returns compiles within the budget.

1. `optimise_space(space, budget)`: for each (width, resolution) pair, sample subnets with that width
   and resolution, keep those within the budget and score the pair by the MACs of the satisfying
   subnets (MCUNet: a space whose feasible models have more MACs tends to hold more accurate ones).
   Criterion "mean" (default): mean MACs of the satisfying subnets; "median": their median. A pair
   where fewer than `min_satisfying` of the samples fit is not eligible (evolution needs feasible
   candidates to work with).
2. `evolve(space, budget, fitness)`: evolutionary search over depths, kernels and expand ratios
   (width and resolution fixed by step 1, or searched too). Infeasible children are rejected and
   resampled, so every member of every population fits the budget.
3. `search(supernet_or_space, budget, data=...)`: both steps, with the default fitness (the subnet's
   top-1 accuracy on `data` after `extract` and `recalibrate_bn`).

`mcunet_tf.search` is both this module and, called, `search()` (see `_CallableModule`).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import sys
import types
from collections.abc import Callable, Sequence

import numpy as np

from mcunet_tf.config import SearchSpace, SubnetConfig
from mcunet_tf.estimator import Cost, Estimator

Fitness = Callable[[SubnetConfig], float]


class SearchError(ValueError):
    """The budget or the search settings admit no answer; the message says which and why."""


@dataclasses.dataclass(frozen=True)
class Budget:
    """A microcontroller's limits. Flash is `Cost.flash_bytes` (constants + kernel code).

    Attributes:
        sram_bytes: the engine's arena must fit (`Cost.sram_bytes`).
        flash_bytes: constants plus kernel code must fit (`Cost.flash_bytes`).
        max_macs: optional bound on multiply-accumulates.
        max_instructions: optional latency bound, in predicted Cortex-M7 instructions per inference
            (`Cost.instructions`; at one instruction a cycle, 216 MHz runs 216,000,000 a second).
    """

    sram_bytes: int
    flash_bytes: int
    max_macs: int | None = None
    max_instructions: int | None = None

    def __post_init__(self):
        for name in ("sram_bytes", "flash_bytes", "max_macs", "max_instructions"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise SearchError(f"Budget.{name} must be a positive int, got {value!r}")

    def fits(self, cost: Cost) -> bool:
        return not self.violations(cost)

    def violations(self, cost: Cost) -> list[str]:
        """What `cost` exceeds, e.g. ["SRAM 300,000 > 262,144"]; empty when it fits."""
        out = []
        if cost.sram_bytes > self.sram_bytes:
            out.append(f"SRAM {cost.sram_bytes:,} > {self.sram_bytes:,}")
        if cost.flash_bytes > self.flash_bytes:
            out.append(f"Flash {cost.flash_bytes:,} > {self.flash_bytes:,}")
        if self.max_macs is not None and cost.macs > self.max_macs:
            out.append(f"MACs {cost.macs:,} > {self.max_macs:,}")
        if self.max_instructions is not None and cost.instructions > self.max_instructions:
            out.append(f"instructions {cost.instructions:,} > {self.max_instructions:,}")
        return out


# ---------------------------------------------------------------- search-space optimisation


@dataclasses.dataclass(frozen=True)
class SpaceScore:
    """One (width, resolution) pair of `optimise_space`.

    Attributes:
        width, resolution: the pair.
        sampled: subnets sampled.
        macs: MACs of the satisfying subnets, ascending (their empirical CDF).
        score: the criterion's value (0 when no subnet fits).
        eligible: whether enough samples fit to choose this pair.
    """

    width: float
    resolution: int
    sampled: int
    macs: tuple[int, ...]
    score: float
    eligible: bool

    @property
    def satisfying(self) -> float:
        """Fraction of the samples within the budget."""
        return len(self.macs) / self.sampled

    @property
    def label(self) -> str:
        return f"w{self.width:g}-r{self.resolution}"


@dataclasses.dataclass(frozen=True)
class SpaceChoice:
    """The result of `optimise_space`: the best pair and every pair's score."""

    width: float
    resolution: int
    scores: tuple[SpaceScore, ...]
    criterion: str

    def best(self) -> SpaceScore:
        return next(s for s in self.scores if (s.width, s.resolution) == (self.width, self.resolution))


_CRITERIA = {"mean": lambda m: float(np.mean(m)), "median": lambda m: float(np.median(m))}


def with_width_resolution(config: SubnetConfig, width: float | None, resolution: int | None) -> SubnetConfig:
    """`config` with width and/or resolution replaced (None keeps it); same search space."""
    return dataclasses.replace(config, width=config.width if width is None else width,
                               resolution=config.resolution if resolution is None else resolution)


def optimise_space(space: SearchSpace, budget: Budget, samples: int = 1000, seed: int = 0,
                   widths: Sequence[float] | None = None, resolutions: Sequence[int] | None = None,
                   criterion: str = "mean", min_satisfying: float = 0.05,
                   estimator: Estimator | None = None, plot_path=None, progress: bool = False) -> SpaceChoice:
    """Chooses the (width, resolution) whose budget-satisfying subnets have the most MACs.

    Args:
        space: the search space (widths and resolutions default to its choices).
        budget: the microcontroller's limits.
        samples: subnets sampled per pair (the same depth/kernel/expand draws for every pair).
        seed: numpy seed of the draws.
        widths, resolutions: the grid (each value must be one of the space's choices).
        criterion: "mean" or "median" MACs of the satisfying subnets.
        min_satisfying: a pair needs at least this fraction of its samples to fit.
        estimator: reuse one to share its caches.
        plot_path: where to write the MACs CDF plot (PNG), or None.
        progress: show a tqdm bar.

    Raises:
        SearchError: unknown criterion, or no pair has enough satisfying subnets.
    """
    if criterion not in _CRITERIA:
        raise SearchError(f"optimise_space: criterion {criterion!r} is not one of {sorted(_CRITERIA)}")
    estimator = estimator or Estimator()
    rng = np.random.default_rng(seed)
    draws = [space.sample(rng) for _ in range(samples)]
    grid = [(w, r) for w in (widths or space.width_choices) for r in (resolutions or space.resolution_choices)]
    scores = [_score_pair(estimator, budget, draws, w, r, criterion, min_satisfying)
              for w, r in _maybe_tqdm(grid, progress, "spaces")]
    eligible = [s for s in scores if s.eligible]
    if not eligible:
        fits = ", ".join(f"{s.label}: {s.satisfying:.1%}" for s in scores)
        raise SearchError(f"optimise_space: no (width, resolution) has {min_satisfying:.0%} of its subnets "
                          f"within {budget} (satisfying fractions {fits})")
    best = max(eligible, key=lambda s: (s.score, -s.width, -s.resolution))
    choice = SpaceChoice(best.width, best.resolution, tuple(scores), criterion)
    if plot_path is not None:
        from mcunet_tf import plots

        plots.plot_space_cdfs(choice, budget, plot_path)
    return choice


def _score_pair(estimator, budget, draws, width, resolution, criterion, min_satisfying) -> SpaceScore:
    macs = []
    for draw in draws:
        cost = estimator.cost(with_width_resolution(draw, width, resolution))
        if budget.fits(cost):
            macs.append(cost.macs)
    macs.sort()
    eligible = bool(macs) and len(macs) >= min_satisfying * len(draws)
    score = _CRITERIA[criterion](macs) if macs else 0.0
    return SpaceScore(width, resolution, len(draws), tuple(macs), score, eligible)


def _maybe_tqdm(items, enabled: bool, desc: str):
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc)


# ---------------------------------------------------------------- evolutionary search


@dataclasses.dataclass(frozen=True)
class Genome:
    """A subnet as fixed-length genes: blocks past a stage's depth are kept (inactive) so that
    mutation and crossover work position by position, as in Once-for-All's evolution."""

    resolution: int
    width: float
    depths: tuple[int, ...]
    kernels: tuple[tuple[int, ...], ...]  # per stage, max-depth entries
    expands: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, config: SubnetConfig) -> Genome:
        space, pad = config.space, config.space.depth_choices[-1]
        fill = lambda per, first: tuple(tuple(b) + (first,) * (pad - len(b)) for b in per)
        return cls(config.resolution, config.width, config.depths, fill(config.kernels, space.kernel_choices[0]),
                   fill(config.expands, space.expand_choices[0]))

    def config(self, space: SearchSpace) -> SubnetConfig:
        cut = lambda per: tuple(b[:d] for b, d in zip(per, self.depths))
        return SubnetConfig(space, self.resolution, self.width, self.depths, cut(self.kernels), cut(self.expands))


def mutate(genome: Genome, space: SearchSpace, rng: np.random.Generator, probability: float,
           fixed: tuple[float | None, int | None] = (None, None)) -> Genome:
    """Each gene is redrawn from its choices with `probability` (width/resolution only when not fixed)."""
    def gene(value, choices):
        return choices[int(rng.integers(len(choices)))] if rng.random() < probability else value

    width = fixed[0] if fixed[0] is not None else gene(genome.width, space.width_choices)
    resolution = fixed[1] if fixed[1] is not None else gene(genome.resolution, space.resolution_choices)
    per_block = lambda per, choices: tuple(tuple(gene(v, choices) for v in b) for b in per)
    return Genome(resolution, width, tuple(gene(d, space.depth_choices) for d in genome.depths),
                  per_block(genome.kernels, space.kernel_choices), per_block(genome.expands, space.expand_choices))


def crossover(a: Genome, b: Genome, rng: np.random.Generator) -> Genome:
    """Each gene from `a` or `b` with equal odds."""
    pick = lambda x, y: x if rng.random() < 0.5 else y
    per_block = lambda p, q: tuple(tuple(map(pick, u, v)) for u, v in zip(p, q))
    return Genome(pick(a.resolution, b.resolution), pick(a.width, b.width), tuple(map(pick, a.depths, b.depths)),
                  per_block(a.kernels, b.kernels), per_block(a.expands, b.expands))


@dataclasses.dataclass(frozen=True)
class Candidate:
    config: SubnetConfig
    accuracy: float
    cost: Cost


@dataclasses.dataclass(frozen=True)
class EvolutionSettings:
    """Evolution hyper-parameters (Once-for-All's defaults, scaled down).

    Attributes:
        population: candidates per generation.
        generations: generations after the initial population.
        parent_ratio: top fraction kept as parents each generation.
        mutation_ratio: fraction of the children made by mutation (the rest by crossover).
        mutation_probability: per-gene redraw probability.
        max_tries: draws allowed to find one feasible child before giving up.
        seed: numpy seed.
    """

    population: int = 100
    generations: int = 20
    parent_ratio: float = 0.25
    mutation_ratio: float = 0.5
    mutation_probability: float = 0.1
    max_tries: int = 1000
    seed: int = 0

    def __post_init__(self):
        if self.population < 2 or self.generations < 0 or self.max_tries < 1:
            raise SearchError(f"EvolutionSettings: need population >= 2, generations >= 0, max_tries >= 1: {self}")
        if not (0 < self.parent_ratio <= 1 and 0 <= self.mutation_ratio <= 1 and 0 <= self.mutation_probability <= 1):
            raise SearchError(f"EvolutionSettings: ratios and probability must lie in [0, 1]: {self}")

    @property
    def parents(self) -> int:
        return max(2, round(self.parent_ratio * self.population))


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """The best subnet found, its figures, and the log (one dict per generation).

    `sram`, `flash` and `macs` are `Cost.sram_bytes`, `Cost.flash_bytes` and `Cost.macs`.
    """

    config: SubnetConfig
    accuracy: float
    sram: int
    flash: int
    macs: int
    log: tuple[dict, ...]
    cost: Cost
    history: tuple[tuple[Candidate, ...], ...] = ()  # the population of every generation
    space_choice: SpaceChoice | None = None


class _Evolution:
    """One run's state: the fitness cache and the feasibility-checked sampling (local, never shared)."""

    def __init__(self, space, budget, fitness, settings, estimator, fixed):
        self.space, self.budget, self.fitness, self.settings = space, budget, fitness, settings
        self.estimator, self.fixed = estimator, fixed
        self.rng = np.random.default_rng(settings.seed)
        self.scores: dict[str, float] = {}
        self.rejected = 0

    def feasible(self, make: Callable[[], Genome], what: str) -> SubnetConfig:
        """The first feasible subnet `make` produces (infeasible ones are rejected and redrawn)."""
        for _ in range(self.settings.max_tries):
            config = make().config(self.space)
            if self.budget.fits(self.estimator.cost(config)):
                return config
            self.rejected += 1
        raise SearchError(f"evolve: no {what} within {self.budget} after {self.settings.max_tries} draws "
                          f"(width {self.fixed[0]}, resolution {self.fixed[1]}); loosen the budget or narrow the space")

    def random(self) -> Genome:
        return Genome.of(with_width_resolution(self.space.sample(self.rng), *self.fixed))

    def candidates(self, configs: Sequence[SubnetConfig]) -> list[Candidate]:
        """Scores the configs not seen before (all at once when the fitness has `score_many`)."""
        fresh = list({c.to_json(): c for c in configs if c.to_json() not in self.scores}.items())
        many = getattr(self.fitness, "score_many", None)
        values = many([c for _, c in fresh]) if many and fresh else [self.fitness(c) for _, c in fresh]
        self.scores.update({key: float(value) for (key, _), value in zip(fresh, values, strict=True)})
        return [Candidate(c, self.scores[c.to_json()], self.estimator.cost(c)) for c in configs]

    def children(self, parents: list[Candidate], count: int) -> list[SubnetConfig]:
        s, genomes = self.settings, [Genome.of(p.config) for p in parents]
        n_mutate = round(s.mutation_ratio * count)
        pick = lambda: genomes[int(self.rng.integers(len(genomes)))]
        out = [self.feasible(lambda: mutate(pick(), self.space, self.rng, s.mutation_probability, self.fixed),
                             "mutation") for _ in range(n_mutate)]
        out += [self.feasible(lambda: crossover(pick(), pick(), self.rng), "crossover")
                for _ in range(count - n_mutate)]
        return out


def evolve(space: SearchSpace, budget: Budget, fitness: Fitness, settings: EvolutionSettings = EvolutionSettings(),
           width: float | None = None, resolution: int | None = None, estimator: Estimator | None = None,
           log_path=None, plot_path=None, progress: bool = True) -> SearchResult:
    """Evolutionary search for the fittest subnet within `budget`.

    Args:
        space: the search space.
        budget: every candidate (initial, mutated, crossed over) must fit; others are redrawn.
        fitness: subnet -> score to maximise (validation accuracy; tests pass a cheap proxy).
            Called once per distinct subnet; a fitness with `score_many(configs)` (the compiled
            one) gets each generation's new subnets in one call.
        settings: population, generations, ratios, mutation probability, seed.
        width, resolution: fix these genes (e.g. `optimise_space`'s choice); None searches them.
        estimator: reuse one to share its caches.
        log_path: JSON lines, one per generation: best/mean fitness and constraint figures.
        plot_path: PNG of every generation's population (accuracy vs MACs, coloured by generation).
        progress: tqdm bar over generations.

    Raises:
        SearchError: no feasible subnet found within `settings.max_tries` draws.
    """
    fixed = (width, resolution)
    run = _Evolution(space, budget, fitness, settings, estimator or Estimator(), fixed)
    population = run.candidates([run.feasible(run.random, "initial subnet") for _ in range(settings.population)])
    history, log = [tuple(population)], [_log_entry(0, population, run)]
    for generation in _maybe_tqdm(range(1, settings.generations + 1), progress, "evolution"):
        parents = sorted(population, key=lambda c: -c.accuracy)[:settings.parents]
        population = parents + run.candidates(run.children(parents, settings.population - len(parents)))
        history.append(tuple(population))
        log.append(_log_entry(generation, population, run))
    best = max((c for generation in history for c in generation), key=lambda c: c.accuracy)
    _write_log(log_path, log)
    if plot_path is not None:
        from mcunet_tf import plots

        plots.plot_population(history, plot_path)
    return SearchResult(best.config, best.accuracy, best.cost.sram_bytes, best.cost.flash_bytes, best.cost.macs,
                        tuple(log), best.cost, tuple(history))


def _log_entry(generation: int, population: Sequence[Candidate], run: _Evolution) -> dict:
    best = max(population, key=lambda c: c.accuracy)
    column = lambda f: [f(c.cost) for c in population]
    return {
        "generation": generation, "best_fitness": best.accuracy,
        "mean_fitness": float(np.mean([c.accuracy for c in population])),
        "best_config": best.config.to_dict(), "best_sram_bytes": best.cost.sram_bytes,
        "best_flash_bytes": best.cost.flash_bytes, "best_macs": best.cost.macs,
        "best_instructions": best.cost.instructions,
        "max_sram_bytes": max(column(lambda c: c.sram_bytes)), "max_flash_bytes": max(column(lambda c: c.flash_bytes)),
        "mean_macs": float(np.mean(column(lambda c: c.macs))), "evaluated": len(run.scores), "rejected": run.rejected,
        "budget": dataclasses.asdict(run.budget),
    }


def _write_log(path, log: Sequence[dict]) -> None:
    if path is None:
        return
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(entry, sort_keys=True) + "\n" for entry in log))


# ---------------------------------------------------------------- the one-call API


def accuracy_fitness(supernet, data, calibration=None, bn_steps: int = 10, eval_steps: int | None = None,
                     step: str | None = None, strategy=None) -> Fitness:
    """The default fitness: top-1 accuracy of the inherited subnet after BN recalibration.

    Args:
        supernet: a trained `Supernet`.
        data: tf.data.Dataset of (images, labels) batches to score on (the validation split).
        calibration: batches for `recalibrate_bn` (default: `data`).
        bn_steps: batches used to recalibrate BN statistics.
        eval_steps: batches scored (None: all of `data`).
        step: "compiled" (`mcunet_tf.scoring.CompiledFitness`: one traced graph for every candidate,
            populations spread over `strategy`'s replicas) or "eager" (extract + `recalibrate_bn` +
            a Keras forward per candidate, the former way); None: MCUNET_TF_STEP, else compiled.
        strategy: for the compiled fitness (default: the current strategy).
    """
    from mcunet_tf.config import step_kind_from_env

    calibration = data if calibration is None else calibration
    if (step or step_kind_from_env()) == "compiled":
        from mcunet_tf.scoring import CompiledFitness, ScoringError

        try:
            return CompiledFitness(supernet, data, calibration, bn_steps=bn_steps, eval_steps=eval_steps,
                                   strategy=strategy)
        except ScoringError as error:
            raise SearchError(str(error)) from error
    return _eager_accuracy_fitness(supernet, data, calibration, bn_steps, eval_steps)


def _eager_accuracy_fitness(supernet, data, calibration, bn_steps: int, eval_steps: int | None) -> Fitness:
    import tensorflow as tf

    from mcunet_tf.supernet import extract, recalibrate_bn

    def fitness(config: SubnetConfig) -> float:
        model = recalibrate_bn(extract(supernet, config), calibration, bn_steps)
        size = (config.resolution, config.resolution)
        correct = seen = 0
        batches = data if eval_steps is None else data.take(eval_steps)
        for images, labels in batches:
            if tuple(images.shape[1:3]) != size:
                images = tf.image.resize(images, size)
            predicted = tf.argmax(model(images, training=False), axis=-1)
            labels = tf.reshape(tf.cast(labels, predicted.dtype), [-1])
            correct += int(tf.reduce_sum(tf.cast(predicted == labels, tf.int32)))
            seen += int(labels.shape[0])
        if seen == 0:
            raise SearchError("accuracy_fitness: the dataset yielded no examples")
        return correct / seen

    return fitness


def search(supernet_or_space, budget: Budget, data=None, fitness: Fitness | None = None,
           settings: EvolutionSettings = EvolutionSettings(), optimise: bool = True, space_samples: int = 1000,
           bn_steps: int = 10, eval_steps: int | None = None, log_path=None, plot_dir=None,
           progress: bool = True) -> SearchResult:
    """TinyNAS: choose width and resolution for `budget`, then evolve the subnet.

    Args:
        supernet_or_space: a trained `Supernet` (its space is searched) or a `SearchSpace`
            (then `fitness` is required).
        budget: SRAM / Flash / optional MACs limits; the result always fits.
        data: validation batches for the default fitness (`accuracy_fitness`).
        fitness: subnet -> score to maximise; overrides the default.
        settings: evolution settings.
        optimise: run `optimise_space` first and fix its width and resolution; False searches them.
        space_samples: subnets sampled per (width, resolution) when optimising.
        bn_steps, eval_steps: for the default fitness.
        log_path: JSON lines log of the evolution.
        plot_dir: where to write space_cdf.png and population.png.
        progress: tqdm bars.

    Example:
        result = mcunet_tf.search(supernet, Budget(sram_bytes=256 * 1024, flash_bytes=1024 * 1024),
                                  data=val_batches)
    """
    space = supernet_or_space if isinstance(supernet_or_space, SearchSpace) else supernet_or_space.space
    if fitness is None:
        if isinstance(supernet_or_space, SearchSpace) or data is None:
            raise SearchError("search: pass fitness=..., or a supernet and data=... for the accuracy fitness")
        fitness = accuracy_fitness(supernet_or_space, data, bn_steps=bn_steps, eval_steps=eval_steps)
    estimator = Estimator()
    plot_dir = None if plot_dir is None else pathlib.Path(plot_dir)
    choice = None
    if optimise:
        choice = optimise_space(space, budget, samples=space_samples, seed=settings.seed, estimator=estimator,
                                plot_path=plot_dir and plot_dir / "space_cdf.png", progress=progress)
    result = evolve(space, budget, fitness, settings, width=choice and choice.width,
                    resolution=choice and choice.resolution, estimator=estimator, log_path=log_path,
                    plot_path=plot_dir and plot_dir / "population.png", progress=progress)
    return dataclasses.replace(result, space_choice=choice)


class _CallableModule(types.ModuleType):
    """Lets `mcunet_tf.search(...)` call `search()`.

    Importing `mcunet_tf.search` binds this module to the package attribute `search`, which would
    shadow a function of that name; making the module callable keeps both spellings working.
    """

    def __call__(self, *args, **kwargs) -> SearchResult:
        return search(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
