"""Figures drawn from tidy result tables (theory lines, simulation markers)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")  # headless: figures are written to files
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..experiments import ExperimentResult, FigureSpec  # noqa: E402

_COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def _draw_panel(ax, frame: pd.DataFrame, spec: FigureSpec) -> None:
    series_names = list(dict.fromkeys(frame["series"].astype(str)))
    for k, name in enumerate(series_names):
        color = _COLORS[k % len(_COLORS)]
        part = frame[frame["series"].astype(str) == name]
        emp = part[np.isfinite(part["empirical"].to_numpy(float))].sort_values("x")
        theo = part[np.isfinite(part["theory"].to_numpy(float))].sort_values("x")
        label_t = f"{name} (theory)" if name else "theory"
        label_e = f"{name} (simulation)" if name else "simulation"
        if spec.kind == "density" and len(emp) > 1:
            x = emp["x"].to_numpy(float)
            widths = np.diff(x).min() if len(x) > 1 else 1.0
            ax.bar(x, emp["empirical"], width=widths, color=color, alpha=0.3,
                   edgecolor="none", label=label_e)
        elif len(emp):
            err = emp["stderr"].to_numpy(float)
            ax.errorbar(emp["x"], emp["empirical"],
                        yerr=np.where(np.isfinite(err), err, 0.0), fmt="o", ms=4,
                        color=color, capsize=2, label=label_e)
        if len(theo):
            ax.plot(theo["x"], theo["theory"], "-", color=color, lw=1.6, label=label_t)
    ax.set_xscale(spec.xscale)
    ax.set_yscale(spec.yscale)
    ax.set_xlabel(spec.xlabel)
    ax.set_ylabel(spec.ylabel)
    ax.grid(alpha=0.25)
    if series_names:
        ax.legend(fontsize=7)


def plot_table(table: pd.DataFrame, spec: FigureSpec = FigureSpec(), title: str | None = None):
    """Draw a tidy table (columns panel, series, x, theory, empirical, stderr): one subplot
    per panel, theory as lines, empirical values as markers with standard-error bars (or
    as a histogram when ``spec.kind == "density"``). Returns the matplotlib Figure."""
    panels = list(dict.fromkeys(table["panel"].astype(str)))
    ncols = max(1, min(spec.ncols, len(panels)))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.6 * nrows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        _draw_panel(ax, table[table["panel"].astype(str) == panel], spec)
        if panel:
            ax.set_title(panel, fontsize=9)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def plot_result(result: ExperimentResult):
    """Figure of one experiment result."""
    return plot_table(result.table, result.figure, title=result.title)


def save_figure(fig, path) -> None:
    fig.savefig(path, dpi=110)
    plt.close(fig)
