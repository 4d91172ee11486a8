"""Plots of the search (matplotlib, Agg backend: files only, no display needed)."""

from __future__ import annotations

import pathlib


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_space_cdfs(choice, budget, path) -> pathlib.Path:
    """One MACs CDF per (width, resolution): fraction of satisfying subnets with at most x MACs.

    Curves further right hold larger feasible models; the chosen pair is drawn thick.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for score in choice.scores:
        if not score.macs:
            continue
        macs = [m / 1e6 for m in score.macs]
        y = [(i + 1) / len(macs) for i in range(len(macs))]
        chosen = (score.width, score.resolution) == (choice.width, choice.resolution)
        ax.step(macs, y, where="post", linewidth=2.8 if chosen else 1.2,
                label=f"{score.label} ({score.satisfying:.0%} fit, {choice.criterion} {score.score / 1e6:.2f}M)"
                      + (" chosen" if chosen else ""))
    ax.set_xlabel("MACs of subnets within budget (millions)")
    ax.set_ylabel("cumulative fraction of satisfying subnets")
    ax.set_title(f"Search-space optimisation: SRAM <= {budget.sram_bytes / 1024:.0f} KiB, "
                 f"Flash <= {budget.flash_bytes / 1024:.0f} KiB")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, plt, path)


def plot_population(history, path, x: str = "macs") -> pathlib.Path:
    """Every generation's population: fitness vs MACs (or SRAM, `x="sram"`), coloured by generation."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    cmap = plt.get_cmap("viridis")
    last = max(len(history) - 1, 1)
    for generation, population in enumerate(history):
        xs = [(c.cost.macs / 1e6 if x == "macs" else c.cost.sram_bytes / 1024) for c in population]
        ax.scatter(xs, [c.accuracy for c in population], s=12, color=cmap(generation / last), alpha=0.7)
    mappable = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, len(history) - 1))
    fig.colorbar(mappable, ax=ax, label="generation")
    ax.set_xlabel("MACs (millions)" if x == "macs" else "SRAM: engine arena (KiB)")
    ax.set_ylabel("fitness (validation accuracy)")
    ax.set_title("Evolutionary search: population per generation")
    ax.grid(alpha=0.3)
    return _save(fig, plt, path)


def _save(fig, plt, path) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
