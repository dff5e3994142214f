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
def test_quick_run_passes_and_is_tidy(run):
    result = run(True, 0)
    assert isinstance(result, ExperimentResult)
    assert list(result.table.columns[:6]) == list(TABLE_COLUMNS)
    assert result.passed, [a.to_dict() for a in result.agreement]
    assert len(result.summary) > 200 and "|" in result.summary
    sim = result.table[np.isfinite(result.table.empirical)]
    assert len(sim) > 0 and np.all(np.isfinite(result.table.theory[
        np.isfinite(result.table.theory)]))
    # the statistics are not vacuous: every tolerance is below a meaningful scale
    for a in result.agreement:
        assert 0 < a.tolerance <= 0.15


@pytest.mark.simulation
def test_same_seed_same_table():
    a = mei_montanari_curve(True, 3).table
    b = mei_montanari_curve(True, 3).table
    np.testing.assert_array_equal(a.empirical.to_numpy(), b.empirical.to_numpy())
