"""`hdeq spectrum`: density table, figure, simulated histogram, bad input."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hdeq import MarchenkoPastur
from hdeq.cli import app

runner = CliRunner()


def test_spectrum_mp_writes_density_matching_the_law(tmp_path):
    csv, png = tmp_path / "mp.csv", tmp_path / "mp.png"
    result = runner.invoke(app, ["spectrum", "mp", "-c", "0.5", "--points", "200",
                                 "--csv", str(csv), "--png", str(png)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(csv)
    theory = table[table["kind"] == "theory"]
    np.testing.assert_allclose(theory["density"], MarchenkoPastur(0.5).pdf(theory["x"]),
                               rtol=1e-12, atol=1e-14)
    # the grid covers the support [0.0858, 2.9142]
    assert theory["x"].min() < 0.0858 and theory["x"].max() > 2.9142
    assert png.stat().st_size > 1000


@pytest.mark.simulation
def test_spectrum_histogram_of_a_draw_follows_the_density(tmp_path):
    csv = tmp_path / "sc.csv"
    result = runner.invoke(app, ["spectrum", "sample-covariance", "-c", "0.3",
                                 "--population", "1,3,10", "--weights", "0.5,0.3,0.2",
                                 "--simulate", "600", "--csv", str(csv)])
    assert result.exit_code == 0, result.output
    assert "[6.32309, 16.0177]" in result.output  # theory note 3.6 edges
    table = pd.read_csv(csv)
    hist = table[table["kind"] == "histogram"]
    # no atom: the histogram has mass 1 (exactly: every eigenvalue lies in the grid range)
    assert abs((hist["density"] * hist["width"]).sum() - 1.0) < 1e-12


def test_spectrum_bad_aspect_ratio_is_reported():
    result = runner.invoke(app, ["spectrum", "mp", "-c", "-1"])
    assert result.exit_code == 2
    assert "error: --aspect-ratio must be a float in (0.0, inf); got -1.0" in result.output
    assert "MarchenkoPastur" not in result.output


def test_spectrum_sample_covariance_needs_population():
    result = runner.invoke(app, ["spectrum", "sample-covariance"])
    assert result.exit_code != 0
    assert "--population" in result.output


@pytest.mark.parametrize("args, message", [
    (["--png", "/nonexistent-folder/x.png"], "does not exist"),
    (["--csv", "."], "is a folder, not a file"),
    (["--population", "1,2"], "sample-covariance only"),
])
def test_spectrum_rejects_bad_options_before_computing(args, message):
    result = runner.invoke(app, ["spectrum", "mp", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_version_flag():
    from hdeq import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


@pytest.mark.parametrize("args, message", [
    (["mp", "--png", "out.txt"], "--png must end in one of"),
    (["semicircle", "-c", "3"], "applies to mp and sample-covariance only"),
])
def test_spectrum_rejects_unknown_figure_format_and_unused_ratio(args, message):
    result = runner.invoke(app, ["spectrum", *args])
    assert result.exit_code == 2 and message in result.output


# -- fresh-user report: simulation size, unused options, messages ------------------------
@pytest.mark.parametrize("args, message", [
    (["-c", "0.001", "--simulate", "2000"],
     "draws a 2000000 x 2000 matrix (4e9 entries, 32 GB); the most is 4e7 entries: lower "
     "--simulate to at most 200 or raise --aspect-ratio to at least 0.1"),
    (["-c", "1e-9", "--simulate", "100"], "raise --aspect-ratio to at least 0.00025"),
    (["-c", "0.05", "--simulate", "6000"], "lower --simulate to at most 1414"),
    (["-c", "1e9", "--simulate", "100"],
     "gives a 1 x 100 matrix, whose aspect ratio is 100, not 1e+09"),
    (["-c", "50", "--simulate", "100"],
     "gives a 2 x 100 matrix, only 2 samples (at least 10 are needed to show the law); "
     "raise --simulate to at least 500 or lower --aspect-ratio to at most 10"),
    # fresh-user report 3: the advice must work with the --simulate given
    (["-c", "1e4", "--simulate", "10"],
     "lower --aspect-ratio to at most 1 (at most 600 with --simulate 6000) or drop "
     "--simulate"),
])
def test_simulation_size_and_ratio_are_checked_before_drawing(args, message):
    result = runner.invoke(app, ["spectrum", "mp", *args])
    assert result.exit_code == 2
    assert message in result.output, result.output
    assert "MemoryError" not in result.output and "Traceback" not in result.output


def test_simulation_advice_is_consistent():
    """The sizes the message advises pass the check."""
    from hdeq.cli._spectrum import MAX_ENTRIES, LawName, simulation_shape

    n, p = simulation_shape(LawName.mp, 200, 0.001)
    assert n * p <= MAX_ENTRIES
    n, p = simulation_shape(LawName.mp, 2000, 0.1)
    assert n * p <= MAX_ENTRIES
    result = runner.invoke(app, ["spectrum", "mp", "-c", "50", "--simulate", "500"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args, message", [
    (["sample-covariance", "--population", "1,3", "--scale", "5"],
     "--scale applies to mp and semicircle only (for sample-covariance, scale --population)"),
    (["mp", "--seed", "3"], "--seed applies to --simulate only"),
    (["mp", "--weights", "1"], "--weights applies to sample-covariance only"),
    (["sample-covariance", "-c", "0.3", "--population", "1,,3"],
     "--population must be comma-separated numbers; got '1,,3', which has an empty entry"),
    (["sample-covariance", "--population", "1,2", "--weights", "0.5,0.6"],
     "--weights must be non-negative and sum to 1; got '0.5,0.6' (sum 1.1)"),
    (["sample-covariance", "--population", "1,2", "--weights", "1"],
     "--weights must have one entry per --population value (2); got 1"),
    (["sample-covariance", "--population", "1,-2"], "--population must be non-negative"),
    (["mp", "-c", "abc"], "--aspect-ratio must be a number; got 'abc'"),
    (["semicircle", "--scale", "-1"], "--scale must be"),
])
def test_spectrum_errors_name_options_and_values(args, message):
    result = runner.invoke(app, ["spectrum", *args])
    assert result.exit_code == 2
    assert message in result.output, result.output
    for python_name in ("SampleCovarianceLaw", "MarchenkoPastur", "Semicircle", "`"):
        assert python_name not in result.output


def test_sample_covariance_mean_follows_the_population():
    # the report's `--scale 5` case, now refused, is done by scaling the population
    result = runner.invoke(app, ["spectrum", "sample-covariance", "--population", "5,15"])
    assert result.exit_code == 0 and "│ mean     │ 10 " in result.output


def test_density_grid_size_is_checked_before_computing(monkeypatch):
    # second fresh-user report, item 17: --points 100000000 used 5 GB without a word
    result = runner.invoke(app, ["spectrum", "mp", "--points", "100000000"])
    assert result.exit_code == 2
    assert result.output.startswith("error: --points 100000000 asks for the mp density on "
                                    "1e8 points (about 6.4 GB of memory); the most is 1e6 (no "
                                    "figure or table shows more): lower --points to at most "
                                    "1000000"), result.output
    # the memory this command may use bounds it too, at the advised size and no more
    monkeypatch.setattr("hdeq.cli._progress.memory_budget", lambda: 3_500_000)
    result = runner.invoke(app, ["spectrum", "sample-covariance", "--population", "1,4",
                                 "--points", "20000"])
    assert result.exit_code == 2
    assert ("on 2e4 points (about 14 MB of memory); more than the 3.5 MB this command may "
            "use (60% of the memory available now): lower --points to at most 5000") in \
        result.output, result.output
    result = runner.invoke(app, ["spectrum", "sample-covariance", "--population", "1,4",
                                 "--points", "5000"])
    assert result.exit_code == 0, result.output


def test_semicircle_simulation_needs_ten_features():
    result = runner.invoke(app, ["spectrum", "semicircle", "--simulate", "1"])
    assert result.exit_code == 2
    assert "raise --simulate to at least 10" in result.output
    assert runner.invoke(app, ["spectrum", "semicircle", "--simulate", "10"]).exit_code == 0


def test_csv_output_must_end_in_csv(tmp_path):
    result = runner.invoke(app, ["spectrum", "mp", "--csv", str(tmp_path / "a.png")])
    assert result.exit_code == 2 and "--csv must end in .csv; got 'a.png'" in result.output
    assert not (tmp_path / "a.png").exists()
