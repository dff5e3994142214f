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


def write_result(result: ExperimentResult, out_dir: Path) -> dict:
    """Write ``NAME.png`` and ``NAME.csv`` for one result; return its summary entry."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result.table.to_csv(out_dir / f"{result.name}.csv", index=False)
    save_figure(plot_result(result), out_dir / f"{result.name}.png")
    return {
        "name": result.name,
        "title": result.title,
        "passed": result.passed,
        "agreement": [a.to_dict() for a in result.agreement],
        "figure": f"{result.name}.png",
        "table": f"{result.name}.csv",
    }


def write_report(entries: list[dict], results: dict[str, ExperimentResult], out_dir: Path,
                 *, quick: bool, seed: int, failures: dict[str, str] | None = None) -> None:
    """Write ``report.md`` and ``summary.json`` from the per-experiment entries."""
    out_dir = Path(out_dir)
    failures = failures or {}
    summary = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "quick": quick,
        "seed": seed,
        "python": platform.python_version(),
        "experiments": entries,
        "errors": failures,
        "all_passed": all(e["passed"] for e in entries) and not failures,
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))

    lines = ["# hdeq reproduce", "",
             f"Run {'--quick' if quick else 'on embedded defaults'} with seed {seed}, "
             f"{summary['created']}. Each section shows theory beside simulation; the "
             "agreement statistics are compared with the stated tolerances.", "",
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
        res = results[e["name"]]
        lines += [f"## {res.title} (`{res.name}`)", "", res.summary.strip(), "",
                  f"![{res.name}]({e['figure']})", "", f"Data: [{e['table']}]({e['table']})", ""]
        for a in res.agreement:
            if a.description:
                lines.append(f"- *{a.statistic}*: {a.description}")
        lines.append("")
    (out_dir / "report.md").write_text("\n".join(lines))
