"""`hdeq spectrum`: a limiting spectral density on a grid, optionally over a simulated draw."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from ._app import app
from ._options import check_figure_file, check_output_file

#: Largest --simulate size: one dense eigendecomposition of that size (about 5 s at
#: 4000 features on two cores, growing like the cube).
MAX_SIMULATE = 6000

console = Console()


class LawName(str, Enum):
    mp = "mp"
    sample_covariance = "sample-covariance"
    semicircle = "semicircle"


def _floats(text: str, option: str) -> np.ndarray:
    try:
        return np.array([float(v) for v in text.split(",") if v.strip()])
    except ValueError:
        raise typer.BadParameter(f"{option} must be comma-separated numbers; got {text!r}")


def build_law(law: LawName, aspect_ratio: Optional[float], scale: float,
              population: Optional[str],
              weights: Optional[str]):
    """The law object named on the command line (ValueError on bad parameters)."""
    import hdeq

    if law is not LawName.sample_covariance and (population or weights):
        raise typer.BadParameter("--population and --weights apply to sample-covariance only")
    if law is LawName.semicircle and aspect_ratio is not None:
        raise typer.BadParameter("--aspect-ratio applies to mp and sample-covariance only")
    aspect_ratio = 0.5 if aspect_ratio is None else aspect_ratio
    if law is LawName.mp:
        return hdeq.MarchenkoPastur(aspect_ratio, scale=scale)
    if law is LawName.semicircle:
        return hdeq.Semicircle(scale)
    if population is None:
        raise typer.BadParameter("sample-covariance needs --population (e.g. '1,4')")
    values = _floats(population, "--population")
    pop = values if weights is None else (values, _floats(weights, "--weights"))
    return hdeq.SampleCovarianceLaw(pop, aspect_ratio)


@app.command()
def spectrum(
    law: LawName = typer.Argument(..., help="Which law."),
    aspect_ratio: Optional[float] = typer.Option(
        None, "--aspect-ratio", "-c",
        help="n_features / n_samples (mp, sample-covariance; default 0.5)."),
    scale: float = typer.Option(1.0, "--scale", help="Entry variance (mp) or radius/2 "
                                                      "(semicircle)."),
    population: Optional[str] = typer.Option(None, "--population",
                                             help="Population eigenvalues, e.g. '1,4'."),
    weights: Optional[str] = typer.Option(None, "--weights",
                                          help="Their weights, e.g. '0.5,0.5' (default equal)."),
    points: int = typer.Option(400, "--points", min=10, help="Grid size."),
    simulate: int = typer.Option(0, "--simulate", min=0, max=MAX_SIMULATE,
                                 help="Also draw one finite matrix with this many features "
                                      "and show its eigenvalue histogram."),
    seed: int = typer.Option(0, "--seed"),
    png: Optional[Path] = typer.Option(None, "--png", help="Save the figure here."),
    csv: Optional[Path] = typer.Option(None, "--csv", help="Save the table here."),
):
    """Print the support, atoms and moments of a law; save its density on a grid."""
    from ..report import SpectrumDisplay

    check_figure_file(png, "--png")
    check_output_file(csv, "--csv")
    try:
        obj = build_law(law, aspect_ratio, scale, population, weights)
        eig = None
        if simulate:
            with console.status(f"drawing one {law.value} matrix with {simulate} features ..."):
                eig = obj.sample(simulate, seed=seed)
        display = SpectrumDisplay.from_law(obj, n_points=points, eigenvalues=eig,
                                           label=law.value)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2)

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
        display.table().to_csv(csv, index=False)
        console.print(f"table written to {csv}")
    if png is not None:
        from ..report import save_figure

        ax = display.plot()
        ax.set_title(f"{law.value} law" + (f" over one draw with {simulate} features"
                                           if simulate else ""))
        save_figure(ax.figure, png)
        console.print(f"figure written to {png}")
