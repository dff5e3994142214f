"""Experiments c, d, e (hdeq.experiments.kernels): tidy tables, honest agreement, quick."""

import numpy as np
import pytest

from hdeq.experiments import ExperimentResult
from hdeq.experiments._registry import EXPERIMENT_MODULES, TABLE_COLUMNS
from hdeq.experiments.kernels import ck_spectrum, kernel_gmm_spectrum, mei_montanari_curve


def test_module_is_registered():
    assert "hdeq.experiments.kernels" in EXPERIMENT_MODULES


@pytest.mark.simulation
@pytest.mark.parametrize("run", [mei_montanari_curve, kernel_gmm_spectrum, ck_spectrum])
def test_quick_run_passes_and_is_tidy(run, check_readable):
    result = run(True, 0)
    check_readable(result)
    assert isinstance(result, ExperimentResult)
    assert list(result.table.columns[:6]) == list(TABLE_COLUMNS)
    assert result.passed, [a.to_dict() for a in result.agreement]
    assert len(result.summary) > 200 and "|" in result.summary
    sim = result.table[np.isfinite(result.table.empirical)]
    assert len(sim) > 0 and np.all(np.isfinite(result.table.theory[
        np.isfinite(result.table.theory)]))
    # the statistics are not vacuous: every tolerance is below a meaningful scale, or the
    # statistic is a ratio |dev| / allowance (pass when <= 1) checked below
    for a in result.agreement:
        assert 0 < a.tolerance <= 0.15 or ("/ (3 stderr" in a.statistic
                                           and a.tolerance == 1.0)


@pytest.mark.simulation
def test_ratio_statistics_recomputed_from_the_table():
    """The ratio statistics |mean - theory| / (3 stderr + allowance) <= 1 are the same
    checks as |mean - theory| - 3 stderr <= allowance, with allowance C/sqrt(d) (C = 0.5)
    for Mei-Montanari and 1/sqrt(p) for the kernel spike (nothing loosened)."""
    res = mei_montanari_curve(True, 0)
    sim = res.table[np.isfinite(res.table.empirical)]
    d = int(sim.n_features.iloc[0])
    dev = np.abs(sim.empirical - sim.theory)
    stat = res.agreement[0]
    assert stat.value == pytest.approx(np.max(dev / (3 * sim.stderr + 0.5 / np.sqrt(d))))
    assert stat.passed == bool(np.all(dev - 3 * sim.stderr <= 0.5 / np.sqrt(d)))
    res = kernel_gmm_spectrum(True, 0)
    t = res.table
    n = int(t.n_samples.iloc[0])  # allowances scale with the kernel matrix dimension n
    for series, stat in (("isolated eigenvalue", res.agreement[1]),
                         ("alignment |<u, v>|²", res.agreement[2])):
        row = t[(t.series == series) & np.isfinite(t.empirical)]
        assert len(row) == 1
        dev = abs(row.empirical.iloc[0] - row.theory.iloc[0])
        se = row.stderr.iloc[0]
        assert stat.value == pytest.approx(dev / (3 * se + 1 / np.sqrt(n)))
        assert stat.passed == (dev - 3 * se <= 1 / np.sqrt(n))


@pytest.mark.simulation
def test_same_seed_same_table():
    a = mei_montanari_curve(True, 3).table
    b = mei_montanari_curve(True, 3).table
    np.testing.assert_array_equal(a.empirical.to_numpy(), b.empirical.to_numpy())
