"""Figures drawn from tidy result tables (theory lines, simulation markers)."""

from __future__ import annotations

import math
import textwrap

import matplotlib

matplotlib.use("Agg")  # headless: figures are written to files
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..experiments import ExperimentResult, FigureSpec  # noqa: E402

_COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def _label(name: str, kind: str) -> str:
    if not name:
        return kind
    return name if kind in name.lower() else f"{name} ({kind})"


def _style_log_axis(axis, values) -> None:
    """Readable ticks on a log axis: plain numbers at 1-2-5 when the data span under
    two decades (where default minor labels overprint), no minor labels otherwise; at
    most eight distinct values (sizes of a sweep) are each labelled where they are."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values) & (values > 0)]
    axis.set_minor_formatter(mticker.NullFormatter())
    if not values.size or np.log10(values.max() / values.min()) >= 2:
        return
    plain = mticker.FuncFormatter(lambda v, _: f"{v:g}")
    distinct = np.unique(values)
    if distinct.size <= 8 and axis is getattr(axis.axes, "xaxis", None):
        axis.set_major_locator(mticker.FixedLocator(distinct))
    else:
        axis.set_major_locator(mticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(plain)


#: On a log y axis, values below this share of the panel's largest value (the zero
#: training error of an interpolating fit, up to rounding) fall below the axis, unless
#: simulation and theory agree on them (:func:`_log_floor`).
LOG_FLOOR = 1e-8
#: Values below this share of the panel's largest value are zero up to rounding in any
#: case: the accumulated rounding error (a thousand times the float64 epsilon) of a
#: computation on numbers of the panel's size.
ROUNDING = 1e3 * np.finfo(float).eps
#: Simulation and theory "agree" on a value when they are within this factor.
AGREE = 2.0


def _log_floor(frame: pd.DataFrame) -> tuple[float, bool]:
    """The bottom of a panel's log y axis, and whether values fall below it.

    Round-off (a zero up to rounding, say 1e-32 for the training error of an
    interpolating fit) would stretch the axis over 30 decades, so values below
    LOG_FLOOR times the panel's largest value are left below the axis, except those
    confirmed as data: a simulated value and the theory at the same series and x that
    agree within a factor AGREE (a training error of 1e-9 at a small ridge, simulated
    within 1 % of the theory) are kept, down to ROUNDING times the largest value, and
    so is the theory of their series down to that level (the agreement below the usual
    floor confirms it there)."""
    theory = frame["theory"].to_numpy(float)
    emp = frame["empirical"].to_numpy(float)
    values = np.concatenate([theory, emp])
    values = values[np.isfinite(values) & (values > 0)]
    if not values.size:
        return np.nan, False
    top = values.max()
    floor = LOG_FLOOR * top
    keys = ["series", "x"]
    t = frame[np.isfinite(theory) & (theory > 0)].groupby(keys)["theory"].first()
    e = frame[np.isfinite(emp) & (emp > 0)].groupby(keys)["empirical"].first()
    pairs = pd.concat([t, e], axis=1, join="inner")
    low, high = pairs.min(axis=1), pairs.max(axis=1)
    confirmed = pairs[(high <= AGREE * low) & (low >= ROUNDING * top) & (low < floor)]
    if len(confirmed):
        # the theory of a series confirmed that low is data down to rounding
        series = confirmed.index.get_level_values("series")
        line = t[t.index.get_level_values("series").isin(series)]
        floor = min(floor, float(confirmed.to_numpy().min()),
                    float(line[line >= ROUNDING * top].min()))
    return floor, bool(values.min() < floor)


def _clip_log_y(ax, frame: pd.DataFrame) -> None:
    """Keep a log y axis on the values that carry information (see :func:`_log_floor`);
    values under the floor are left below the axis, and the legend says so."""
    floor, below = _log_floor(frame)
    if below:
        ax.set_ylim(bottom=floor / 2)
        ax.plot([], [], " ", label=f"values < {floor:.1g} (zero up to rounding) are "
                                   f"below the axis")


def _draw_panel(ax, frame: pd.DataFrame, spec: FigureSpec, panel: str = "") -> None:
    """Theory as lines, empirical values as markers with standard-error bars.

    A series' theory values are drawn as a line when the series has theory-only rows
    (a dense theory grid), or when no series of the panel has any: theory evaluated
    only at the simulated points of a series that has a dense twin elsewhere in the
    panel would only repeat that curve coarsely. A theory series with fewer than three
    points is drawn with markers (a line through one point is invisible).
    """
    names = list(dict.fromkeys(frame["series"].astype(str)))
    has_theory = np.isfinite(frame["theory"].to_numpy(float))
    has_emp = np.isfinite(frame["empirical"].to_numpy(float))
    dense = {n for n in names
             if np.any(has_theory & ~has_emp & (frame["series"].astype(str) == n).to_numpy())}
    for k, name in enumerate(names):
        color = _COLORS[k % len(_COLORS)]
        part = frame[frame["series"].astype(str) == name]
        emp = part[np.isfinite(part["empirical"].to_numpy(float))].sort_values("x")
        theory = part["theory"].to_numpy(float)
        theo = part[np.isfinite(theory) | (theory == np.inf)].sort_values("x")
        if spec.kind == "density" and len(emp) > 1:
            x = emp["x"].to_numpy(float)
            ax.bar(x, emp["empirical"], width=np.diff(x).min(), color=color, alpha=0.3,
                   edgecolor="none", label=_label(name, spec.empirical_label))
        elif len(emp):
            err = emp["stderr"].to_numpy(float)
            ax.errorbar(emp["x"], emp["empirical"],
                        yerr=np.where(np.isfinite(err), err, 0.0), fmt="o", ms=4,
                        color=color, capsize=2, label=_label(name, spec.empirical_label))
        if len(theo) and (name in dense or not dense):
            y = theo["theory"].to_numpy(float)
            infinite = y == np.inf
            style = "-" if len(theo) >= 3 else "s"
            # an infinite value (ridgeless risk at the interpolation threshold) breaks
            # the line there and is marked by a dotted vertical line
            ax.plot(theo["x"], np.where(infinite, np.nan, y), style, color=color, lw=1.6,
                    ms=7, mfc="none", label=_label(name, "theory"))
            for k, x_inf in enumerate(theo["x"].to_numpy(float)[infinite]):
                ax.axvline(x_inf, color=color, ls=":", lw=1.2,
                           label=(_label(name, "theory") + f" = ∞ at {x_inf:g}"
                                  if k == 0 else None))
    ax.set_xscale(spec.xscale)
    ax.set_yscale(spec.yscale)
    if spec.xscale == "log":
        _style_log_axis(ax.xaxis, frame["x"])
    if spec.yscale == "log":
        shown = np.concatenate([frame["theory"].to_numpy(float),
                                frame["empirical"].to_numpy(float)])
        _style_log_axis(ax.yaxis, shown)
        _clip_log_y(ax, frame)
    xlabel, ylabel = spec.panel_axes.get(panel, (spec.xlabel, spec.ylabel))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.25)
    if names:
        ax.legend(fontsize=7)


def plot_table(table: pd.DataFrame, spec: FigureSpec = FigureSpec(), title: str | None = None):
    """Draw a tidy table (columns panel, series, x, theory, empirical, stderr): one subplot
    per panel, theory as lines, empirical values as markers with standard-error bars (or
    as a histogram when ``spec.kind == "density"``). Returns the matplotlib Figure."""
    panels = list(dict.fromkeys(table["panel"].astype(str)))
    ncols = max(1, min(spec.ncols, len(panels)))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.6 * nrows), squeeze=False,
                             layout="constrained")
    for ax, panel in zip(axes.flat, panels):
        _draw_panel(ax, table[table["panel"].astype(str) == panel], spec, panel)
        if panel:
            ax.set_title(textwrap.fill(panel, 60), fontsize=9)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(textwrap.fill(title, int(9.5 * 4.6 * ncols)), fontsize=11)
    return fig


def plot_result(result: ExperimentResult):
    """Figure of one experiment result."""
    return plot_table(result.table, result.figure, title=result.title)


def save_figure(fig, path) -> None:
    fig.savefig(path, dpi=110)
    plt.close(fig)
