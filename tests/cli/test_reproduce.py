"""`hdeq reproduce --quick` end to end: files, tables and agreement numbers."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hdeq.cli import app
from hdeq.experiments import registered

runner = CliRunner()


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    result = runner.invoke(app, ["reproduce", "--quick", "--out", str(out), "--seed", "0"])
    return out, result


@pytest.mark.simulation
def test_reproduce_quick_writes_every_experiment(quick_run):
    out, result = quick_run
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    names = [e["name"] for e in summary["experiments"]]
    assert names == list(registered()), "every registered experiment must run, in order"
    assert summary["errors"] == {}
    report = (out / "report.md").read_text()
    for entry in summary["experiments"]:
        assert (out / entry["figure"]).stat().st_size > 1000
        table = pd.read_csv(out / entry["table"])
        for col in ("panel", "series", "x", "theory", "empirical", "stderr"):
            assert col in table.columns
        assert np.isfinite(table["theory"]).any() and np.isfinite(table["empirical"]).any()
        assert f"`{entry['name']}`" in report
        assert entry["agreement"], f"{entry['name']} reports no agreement statistic"


@pytest.mark.simulation
def test_reproduce_quick_agreement_numbers(quick_run):
    out, _ = quick_run
    summary = json.loads((out / "summary.json").read_text())
    failed = [(e["name"], a["statistic"], a["value"], a["tolerance"])
              for e in summary["experiments"] for a in e["agreement"] if not a["passed"]]
    assert not failed, f"theory and simulation disagree beyond tolerance: {failed}"
    for e in summary["experiments"]:
        for a in e["agreement"]:
            assert np.isfinite(a["value"]) and a["tolerance"] >= 0


def test_reproduce_only_unknown_name_is_an_error(tmp_path):
    result = runner.invoke(app, ["reproduce", "--only", "no_such_thing", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown experiment for --only: no_such_thing; known: mp_density" in result.output


def test_reproduce_list():
    result = runner.invoke(app, ["reproduce", "--list"])
    assert result.exit_code == 0
    for name in registered():
        assert name in result.output


def test_experiment_seed_depends_on_name_and_seed_only():
    from hdeq.cli._reproduce import experiment_seed

    assert experiment_seed(0, "a") == experiment_seed(0, "a")
    assert experiment_seed(0, "a") != experiment_seed(0, "b")
    assert experiment_seed(0, "a") != experiment_seed(1, "a")


def test_reproduce_out_must_not_be_a_file(tmp_path):
    target = tmp_path / "afile"
    target.write_text("")
    result = runner.invoke(app, ["reproduce", "--only", "mp_density", "--out", str(target)])
    assert result.exit_code == 2 and "is a file" in result.output


def test_reproduce_only_adds_to_the_report_in_the_folder(tmp_path):
    # --only takes a comma list as well as repeats
    first = runner.invoke(app, ["reproduce", "--quick", "--only", "mp_density,ridge_optimal",
                                "--out", str(tmp_path)])
    assert first.exit_code == 0, first.output
    # at 80 columns (the runner's width) no experiment name is cut
    assert "mp_density (" in first.output and "ridge_optimal (" in first.output
    assert "…" not in first.output
    again = runner.invoke(app, ["reproduce", "--quick", "--only", "ridge_optimal", "--seed",
                                "3", "--out", str(tmp_path)])
    assert again.exit_code == 0, again.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [e["name"] for e in summary["experiments"]] == ["mp_density", "ridge_optimal"]
    assert [e["seed"] for e in summary["experiments"]] == [0, 3]
    report = (tmp_path / "report.md").read_text()
    assert "`mp_density`" in report and "`ridge_optimal`" in report


def test_reproduce_rejects_negative_seed(tmp_path):
    result = runner.invoke(app, ["reproduce", "--seed", "-1", "--out", str(tmp_path)])
    assert result.exit_code == 2


def test_reproduce_only_rejects_empty_entries(tmp_path):
    result = runner.invoke(app, ["reproduce", "--only", "mp_density,", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--only must be comma-separated names" in result.output


def test_reproduce_out_below_a_file_is_a_one_line_error(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    result = runner.invoke(app, ["reproduce", "--only", "mp_density", "--quick", "--out",
                                 str(afile / "sub")])
    assert result.exit_code == 2
    assert result.output.startswith("error: --out: cannot create the folder")
    assert result.output.count("\n") == 1


def test_reproduce_list_indents_wrapped_titles():
    result = runner.invoke(app, ["reproduce", "--list"])
    lines = result.output.splitlines()
    indent = max(len(name) for name in registered()) + 2
    for line in lines:
        name = line.split(" ")[0]
        assert name in registered() or line[:indent].strip() == "", line
