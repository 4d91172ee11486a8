"""Per-op memory report: live bytes at every op, ours beside TFLM's, as numbers and a plot.

Series (bytes live while op k runs, 16-byte footprints):
  - ours: the compiled Program's buffers (aliases, in-place kernels, scratch);
  - ours, reordered: the same with `CompileOptions.reorder` (its own op order);
  - ours, patched: with patch-based inference (engine/patch/), where a
    patch plan applies; the patch stage's peak stands for each op inside it;
  - TFLM: one buffer per activation tensor on plain lifetimes, as TFLM's own
    planner sees them (the `TFLM` rules of engine/memory/lifetimes.py: no
    aliases, no in-place, no scratch).
Each series comes with its arena: our planner's peak, and for TFLM the peak of
the "greedy_by_size" planner on its buffers (what TFLM's GreedyMemoryPlanner
does). The lower-bound line is the live-bytes bound of our buffers: no plan of
them fits in less.
"""

from __future__ import annotations

import dataclasses
import pathlib

from engine.compile import CompileOptions, EngineError, Program, compile_graph
from engine.memory.lifetimes import TFLM, live_per_step, plan_graph
from engine.passes import reorder
from engine.patch.analysis import PatchOptions
from tflite_bridge.ir import Graph


@dataclasses.dataclass(frozen=True)
class Series:
    """Live bytes per op step of one way to run the model, and its arena.

    Attributes:
        label: legend text.
        live: bytes live while each op runs (index = step).
        arena: arena bytes of the plan.
    """

    label: str
    live: tuple[int, ...]
    arena: int


@dataclasses.dataclass(frozen=True)
class MemoryReport:
    """Everything the plot shows. `kinds` are the op kinds in the stored order."""

    name: str
    kinds: tuple[str, ...]
    series: tuple[Series, ...]
    lower_bound: int
    tflm_measured: int | None = None  # TFLM runtime's planned head, when measured
    reorder: tuple[int, ...] | None = (
        None  # stored op index run at each step, when reordered
    )

    def by_label(self, prefix: str) -> Series | None:
        return next((s for s in self.series if s.label.startswith(prefix)), None)


def program_series(program: Program, label: str) -> Series:
    """Per-op live bytes of a compiled (not patched) program."""
    return Series(
        label,
        live_per_step(program.layout.buffers, len(program.graph.ops)),
        program.arena_bytes,
    )


def patched_series(program: Program, label: str) -> Series:
    """Per-op live bytes of a patched program, mapped back onto ops.

    The patch stage runs ops[0:split] patch by patch on steps 0..steps-1, so
    each op inside it gets the stage's peak; op i >= split runs at step
    steps + i - split (engine/patch/stage.suffix_buffers).
    """
    stage = program.patch
    n = len(program.graph.ops)
    steps = live_per_step(program.layout.buffers, stage.steps + n - stage.split)
    stage_peak = max(steps[: stage.steps], default=0)
    live = [stage_peak] * stage.split + [
        steps[stage.steps + i - stage.split] for i in range(stage.split, n)
    ]
    return Series(label, tuple(live), program.arena_bytes)


def tflm_series(graph: Graph) -> Series:
    """TFLM's view: plain lifetimes, planned by greedy_by_size (its GreedyMemoryPlanner)."""
    layout, plan = plan_graph(graph, algorithm="greedy_by_size", rules=TFLM)
    return Series(
        "TFLM (plain lifetimes, greedy by size)",
        live_per_step(layout.buffers, len(graph.ops)),
        plan.peak,
    )


