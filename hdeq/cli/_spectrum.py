"""`hdeq spectrum`: a limiting spectral density on a grid, optionally over a simulated draw."""

from __future__ import annotations

import math
from enum import Enum
from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.table import Table

from . import _progress
from ._app import app
from ._options import (NUMBERS, check_figure_file, check_table_file, choices_metavar,
                       cli_message, console, fail, parse_choice, parse_integer, parse_number,
                       parse_numbers, reject_unused, write_or_fail)

#: Largest --simulate size: one dense eigendecomposition of that size (about 5 s at
#: 4000 features on two cores, growing like the cube).
MAX_SIMULATE = 6000
#: Largest simulated matrix, n_samples x n_features entries (float64: 320 MB); the
#: Gram matrix costs about 2 n_samples n_features min(n_samples, n_features) operations.
MAX_ENTRIES = 40_000_000
#: Most relative difference allowed between the aspect ratio asked for and the one a
#: finite draw has (n_samples = round(n_features / aspect_ratio)), and the fewest
#: samples of a draw (which keeps the rounding within RATIO_RTOL).
RATIO_RTOL = 0.05
MIN_SAMPLES = 10

#: Fewest and most --points of the density grid (no figure or table shows more than a
#: million points), and the peak memory of one grid point in bytes, measured at 10^6
#: points (50 for mp and semicircle, 620 for sample-covariance) and rounded up.
MIN_POINTS = 10
MAX_POINTS = 1_000_000
BYTES_PER_POINT = {"mp": 64, "semicircle": 64, "sample-covariance": 700}

#: Library parameter names and the options that set them (for error messages).
OPTION_NAMES = {"aspect_ratio": "--aspect-ratio", "scale": "--scale",
                "population": "--population", "population[0] (values)": "--population",
                "population[1] (weights)": "--weights"}


class LawName(str, Enum):
    mp = "mp"
    sample_covariance = "sample-covariance"
    semicircle = "semicircle"


def build_law(law: LawName, aspect_ratio: Optional[float], scale: float,
              population: Optional[str], weights: Optional[str]):
    """The law object named on the command line (ValueError on bad parameters)."""
    import hdeq

    aspect_ratio = 0.5 if aspect_ratio is None else aspect_ratio
    if law is LawName.mp:
        return hdeq.MarchenkoPastur(aspect_ratio, scale=scale)
    if law is LawName.semicircle:
        return hdeq.Semicircle(scale)
    if population is None:
        fail("sample-covariance needs --population (e.g. '1,4')")
    values = parse_numbers(population, "--population")
    if weights is None:
        return hdeq.SampleCovarianceLaw(values, aspect_ratio)
    w = parse_numbers(weights, "--weights")
    if w.size != values.size:
        fail(f"--weights must have one entry per --population value ({values.size}); got "
             f"{w.size}")
    if np.any(w < 0) or abs(w.sum() - 1.0) > 1e-10:
        fail(f"--weights must be non-negative and sum to 1; got {weights!r} (sum {w.sum():g})")
    pop = (values, w)
    return hdeq.SampleCovarianceLaw(pop, aspect_ratio)


def simulation_shape(law: LawName, n_features: int, aspect_ratio: float) -> tuple[int, int]:
    """Shape (n_samples, n_features) of the matrix the law's ``sample`` draws (semicircle:
    a square n_features x n_features matrix)."""
    if law is LawName.semicircle:
        return n_features, n_features
    return max(1, int(round(n_features / aspect_ratio))), n_features


