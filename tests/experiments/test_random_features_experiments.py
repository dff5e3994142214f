"""The random-feature experiments run (quick), pass their own agreement checks, and their
tables follow the registry convention."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from hdeq.experiments import registered
from hdeq.experiments.random_features import (rf_mnist_double_descent,
                                              rff_mnist_double_descent)


@pytest.mark.simulation
@pytest.mark.parametrize("run", [rf_mnist_double_descent, rff_mnist_double_descent])
def test_quick_experiment(run, check_readable):
    with threadpool_limits(1, user_api="blas"):
        result = run(True, 0)
    assert result.passed, [a.to_dict() for a in result.agreement]
    check_readable(result)
    table = result.table
    sim = table[np.isfinite(table["empirical"])]
    assert len(sim) > 0 and np.all(np.isfinite(sim["theory"]))
    assert np.all(table["theory"] > 0)
    # the theory's sharpest test-error peak sits at the interpolation threshold x = 1
    test = table[(table["series"] == "test") & table["empirical"].isna()
                 & table["panel"].str.endswith("0.0001")]
    assert len(test) >= 5                            # extra theory points near the peak
    for _, panel in test.groupby("panel"):
        assert panel["x"].to_numpy()[np.argmax(panel["theory"].to_numpy())] == \
            pytest.approx(1.0, rel=0.15)


def test_registered():
    names = registered()
    assert "rf_mnist_double_descent" in names and "rff_mnist_double_descent" in names