def memory_report(
    graph: Graph,
    options: CompileOptions | None = None,
    with_patch: bool = True,
    tflm_measured: int | None = None,
) -> MemoryReport:
    """Compiles `graph` the ways the report compares and collects their per-op figures.

    Args:
        graph: the model.
        options: compile options of "ours" (default CompileOptions(); reorder and
            patch are set per series).
        with_patch: add the patched series when a patch plan applies.
        tflm_measured: TFLM's measured planned head (`Tflm(model).arena()["head"]`), if known.
    """
    options = options or CompileOptions()
    plain = dataclasses.replace(options, reorder=False, patch=None)
    ours = compile_graph(graph, plain)
    series = [program_series(ours, "ours (per layer)")]
    reordered = compile_graph(graph, dataclasses.replace(plain, reorder=True))
    order = None
    if reordered.graph.ops != ours.graph.ops:
        series.append(program_series(reordered, "ours, reordered (own op order)"))
        order = reorder.best_order(graph, dict(enumerate(ours.calls)), plain.planner)
    if with_patch:
        patched = _patched(graph, plain, options)
        if patched is not None:
            series.append(patched_series(patched, "ours, patch-based"))
    series.append(tflm_series(graph))
    return MemoryReport(
        name=graph.name or options.name,
        kinds=tuple(op.kind for op in graph.ops),
        series=tuple(series),
        lower_bound=ours.plan.lower_bound,
        tflm_measured=tflm_measured,
        reorder=order,
    )


def _patched(
    graph: Graph, plain: CompileOptions, options: CompileOptions
) -> Program | None:
    try:
        return compile_graph(
            graph, dataclasses.replace(plain, patch=options.patch or PatchOptions())
        )
    except EngineError:  # no patch plan applies (e.g. no spatial ops): no series
        return None


# Drawn in this order, TFLM first and widest, so equal series stay visible.
_STYLES = (
    ("TFLM", "tab:red", 4.0),
    ("ours (", "tab:blue", 1.8),
    ("ours, p", "tab:purple", 1.8),
    ("ours, r", "tab:green", 1.8),
)


def plot(report: MemoryReport, path, title: str | None = None) -> pathlib.Path:
    """Writes the report as a PNG: live bytes per op (steps), arenas dashed, the bound dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(report.kinds)
    fig, ax = plt.subplots(figsize=(max(7.0, 0.3 * n + 3) + 4.5, 5.2), dpi=110)
    steps = list(range(n))
    for prefix, colour, width in _STYLES:
        for s in (s for s in report.series if s.label.startswith(prefix)):
            ax.step(
                steps,
                [b / 1024 for b in s.live],
                where="mid",
                color=colour,
                linewidth=width,
                alpha=0.45 if width > 2 else 1.0,
                label=f"{s.label}: live",
            )
            ax.axhline(
                s.arena / 1024,
                color=colour,
                linestyle="--",
                linewidth=1,
                label=f"{s.label}: arena {s.arena:,} B",
            )
    if report.tflm_measured:
        ax.axhline(
            report.tflm_measured / 1024,
            color="tab:orange",
            linestyle="-.",
            linewidth=1,
            label=f"TFLM runtime, measured head {report.tflm_measured:,} B",
        )
    ax.axhline(
        report.lower_bound / 1024,
        color="black",
        linestyle=":",
        linewidth=1.2,
        label=f"lower bound, ours in stored order {report.lower_bound:,} B",
    )
    ax.set_title(title or f"{report.name}: activation memory live at each op")
    ax.set_xlabel(
        "op: stored index and kind"
        + ("; reordered series runs op r at that step" if report.reorder else "")
    )
    ax.set_ylabel("live activation memory (KiB)")
    ax.set_ylim(bottom=0)
    ax.set_xticks(steps)
    ax.set_xticklabels(
        _tick_labels(report), rotation=70, ha="right", fontsize=7 if n > 20 else 8
    )
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    out = pathlib.Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out


def _tick_labels(report: MemoryReport) -> list[str]:
    labels = [f"{i} {kind}" for i, kind in enumerate(report.kinds)]
    if report.reorder:
        labels = [f"{label} (r: {j})" for label, j in zip(labels, report.reorder)]
    return labels


def as_dict(report: MemoryReport) -> dict:
    """JSON-ready figures: per series its live bytes per op and its arena."""
    return {
        "kinds": list(report.kinds),
        "lower_bound_bytes": report.lower_bound,
        "tflm_measured_head_bytes": report.tflm_measured,
        "reorder": list(report.reorder) if report.reorder else None,
        "series": [
            {"label": s.label, "arena_bytes": s.arena, "live_bytes": list(s.live)}
            for s in report.series
        ],
    }
