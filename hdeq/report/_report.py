"""Writing experiment results to disk: per experiment a PNG and a CSV, plus report.md
and summary.json with each experiment's agreement statistics."""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from pathlib import Path

from ..experiments import ExperimentResult
from ._figures import plot_result, save_figure


def _cell(text) -> str:
    """A markdown table cell: pipes escaped (``||beta||`` must not split the cell)."""
    return str(text).replace("|", "\\|")


def _labelled(result: ExperimentResult):
    """The result table with ``x_label`` and ``y_label`` columns: what ``x`` and the
    values mean in each row's panel (the figure's axis labels), so that the CSV explains
    itself (``x`` is a time in one experiment, a sample size or N/n in others)."""
    spec = result.figure
    axes = [spec.panel_axes.get(panel, (spec.xlabel, spec.ylabel))
            for panel in result.table["panel"]]
    table = result.table.copy()
    table["x_label"] = [a[0] for a in axes]
    table["y_label"] = [a[1] for a in axes]
    return table


def write_result(result: ExperimentResult, out_dir: Path, *, quick: bool, seed: int) -> dict:
    """Write ``NAME.png``, ``NAME.csv`` and ``NAME.md`` (its report section) for one
    result; return its summary entry."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _labelled(result).to_csv(out_dir / f"{result.name}.csv", index=False)
    save_figure(plot_result(result), out_dir / f"{result.name}.png")
    lines = [f"## {result.title} (`{result.name}`)", "",
             f"Run {'--quick' if quick else 'on embedded defaults'}, seed {seed}.", "",
             result.summary.strip(), "", f"![{result.name}]({result.name}.png)", "",
             f"Data: [{result.name}.csv]({result.name}.csv)", ""]
    lines += [f"- *{a.statistic}*: {a.description}" for a in result.agreement if a.description]
    (out_dir / f"{result.name}.md").write_text("\n".join(lines) + "\n")
    return {
        "name": result.name,
        "title": result.title,
        "quick": quick,
        "seed": seed,
        "passed": result.passed,
        "agreement": [a.to_dict() for a in result.agreement],
        "figure": f"{result.name}.png",
        "table": f"{result.name}.csv",
        "section": f"{result.name}.md",
    }


def read_entries(out_dir: Path) -> list[dict]:
    """The entries of an earlier ``summary.json`` in ``out_dir`` whose files are all still
    there (empty if none)."""
    path = Path(out_dir) / "summary.json"
    try:
        entries = json.loads(path.read_text())["experiments"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    keys = ("figure", "table", "section")
    return [e for e in entries if all(k in e and (Path(out_dir) / e[k]).exists() for k in keys)]


def write_report(entries: list[dict], out_dir: Path, *,
                 failures: dict[str, str] | None = None) -> None:
    """Write ``report.md`` and ``summary.json`` from the per-experiment entries (each
    section is read from its ``NAME.md``)."""
    out_dir = Path(out_dir)
    failures = failures or {}
    summary = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "experiments": entries,
        "errors": failures,
        "all_passed": all(e["passed"] for e in entries) and not failures,
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))

    settings = sorted({("--quick" if e["quick"] else "defaults", e["seed"]) for e in entries})
    run = ("; ".join(f"{mode}, seed {seed}" for mode, seed in settings) or "nothing run")
    lines = ["# hdeq reproduce", "",
             f"{summary['created']} ({run}). Each section shows theory beside simulation; "
             "the agreement statistics are compared with the stated tolerances.", "",
             "| experiment | statistic | value | tolerance | passed |",
             "|---|---|---|---|---|"]
    for e in entries:
        for a in e["agreement"]:
            lines.append(f"| {e['name']} | {_cell(a['statistic'])} | {a['value']:.4g} | "
                         f"{a['tolerance']:.4g} | {'yes' if a['passed'] else '**no**'} |")
    for name, err in failures.items():
        lines.append(f"| {name} | error | - | - | **failed: {_cell(err)}** |")
    lines.append("")
    for e in entries:
        lines.append((out_dir / e["section"]).read_text())
    (out_dir / "report.md").write_text("\n".join(lines))