def check_simulation(law: LawName, n_features: int, aspect_ratio: float) -> None:
    """Refuse a draw that is too large, or whose aspect ratio is far from the one asked
    for (too few samples to represent it), naming the options to change."""
    if law is LawName.semicircle:
        if n_features < MIN_SAMPLES:   # p x p, bounded by MAX_SIMULATE
            fail(f"--simulate {n_features} draws a {n_features} x {n_features} matrix; at "
                 f"least {MIN_SAMPLES} are needed to show the law: raise --simulate to at "
                 f"least {MIN_SAMPLES}")
        return
    n, p = simulation_shape(law, n_features, aspect_ratio)
    effective = p / n
    off = abs(effective - aspect_ratio) > RATIO_RTOL * aspect_ratio
    if off or n < MIN_SAMPLES:
        need = math.ceil(MIN_SAMPLES * aspect_ratio)   # n_samples >= 10: ratio within 5 %
        # with p features, n = p / c >= 10 samples needs c <= p / 10
        lower = f"lower --aspect-ratio to at most {p / MIN_SAMPLES:g}"
        fix = (f"raise --simulate to at least {need} or {lower}" if need <= MAX_SIMULATE else
               f"no draw with at most {MAX_SIMULATE} features has enough: {lower} (at most "
               f"{MAX_SIMULATE / MIN_SAMPLES:g} with --simulate {MAX_SIMULATE}) or drop "
               f"--simulate")
        what = (f"whose aspect ratio is {effective:.4g}, not {aspect_ratio:g}" if off else
                f"only {n} samples (at least {MIN_SAMPLES} are needed to show the law)")
        fail(f"--simulate {p} at --aspect-ratio {aspect_ratio:g} gives a {n} x {p} matrix, "
             f"{what}; {fix}")
    if n * p > MAX_ENTRIES:
        most_p = int(math.sqrt(MAX_ENTRIES * aspect_ratio))
        least_c = p * p / MAX_ENTRIES
        fix = [f"lower --simulate to at most {most_p}"] if most_p >= 1 else []
        if least_c <= 1e6:
            fix.append(f"raise --aspect-ratio to at least {least_c:.3g}")
        fail(f"--simulate {p} at --aspect-ratio {aspect_ratio:g} draws a {n} x {p} matrix "
             f"({_count(n * p)} entries, {_progress.fmt_bytes(8.0 * n * p)}); the most is "
             f"{_count(MAX_ENTRIES)} entries: {' or '.join(fix)}")


