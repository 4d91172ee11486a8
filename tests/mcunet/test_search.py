"""Search-space optimisation and evolutionary search: every answer fits the budget on the engine."""

import json
import os
import subprocess
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np
import pytest

import mcunet_tf
from engine.compile import compile_graph
from mcunet_tf.estimator import Estimator, estimate, program_cost, subnet_graph
from mcunet_tf.search import (
    Budget,
    EvolutionSettings,
    Genome,
    SearchError,
    crossover,
    evolve,
    mutate,
    optimise_space,
    search,
)
from tests.mcunet.conftest import tiny_space

BUDGET = Budget(sram_bytes=24 * 1024, flash_bytes=160 * 1024)
SMALL = EvolutionSettings(population=12, generations=4, seed=3)


def proxy_fitness(config) -> float:
    """Cheap stand-in for accuracy: bigger kernels and expands score higher."""
    return sum(map(sum, config.kernels)) / 100 + sum(map(sum, config.expands)) / 50 + config.resolution / 1000


def test_budget_validation_and_violations():
    with pytest.raises(SearchError, match="sram_bytes"):
        Budget(0, 10)
    cost = estimate(tiny_space().largest())
    tight = Budget(cost.sram_bytes - 1, cost.flash_bytes, max_macs=cost.macs - 1)
    assert tight.violations(cost) == [f"SRAM {cost.sram_bytes:,} > {cost.sram_bytes - 1:,}",
                                      f"MACs {cost.macs:,} > {cost.macs - 1:,}"]
    assert Budget(cost.sram_bytes, cost.flash_bytes, cost.macs).fits(cost)
    slow = Budget(cost.sram_bytes, cost.flash_bytes, max_instructions=cost.instructions - 1)
    assert slow.violations(cost) == [f"instructions {cost.instructions:,} > {cost.instructions - 1:,}"]
    with pytest.raises(SearchError, match="max_instructions"):
        Budget(10, 10, max_instructions=0)


def test_genome_round_trip_mutation_and_crossover():
    space = tiny_space()
    rng = np.random.default_rng(0)
    a, b = space.sample(rng), space.sample(rng)
    assert Genome.of(a).config(space) == a
    assert mutate(Genome.of(a), space, rng, 0.0) == Genome.of(a)
    fixed = mutate(Genome.of(a), space, rng, 1.0, fixed=(0.35, 48)).config(space)
    assert (fixed.width, fixed.resolution) == (0.35, 48)
    child = crossover(Genome.of(a), Genome.of(b), rng)
    for gene, x, y in zip(child.depths, Genome.of(a).depths, Genome.of(b).depths):
        assert gene in (x, y)
    child.config(space)  # valid


def test_optimise_space_picks_the_highest_mean_macs_among_eligible(tmp_path):
    choice = optimise_space(tiny_space(), BUDGET, samples=60, plot_path=tmp_path / "cdf.png")
    assert (tmp_path / "cdf.png").stat().st_size > 10_000
    assert len(choice.scores) == 4
    eligible = [s for s in choice.scores if s.eligible]
    assert choice.best().score == max(s.score for s in eligible)
    for score in choice.scores:
        assert list(score.macs) == sorted(score.macs)
        if score.macs:
            assert score.score == pytest.approx(np.mean(score.macs))
    # The widest, largest pair does not always fit in 24 KiB of SRAM, the narrowest always does.
    by_label = {s.label: s for s in choice.scores}
    assert by_label["w0.35-r48"].satisfying < 1.0 == by_label["w0.25-r32"].satisfying


def test_optimise_space_raises_when_nothing_fits():
    with pytest.raises(SearchError, match="no \\(width, resolution\\)"):
        optimise_space(tiny_space(), Budget(1024, 1024), samples=10)


def test_evolution_returns_only_subnets_within_budget(tmp_path):
    space = tiny_space()
    result = evolve(space, BUDGET, proxy_fitness, SMALL, log_path=tmp_path / "log.jsonl",
                    plot_path=tmp_path / "population.png", progress=False)
    for population in result.history:
        assert len(population) == SMALL.population
        assert all(BUDGET.fits(c.cost) for c in population)
    engine = program_cost(compile_graph(subnet_graph(result.config)))
    assert engine == result.cost and BUDGET.fits(engine)
    assert (result.sram, result.flash, result.macs) == (engine.sram_bytes, engine.flash_bytes, engine.macs)
    best = [entry["best_fitness"] for entry in result.log]
    assert best == sorted(best) and result.accuracy == best[-1] == proxy_fitness(result.config)
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["generation"] for line in lines] == list(range(SMALL.generations + 1))
    assert (tmp_path / "population.png").stat().st_size > 10_000


def test_evolution_is_seeded_and_respects_fixed_genes_and_max_macs():
    space = tiny_space()
    budget = Budget(BUDGET.sram_bytes, BUDGET.flash_bytes, max_macs=1_500_000)
    runs = [evolve(space, budget, proxy_fitness, SMALL, width=0.35, resolution=48, progress=False) for _ in range(2)]
    assert runs[0].config == runs[1].config and runs[0].log == runs[1].log
    for population in runs[0].history:
        for c in population:
            assert (c.config.width, c.config.resolution) == (0.35, 48) and c.cost.macs <= 1_500_000


def test_evolution_under_a_latency_bound():
    """Half the largest subnet's predicted Cortex-M7 instructions: every candidate stays under it."""
    space = tiny_space()
    bound = Estimator().cost(space.largest()).instructions // 2
    budget = Budget(BUDGET.sram_bytes, BUDGET.flash_bytes, max_instructions=bound)
    result = evolve(space, budget, proxy_fitness, SMALL, progress=False)
    assert all(c.cost.instructions <= bound for population in result.history for c in population)
    assert 0 < result.cost.instructions <= bound and result.log[-1]["best_instructions"] == result.cost.instructions


def test_evolution_raises_on_an_impossible_budget():
    settings = EvolutionSettings(population=4, generations=1, max_tries=20)
    with pytest.raises(SearchError, match="no initial subnet within"):
        evolve(tiny_space(), Budget(1024, 1024), proxy_fitness, settings, progress=False)


def test_search_api_optimises_then_evolves(tmp_path):
    result = mcunet_tf.search(tiny_space(), BUDGET, fitness=proxy_fitness, settings=SMALL, space_samples=30,
                              plot_dir=tmp_path, progress=False)
    choice = result.space_choice
    assert (result.config.width, result.config.resolution) == (choice.width, choice.resolution)
    assert BUDGET.fits(Estimator().cost(result.config))
    assert {p.name for p in tmp_path.iterdir()} == {"space_cdf.png", "population.png"}
    with pytest.raises(SearchError, match="fitness"):
        search(tiny_space(), BUDGET)


def test_default_fitness_scores_the_inherited_subnet():
    import tensorflow as tf

    from mcunet_tf.supernet import build_supernet

    supernet = build_supernet(tiny_space())
    rng = np.random.default_rng(0)
    data = tf.data.Dataset.from_tensor_slices(
        (rng.uniform(-1, 1, (8, 48, 48, 3)).astype(np.float32), rng.integers(0, 4, 8))).batch(4)
    settings = EvolutionSettings(population=2, generations=1, seed=0)
    result = search(supernet, BUDGET, data=data, settings=settings, space_samples=8, bn_steps=1, progress=False)
    assert 0.0 <= result.accuracy <= 1.0 and result.accuracy * 8 == round(result.accuracy * 8)
    assert BUDGET.fits(result.cost)


def test_import_stays_light():
    code = "import sys, mcunet_tf; mcunet_tf.Budget(1, 1); print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
