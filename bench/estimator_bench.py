"""TinyNAS cost model speed: estimator time per candidate and evolutionary-search throughput.

    python bench/estimator_bench.py [--space mcunet|tiny] [--candidates N] [--json]

Rows: the fast `Estimator` cold (empty caches, lowering every new op signature), warmer (the next
candidates, lowerings cached where already seen), steady state (every op signature lowered, as in a
long search) and the reference path `compile_graph(subnet_graph(c))` it must equal;
then an evolution (proxy fitness, so the figure is the search machinery's own cost) in candidates/s.
Times are medians per candidate, in milliseconds, on this machine's shared CPUs.
"""

from __future__ import annotations

import json
import pathlib
import statistics
import sys
import time

from absl import app, flags

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np

from engine.compile import compile_graph
from mcunet_tf.config import SearchSpace
from mcunet_tf.estimator import Estimator, program_cost, subnet_graph
from mcunet_tf.search import Budget, EvolutionSettings, evolve

_SPACE = flags.DEFINE_enum("space", "mcunet", ["mcunet", "tiny"], "search space to sample")
_CANDIDATES = flags.DEFINE_integer("candidates", 200, "candidates timed per row")
_JSON = flags.DEFINE_bool("json", False, "print JSON instead of a table")

SPACES = {
    "mcunet": SearchSpace(),  # MCUNet's ImageNet space: widths 0.5-1.0, resolutions 96-176
    "tiny": SearchSpace(width_choices=(0.25, 0.35), resolution_choices=(32, 48), num_classes=4,
                        stage_channels=(24, 40, 80, 96), stage_strides=(2, 2, 2, 1), depth_choices=(2, 3)),
}
BUDGETS = {"mcunet": Budget(320 * 1024, 1024 * 1024), "tiny": Budget(24 * 1024, 160 * 1024)}


def _timed(fn, items) -> list[float]:
    times = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - start)
    return times


def measure(space: SearchSpace, budget: Budget, candidates: int) -> dict:
    rng = np.random.default_rng(0)
    configs = [space.sample(rng) for _ in range(2 * candidates)]
    estimator = Estimator()
    cold = _timed(estimator.cost, configs[:candidates])
    warm = _timed(estimator.cost, configs[candidates:])  # new configs, lowerings cached where seen
    # Every op signature already lowered (a long search's steady state); graph_cost skips the config cache.
    steady = _timed(lambda c: estimator.graph_cost(subnet_graph(c)), configs[candidates:])
    reference = configs[candidates:candidates + max(candidates // 10, 5)]
    full = _timed(lambda c: program_cost(compile_graph(subnet_graph(c))), reference)
    equal = all(program_cost(compile_graph(subnet_graph(c))) == estimator.cost(c) for c in reference)
    settings = EvolutionSettings(population=50, generations=10, seed=0)
    fitness = lambda c: sum(map(sum, c.kernels)) + sum(map(sum, c.expands))
    start = time.perf_counter()
    result = evolve(space, budget, fitness, settings, estimator=Estimator(), progress=False)
    seconds = time.perf_counter() - start
    evaluated = result.log[-1]["evaluated"] + result.log[-1]["rejected"]
    ms = lambda ts: round(1000 * statistics.median(ts), 3)
    return {
        "estimator_cold_ms": ms(cold), "estimator_warm_ms": ms(warm), "estimator_steady_ms": ms(steady),
        "compile_graph_ms": ms(full), "speedup_steady": round(statistics.median(full) / statistics.median(steady), 1),
        "fast_path_equals_compile_graph": equal, "equality_checked": len(reference),
        "search_candidates": evaluated, "search_seconds": round(seconds, 2),
        "search_candidates_per_s": round(evaluated / seconds, 1),
        "candidates": candidates, "budget": {"sram_bytes": budget.sram_bytes, "flash_bytes": budget.flash_bytes},
    }


def table(space: str, row: dict) -> str:
    lines = [f"space {space}: {row['candidates']} candidates per row (median per candidate)",
             f"  estimator, cold caches   {row['estimator_cold_ms']:>9.3f} ms",
             f"  estimator, warmer caches {row['estimator_warm_ms']:>9.3f} ms (second {row['candidates']} candidates)",
             f"  estimator, steady state  {row['estimator_steady_ms']:>9.3f} ms (every op signature lowered)",
             f"  compile_graph reference  {row['compile_graph_ms']:>9.3f} ms "
             f"({row['speedup_steady']}x the steady state)",
             f"  fast path == compile_graph on {row['equality_checked']} subnets: "
             f"{row['fast_path_equals_compile_graph']}",
             (f"  evolution: {row['search_candidates']} candidates (evaluated + rejected) in {row['search_seconds']} s"
              f" = {row['search_candidates_per_s']} candidates/s")]
    return "\n".join(lines)


def main(argv):
    del argv
    row = measure(SPACES[_SPACE.value], BUDGETS[_SPACE.value], _CANDIDATES.value)
    print(json.dumps(dict(row, space=_SPACE.value), indent=2) if _JSON.value else table(_SPACE.value, row))


if __name__ == "__main__":
    app.run(main)
