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


def test_infinite_theory_breaks_the_line_and_is_marked():
    # ridgeless test error: infinite at n = p = 10, finite on both sides
    x = np.arange(5, 16)
    theory = [np.inf if v == 10 else 1.0 / abs(v - 10.0) for v in x]
    fig = plot_table(make_table([dict(panel="p", series="ridge=0", x=v, theory=t)
                                 for v, t in zip(x, theory)]), FigureSpec(yscale="log"))
    ax = fig.axes[0]
    line = [l for l in ax.get_lines() if l.get_label() == "ridge=0 (theory)"][0]
    y = np.asarray(line.get_ydata(), float)
    assert np.isnan(y[list(x).index(10)])            # not joined across the threshold
    marks = [l for l in ax.get_lines() if "∞" in l.get_label()]
    assert len(marks) == 1 and np.allclose(marks[0].get_xdata(), 10)
    assert marks[0].get_label() == "ridge=0 (theory) = ∞ at 10"


def test_log_axis_is_not_stretched_by_round_off():
    x = np.array([5.0, 8.0, 12.0, 20.0])
    rows = [dict(panel="train", series="s", x=v, theory=t, empirical=t + e, stderr=0.0)
            for v, t, e in zip(x, [0.0, 0.0, 0.3, 0.6], [1e-32, 3e-31, 0.01, 0.01])]
    ax = plot_table(make_table(rows), FigureSpec(yscale="log")).axes[0]
    assert ax.get_ylim()[0] >= 1e-9 * 0.61
    assert any("below the axis" in t.get_text() for t in ax.get_legend().get_texts())


def test_few_log_x_values_each_get_a_label():
    rows = [dict(panel="p", series="s", x=v, theory=1.0 / v, empirical=1.0 / v, stderr=0.01)
            for v in (100, 200, 300, 600)]
    fig = plot_table(make_table(rows), FigureSpec(xscale="log"))
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert labels == ["100", "200", "300", "600"]


def test_histogram_bins_never_straddle_a_support_edge():
    from hdeq import MarchenkoPastur, SampleCovarianceLaw
    from hdeq.report import SpectrumDisplay

    for law in (SampleCovarianceLaw([1.0, 3.0, 10.0], 0.3), MarchenkoPastur(0.5)):
        display = SpectrumDisplay.from_law(law, eigenvalues=law.sample(400, seed=1))
        edges, dens = display.histogram()
        for a, b in law.support:
            for edge in (a, b):
                assert np.min(np.abs(edges - edge)) < 1e-12 * max(1.0, edge)
        # bins outside the support hold (almost) nothing: the density shown there comes
        # only from eigenvalues of the finite draw outside the limit support
        mids = (edges[1:] + edges[:-1]) / 2
        inside = np.zeros(mids.shape, bool)
        for a, b in law.support:
            inside |= (mids > a) & (mids < b)
        assert np.sum(dens[~inside] * np.diff(edges)[~inside]) < 0.02
        assert abs(np.sum(dens * np.diff(edges)) - 1.0) < 1e-12


def test_atom_is_named_in_the_legend_not_on_the_curve():
    from hdeq import MarchenkoPastur
    from hdeq.report import SpectrumDisplay

    ax = SpectrumDisplay.from_law(MarchenkoPastur(2.0), label="mp").plot()
    assert not ax.texts
    assert "atom: mass 0.5 at 0" in [t.get_text() for t in ax.get_legend().get_texts()]


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_small_values_confirmed_by_theory_are_drawn():
    # second fresh-user report, item 10: the sign panel of rf_mnist_double_descent
    # (ridge 1e-4) hid simulated training MSEs of 3.55e-8 and 1.30e-9, within 1.4 % of the
    # theory, below an axis cut at 1e-8 times the test error's peak of 9.39
    x = np.array([0.05, 0.5, 1.0, 2.0, 3.2, 5.0])
    train = [0.572, 0.177, 2.33e-3, 3.553e-8, 5.03e-9, 1.3155e-9]
    test = [0.636, 0.738, 9.39, 0.591, 0.43, 0.371]
    rows = [dict(panel="sign", series="train", x=v, theory=t) for v, t in zip(x, train)]
    rows += [dict(panel="sign", series="test", x=v, theory=t) for v, t in zip(x, test)]
    rows += [dict(panel="sign", series="train", x=v, theory=t, empirical=e, stderr=s)
             for v, t, e, s in ((2.0, 3.553e-8, 3.550e-8, 2.0e-9),
                                (5.0, 1.3155e-9, 1.298e-9, 4.2e-11))]
    ax = plot_table(make_table(rows), FigureSpec(yscale="log")).axes[0]
    assert ax.get_ylim()[0] < 1.298e-9 - 4.2e-11                 # both points on the axis
    assert not any("below the axis" in t for t in _legend(ax))
    # and the theory line of that series is drawn down to its last value
    line = [l for l in ax.get_lines() if l.get_label() == "train (theory)"][0]
    assert np.nanmin(np.asarray(line.get_ydata(), float)) >= ax.get_ylim()[0]


@pytest.mark.parametrize("theory, empirical", [
    (1.2e-30, 1.0e-30),    # rounding zeros that happen to agree: below ROUNDING
    (1e-10, 1e-12),        # a small simulated value the theory does not confirm
])
def test_unconfirmed_or_rounding_small_values_stay_below_the_axis(theory, empirical):
    x = np.array([5.0, 8.0, 12.0, 20.0])
    rows = [dict(panel="train", series="s", x=v, theory=t, empirical=e, stderr=0.0)
            for v, t, e in zip(x, [theory, theory, 0.3, 0.6], [empirical, empirical,
                                                                 0.31, 0.61])]
    ax = plot_table(make_table(rows), FigureSpec(yscale="log")).axes[0]
    assert ax.get_ylim()[0] >= 1e-8 * 0.61 / 2
    assert any("values < 6e-09 (zero up to rounding) are below the axis" in t
               for t in _legend(ax))


def test_csv_says_what_x_and_the_values_are_per_panel(tmp_path):
    # fresh-user report 4: `x` was a time in one experiment, n or N/n in others, and the
    # CSV did not say which
    import pandas as pd

    rows = [{"panel": "a", "series": "s", "x": 1.0, "theory": 2.0},
            {"panel": "b", "series": "s", "x": 1.0, "theory": 3.0}]
    spec = FigureSpec(xlabel="time t", ylabel="risk", panel_axes={"b": ("N / n", "error")})
    res = ExperimentResult("lab", "Labels", make_table(rows), (), "", spec)
    write_result(res, tmp_path, quick=True, seed=0)
    table = pd.read_csv(tmp_path / "lab.csv")
    assert list(table.x_label) == ["time t", "N / n"]
    assert list(table.y_label) == ["risk", "error"]
