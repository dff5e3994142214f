"""The report layer draws and writes any tidy result table."""

import json

import numpy as np
import pytest

from hdeq.experiments import Agreement, ExperimentResult, FigureSpec, make_table
from hdeq.report import plot_table, write_report, write_result


def _result(kind="curve"):
    x = np.linspace(0.1, 2, 9)
    rows = [dict(panel="p", series="s", x=v, theory=v ** 2, empirical=v ** 2 + 0.01,
                 stderr=0.02) for v in x]
    return ExperimentResult(name="toy", title="Toy", table=make_table(rows),
                            agreement=(Agreement("max_err", 0.01, 0.05, "toy"),),
                            summary="A toy.", figure=FigureSpec(kind=kind))


def test_make_table_fills_standard_columns():
    table = make_table([dict(x=1.0, theory=2.0)])
    assert list(table.columns[:6]) == ["panel", "series", "x", "theory", "empirical", "stderr"]
    assert np.isnan(table["empirical"][0])


def test_result_requires_standard_columns():
    import pandas as pd

    with pytest.raises(ValueError, match="lacks columns"):
        ExperimentResult("bad", "Bad", pd.DataFrame({"x": [1]}), (), "")


def test_agreement_passes_only_when_finite_and_within_tolerance():
    assert Agreement("a", 0.1, 0.2).passed
    assert not Agreement("a", 0.3, 0.2).passed
    assert not Agreement("a", float("nan"), 0.2).passed


@pytest.mark.parametrize("kind", ["curve", "density"])
def test_write_result_and_report(tmp_path, kind):
    res = _result(kind)
    entry = write_result(res, tmp_path, quick=True, seed=0)
    write_report([entry], tmp_path)
    assert (tmp_path / "toy.png").stat().st_size > 1000
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["all_passed"] and summary["experiments"][0]["agreement"][0]["value"] == 0.01
    assert "Toy" in (tmp_path / "report.md").read_text()


def test_plot_table_one_axis_per_panel():
    res = _result()
    table = res.table.copy()
    table.loc[4:, "panel"] = "q"
    fig = plot_table(table, FigureSpec(ncols=3))
    assert sum(ax.get_visible() for ax in fig.axes) == 2


def test_report_table_escapes_pipes(tmp_path):
    res = _result()
    res = ExperimentResult(name="toy", title="Toy", table=res.table,
                           agreement=(Agreement("max |mean - theory|", 0.01, 0.05),),
                           summary="s")
    write_report([write_result(res, tmp_path, quick=True, seed=0)], tmp_path)
    row = [l for l in (tmp_path / "report.md").read_text().splitlines()
           if l.startswith("| toy")][0]
    cells = [c for c in row.replace("\\|", "").split("|") if c.strip()]
    assert len(cells) == 5, row


def test_theory_at_simulated_points_is_not_drawn_twice():
    x = np.linspace(1, 2, 20)
    rows = [dict(panel="p", series="test", x=v, theory=v) for v in x]
    rows += [dict(panel="p", series="test sim", x=v, theory=v, empirical=v, stderr=0.1)
             for v in x[::5]]
    fig = plot_table(make_table(rows))
    labels = [l.get_label() for l in fig.axes[0].get_lines()]
    assert "test (theory)" in labels and "test sim (theory)" not in labels