def check_points(law: LawName, points: int) -> None:
    """Refuse a density grid larger than MAX_POINTS or than the memory this command may
    use, before computing it, naming the largest --points that fits."""
    per_point = BYTES_PER_POINT[law.value]
    budget = _progress.memory_budget()
    most = min(MAX_POINTS, budget // per_point)
    if points <= most:
        return
    why = (f"the most is {_count(MAX_POINTS)} (no figure or table shows more)"
           if most == MAX_POINTS else
           f"more than the {_progress.fmt_bytes(budget)} this command may use "
           f"({_progress.MEMORY_SHARE:.0%} of the memory available now)")
    fail(f"--points {points} asks for the {law.value} density on {_count(points)} points "
         f"(about {_progress.fmt_bytes(points * per_point)} of memory); {why}: lower "
         f"--points to at most {most}")


def _count(n: float) -> str:
    return f"{n:.3g}".replace("e+0", "e").replace("e+", "e")


@app.command()
def spectrum(
    ctx: typer.Context,
    law: str = typer.Argument(..., metavar="LAW",
                              help=f"Which law: {', '.join(m.value for m in LawName)}."),
    aspect_ratio: Optional[str] = typer.Option(
        None, "--aspect-ratio", "-c", metavar="<float>",
        help="n_features / n_samples (mp, sample-covariance; default 0.5)."),
    scale: Optional[str] = typer.Option(None, "--scale", metavar="<float>",
                                        help="Entry variance (mp) or radius/2 (semicircle); "
                                             "default 1. For sample-covariance scale "
                                             "--population instead."),
    population: Optional[str] = typer.Option(None, "--population", metavar=NUMBERS,
                                             help="sample-covariance: population eigenvalues, "
                                                  "e.g. '1,4'."),
    weights: Optional[str] = typer.Option(None, "--weights", metavar=NUMBERS,
                                          help="sample-covariance: their weights, e.g. "
                                               "'0.5,0.5' (default equal)."),
    points: str = typer.Option("400", "--points", metavar="<int>",
                               help=f"Grid size, in [{MIN_POINTS}, {MAX_POINTS}]: at least "
                                    f"this many points, with more added near the edges of "
                                    f"the support."),
    simulate: str = typer.Option("0", "--simulate", metavar="<int>",
                                 help=f"Also draw one finite matrix with this many features, "
                                      f"at most {MAX_SIMULATE} (n_features / aspect ratio "
                                      f"samples, at most {MAX_ENTRIES / 1e6:.0f} million "
                                      f"entries) and show its eigenvalue histogram."),
    seed: str = typer.Option("0", "--seed", metavar="<int>",
                             help="Seed of the --simulate draw (an integer >= 0)."),
    png: Optional[Path] = typer.Option(None, "--png", help="Save the figure here."),
    csv: Optional[Path] = typer.Option(None, "--csv", help="Save the table here."),
):
    """Support, atoms and moments of a law; its density on a grid.

    With --simulate, also the eigenvalues of one finite draw beside the density.
    """
    from ..report import SpectrumDisplay

    check_figure_file(png, "--png")
    check_table_file(csv, "--csv")
    law = parse_choice(law, "LAW", LawName)
    points = parse_integer(points, "--points", low=MIN_POINTS)
    simulate = parse_integer(simulate, "--simulate", low=0, high=MAX_SIMULATE)
    seed = parse_integer(seed, "--seed", low=0)
    check_points(law, points)
    if law is not LawName.sample_covariance:
        reject_unused(ctx, {"population": "--population", "weights": "--weights"},
                      "sample-covariance only")
    if law is LawName.semicircle:
        reject_unused(ctx, {"aspect_ratio": "--aspect-ratio"},
                      "mp and sample-covariance only")
    if law is LawName.sample_covariance:
        reject_unused(ctx, {"scale": "--scale"},
                      "mp and semicircle only (for sample-covariance, scale --population)")
    if not simulate:
        reject_unused(ctx, {"seed": "--seed"}, "--simulate only")
    ratio = parse_number(aspect_ratio, "--aspect-ratio")
    scale_value = parse_number(scale, "--scale")
    try:
        obj = build_law(law, ratio, 1.0 if scale_value is None else scale_value,
                        population, weights)
    except ValueError as exc:
        fail(cli_message(exc, OPTION_NAMES))
    eig = None
    if simulate:
        c = 0.5 if ratio is None else ratio
        check_simulation(law, simulate, c)
        n, p = simulation_shape(law, simulate, c)
        m = min(n, p)
        work = 2.0 * n * p * m + 5.0 * m ** 3
        with _progress.progress(work, f"drawing one {n} x {p} {law.value} matrix") as steps:
            steps.describe(f"drawing one {n} x {p} matrix and its eigenvalues")
            eig = obj.sample(simulate, seed=seed)
            steps.advance(work)
    display = SpectrumDisplay.from_law(obj, n_points=points, eigenvalues=eig, label=law.value)

    table = Table(title=f"{law.value} law")
    table.add_column("quantity")
    table.add_column("value")
    table.add_row("support", " ∪ ".join(f"[{a:.6g}, {b:.6g}]" for a, b in obj.support))
    table.add_row("atoms", ", ".join(f"{m:.6g} at {x:.6g}" for x, m in obj.atoms) or "none")
    table.add_row("mean", f"{obj.mean:.6g}")
    table.add_row("variance", f"{obj.var:.6g}")
    if eig is not None:
        table.add_row("simulated mean / variance", f"{eig.mean():.6g} / {eig.var():.6g}")
    console.print(table)
    if csv is not None:
        write_or_fail(lambda: display.table().to_csv(csv, index=False), csv, "--csv")
        console.print(f"table written to {csv}")
    if png is not None:
        from ..report import save_figure

        ax = display.plot()
        ax.set_title(f"{law.value} law" + (f" over one draw with {simulate} features"
                                           if simulate else ""))
        write_or_fail(lambda: save_figure(ax.figure, png), png, "--png")
        console.print(f"figure written to {png}")
