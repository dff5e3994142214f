"""`hdeq reproduce`: run every registered experiment, theory beside simulation."""

from __future__ import annotations

import time
import traceback
import zlib
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..core._threads import small_matrix_blas
from ._app import app
from ._options import check_output_folder, console, fail, names, parse_integer, write_or_fail


def experiment_seed(seed: int, name: str) -> int:
    """Seed of one experiment: depends on the run seed and the experiment's name only,
    so `--only NAME` reproduces the numbers of the full run."""
    return int(np.random.SeedSequence([seed, zlib.crc32(name.encode())]).generate_state(1)[0])


@app.command()
def reproduce(
    quick: bool = typer.Option(False, "--quick",
                               help="Small sizes (about 10 s in all on two cores)."),
    out: Path = typer.Option(Path("hdeq-results"), "--out", help="Output folder."),
    only: Optional[List[str]] = typer.Option(
        None, "--only", metavar="<names>",
        help="Run only these experiments: comma-separated and/or repeated, e.g. "
             "'mp_density,ridge_optimal' (see --list)."),
    seed: str = typer.Option("0", "--seed", metavar="<int>",
                             help="Run seed, an integer >= 0 (each experiment derives its "
                                  "own)."),
    list_: bool = typer.Option(False, "--list", help="List the experiments and exit."),
    strict: bool = typer.Option(False, "--strict",
                                help="Exit with status 1 when an agreement check fails."),
):
    """Run the experiments: theory beside simulation.

    Writes, per experiment, a PNG and a CSV (parameters, theory, empirical, stderr),
    plus report.md and summary.json.

    With --only, the experiments run are added to (or replace their sections in) the
    report already in --out, so a full report is never cut down to one experiment.
    """
    from ..experiments import registered
    from ..report import read_entries, write_report, write_result

    seed = parse_integer(seed, "--seed", low=0)
    experiments = order = registered()
    if list_:
        listing = Table.grid(padding=(0, 2))
        listing.add_column(no_wrap=True, style="bold")
        listing.add_column()
        for name, exp in experiments.items():
            listing.add_row(name, exp.title)
        console.print(listing)
        raise typer.Exit(0)
    only = names(only, "--only")
    if only:
        unknown = [n for n in only if n not in experiments]
        if unknown:
            fail(f"unknown experiment{'s' if len(unknown) > 1 else ''} for --only: "
                 f"{', '.join(unknown)}; known: {', '.join(experiments)}")
        experiments = {n: experiments[n] for n in dict.fromkeys(only)}

    check_output_folder(out, "--out")
    entries, failures, timings = [], {}, {}
    progress = Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                        TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                        console=console, transient=False)
    # One BLAS thread: the experiments do many small eigendecompositions, for which
    # threads only add contention (multi-threaded OpenBLAS was seen to thrash on a
    # loaded 2-core machine, 20x slower).
    with progress, small_matrix_blas():
        task = progress.add_task("experiments", total=len(experiments))
        for name, exp in experiments.items():
            progress.update(task, description=f"{name}")
            start = time.perf_counter()
            try:
                result = exp.run(quick, experiment_seed(seed, name))
                entry = write_result(result, out, quick=quick, seed=seed)
            except Exception as exc:  # one broken experiment must not hide the others
                failures[name] = f"{type(exc).__name__}: {exc}"
                (out / f"{name}.error.txt").write_text(traceback.format_exc())
            else:
                timings[name] = time.perf_counter() - start
                entry["seconds"] = round(timings[name], 3)
                entries.append(entry)
            progress.advance(task)
    run_entries = entries
    if only:  # keep the other experiments of an earlier run in the same folder
        kept = [e for e in read_entries(out) if e["name"] not in experiments]
        entries = sorted(kept + entries, key=lambda e: list(order).index(e["name"])
                         if e["name"] in order else len(order))
    write_or_fail(lambda: write_report(entries, out, failures=failures), out / "report.md",
                  "--out")

    # one section per experiment (its name on a row of its own, so that no name is cut
    # at 80 columns), its statistics below
    table = Table(title=f"hdeq reproduce{' --quick' if quick else ''}: {out}/report.md")
    table.add_column("experiment / statistic", ratio=1, overflow="fold")
    for col in ("value", "tolerance", "ok"):
        table.add_column(col, no_wrap=True, justify="right" if col != "ok" else "left")
    for e in run_entries:
        table.add_row(f"[bold]{e['name']}[/bold] ({e['seconds']:.1f} s)", "", "", "",
                      end_section=False)
        for k, a in enumerate(e["agreement"]):
            table.add_row(f"  {a['statistic']}", f"{a['value']:.3g}", f"{a['tolerance']:.3g}",
                          "yes" if a["passed"] else "[red]no[/red]",
                          end_section=k == len(e["agreement"]) - 1)
    for name, err in failures.items():
        table.add_row(f"[bold]{name}[/bold]", "-", "-", "[red]error[/red]", end_section=True)
    console.print(table)
    if failures:
        console.print(f"[red]{len(failures)} experiment(s) raised; see {out}/*.error.txt[/red]")
        raise typer.Exit(1)
    if strict and not all(e["passed"] for e in run_entries):
        raise typer.Exit(1)
