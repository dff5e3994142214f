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
    width = np.diff(hist["x"]).mean()
    assert abs(hist["density"].sum() * width - 1.0) < 0.02  # no atom: histogram has mass 1


def test_spectrum_bad_aspect_ratio_is_reported():
    result = runner.invoke(app, ["spectrum", "mp", "-c", "-1"])
    assert result.exit_code == 2
    assert "aspect_ratio" in result.output


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
