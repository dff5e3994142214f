"""The issue-2 experiments of `hdeq reproduce` (hdeq/experiments/spectra.py), quick mode."""

import numpy as np
import pytest

from hdeq.experiments import registered
from hdeq.experiments.spectra import kolmogorov_distance
from hdeq.laws import MarchenkoPastur, SampleCovarianceLaw

NAMES = ("mp_density", "generalized_mp", "mnist_spectrum", "resolvent_traces")


@pytest.fixture(scope="module")
def results():
    experiments = registered()
    return {name: experiments[name].run(True, 0) for name in NAMES}


@pytest.mark.simulation
@pytest.mark.parametrize("name", NAMES)
def test_quick_run_table_and_agreement(results, name, check_readable):
    result = results[name]
    check_readable(result)
    table = result.table
    for col in ("panel", "series", "x", "theory", "empirical", "stderr"):
        assert col in table.columns
    theory = table["theory"].to_numpy(float)
    empirical = table["empirical"].to_numpy(float)
    assert np.isfinite(theory).sum() > 5 and np.isfinite(empirical).sum() > 5
    assert np.all(np.isfinite(theory[~np.isnan(theory)]))
    assert result.agreement and all(a.tolerance > 0 for a in result.agreement)
    failed = [a.to_dict() for a in result.agreement if not a.passed]
    assert not failed, failed
    assert len(result.summary) > 200 and "|" in result.summary


@pytest.mark.simulation
def test_density_experiments_histograms_integrate_to_continuous_mass(results):
    # the histogram rows are densities of the non-zero eigenvalues normalized by p:
    # they integrate to the fraction of non-zero eigenvalues
    table = results["mp_density"].table
    panel = [p for p in table["panel"].unique() if p.startswith("aspect ratio c = 2")][0]
    hist = table[(table["panel"] == panel) & table["empirical"].notna()].sort_values("x")
    width = np.diff(hist["x"].to_numpy()).mean()
    assert abs(hist["empirical"].sum() * width - 0.5) < 1e-9  # c = 2: half are zero
    # the atom's mass, theory vs fraction of zero eigenvalues (parameter columns)
    for c, atom in ((0.25, 0.0), (1.0, 0.0), (2.0, 0.5)):
        rows = table[table["aspect_ratio"] == c]
        assert rows["atom_mass_theory"].iloc[0] == pytest.approx(atom)
        assert abs(rows["zero_fraction"].iloc[0] - atom) <= 1.0 / rows["n_features"].iloc[0]


def test_kolmogorov_distance_exact_cases():
    law = MarchenkoPastur(2.0)  # atom 1/2 at 0
    # p zeros: the empirical cdf jumps to 1 at 0, the law's to 1/2
    assert kolmogorov_distance(np.zeros(10), law) == pytest.approx(0.5)
    # the quantiles of the law: the distance is 1/(2p) up to the quadrature error
    p = 400
    grid = np.linspace(1e-6, law.support[0][1], 200001)
    F = law.cdf(grid)
    q = (np.arange(p) + 0.5) / p
    ev = np.where(q < 0.5, 0.0, np.interp(q, F, grid))
    assert kolmogorov_distance(ev, law) == pytest.approx(0.5 / p, abs=1e-4)
    # restricted to x >= x0, the mismatch at 0 is not seen
    ev_bad = ev.copy()
    ev_bad[: p // 4 + p // 2] = 0.0
    D = kolmogorov_distance(ev_bad, law)
    assert D == pytest.approx(0.25, abs=2e-3)
    x0 = np.interp(0.9, F, grid)
    assert kolmogorov_distance(ev_bad, law, above=x0) < 0.01
