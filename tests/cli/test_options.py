"""Shared command-line checks: number lists, output paths, messages in option names, help."""

import sys
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from hdeq.cli import app
from hdeq.cli._options import (check_figure_file, check_output_file, check_output_folder,
                               cli_message, parse_numbers)

runner = CliRunner()


def _exit_code(call):
    with pytest.raises(typer.Exit) as info:
        call()
    return info.value.exit_code


@pytest.mark.parametrize("values", [["1,,3"], ["0.1,"], [",2"], ["1", " "]])
def test_empty_list_entries_are_rejected(values, capsys):
    assert _exit_code(lambda: parse_numbers(values, "--ridge")) == 2
    out = capsys.readouterr().out
    assert "error: --ridge must be comma-separated numbers" in out and "empty entry" in out


def test_numbers_parse_repeated_and_comma_separated():
    np.testing.assert_array_equal(parse_numbers(["0.1,1", "3"], "--ridge"), [0.1, 1, 3])
    assert parse_numbers(None, "--ridge") is None
    assert parse_numbers(["10,20"], "--n-samples", integer=True).dtype.kind == "i"


@pytest.mark.parametrize("values, message", [
    (["abc"], "'abc' is not a number"),
    (["nan"], "must be finite"),
    (["1.5"], "must be integers; got '1.5'"),
])
def test_bad_list_entries_name_the_entry(values, message, capsys):
    assert _exit_code(lambda: parse_numbers(values, "--n-samples", integer=True)) == 2
    assert message in capsys.readouterr().out


def test_library_parameter_names_become_option_names():
    exc = ValueError("`aspect_ratio` of MarchenkoPastur must be a float in (0.0, inf); got -1")
    assert cli_message(exc, {"aspect_ratio": "--aspect-ratio"}) == \
        "--aspect-ratio must be a float in (0.0, inf); got -1"
    exc = ValueError("`population[1] (weights)` of SampleCovarianceLaw must be >= 0")
    assert cli_message(exc, {"population[1] (weights)": "--weights"}) == "--weights must be >= 0"
    exc = ValueError("`A` of Activation 'tanh' must be 2-D")
    assert cli_message(exc, {"A": "the data"}) == "the data must be 2-D"
    # names without an option are kept as they are
    assert cli_message(ValueError("`x` of f is bad"), {}) == "`x` of f is bad"


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs the Linux /proc file system")
@pytest.mark.parametrize("check, path", [
    (check_output_file, "/proc/x.csv"),
    (check_figure_file, "/proc/x.png"),
    (check_output_folder, "/proc/nope"),
])
def test_unwritable_outputs_are_one_line_errors(check, path, capsys):
    assert _exit_code(lambda: check(Path(path), "--out")) == 2
    out = capsys.readouterr().out
    assert out.startswith("error: --out: cannot ") and out.count("\n") == 1


def test_folder_below_a_file_is_reported(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    assert _exit_code(lambda: check_output_folder(afile / "sub", "--out")) == 2
    assert "cannot create the folder" in capsys.readouterr().out
    assert _exit_code(lambda: check_output_file(afile / "x.csv", "--csv")) == 2


def test_write_checks_leave_nothing_behind(tmp_path):
    check_output_file(tmp_path / "x.csv", "--csv")
    check_output_folder(tmp_path / "out", "--out")
    assert not (tmp_path / "x.csv").exists()
    assert (tmp_path / "out").is_dir() and list((tmp_path / "out").iterdir()) == []
    kept = tmp_path / "kept.csv"
    kept.write_text("data")
    check_output_file(kept, "--csv")
    assert kept.read_text() == "data"   # an existing file is not truncated by the check


@pytest.mark.parametrize("command", [[], ["predict"], ["spectrum"], ["reproduce"]])
def test_help_shows_no_python_types(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    for oddity in ("<bool>", "list[str]", "<list"):
        assert oddity not in result.output, oddity
    # the description is re-wrapped to the width, not broken where the docstring's
    # lines end: within a paragraph, only its last line may be short
    text = result.output.split("Arguments:")[0].split("Options:")[0]
    lines = text.splitlines()
    for line, following in zip(lines, lines[1:] + [""]):
        if following.strip() and line.startswith("  ") and not line.startswith("Usage"):
            assert len(line) + 1 + len(following.split()[0]) > 79, (line, following)


def test_help_of_predict_describes_both_ridge_defaults():
    out = runner.invoke(app, ["predict", "--help"]).output.replace("\n", " ")
    out = " ".join(out.split())
    assert "for --model random-features: 0.001,0.1 (absolute)" in out
    assert "1e-3,1e-2,1e-1,1 times the mean feature variance" in out
    assert "R/10" in out   # the default training sizes and why they stop there


def test_help_of_predict_gives_rows_and_width_distinct_letters():
    # as in the library: n = n_samples (training size), N = n_random_features (width)
    out = " ".join(runner.invoke(app, ["predict", "--help"]).output.split())
    assert "R = the number of rows of FILE" in out and "training sizes n" in out
    assert "widths N" in out and "n = training rows" in out
    assert "N = the number of rows" not in out and "N/10" not in out and "N/50" not in out


def test_help_of_reproduce_quick_gives_the_readme_time():
    import re

    readme = " ".join((Path(__file__).parents[2] / "README.md").read_text().split())
    quick = re.search(r"`hdeq reproduce --quick` takes about (\d+) s", readme).group(1)
    out = " ".join(runner.invoke(app, ["reproduce", "--help"]).output.split())
    assert f"--quick Small sizes (about {quick} s in all" in out, out


def test_python_traceback_is_never_printed(tmp_path):
    # the three unwritable outputs of the fresh-user report, end to end
    if not Path("/proc/self").exists() or sys.platform != "linux":
        pytest.skip("needs the Linux /proc file system")
    for args in (["spectrum", "mp", "--csv", "/proc/x.csv"],
                 ["spectrum", "mp", "--png", "/proc/x.png"],
                 ["reproduce", "--only", "mp_density", "--quick", "--out", "/proc/nope"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, args
        assert "Traceback" not in result.output and "error:" in result.output


def test_long_work_is_announced_and_gets_a_bar(monkeypatch, capsys):
    from hdeq.cli import _progress

    monkeypatch.setattr(_progress, "flop_rate", lambda: 1e9)
    monkeypatch.setattr(_progress.console, "_force_terminal", True)   # bars on terminals
    with _progress.progress(5e8, "short") as steps:      # half a second: no bar, no note
        assert steps._bar is None
    assert capsys.readouterr().out == ""
    with _progress.progress(3e9, "medium") as steps:     # 3 s: a bar, no note
        assert steps._bar is not None
        steps.advance(1e9)
    assert "note:" not in capsys.readouterr().out
    with _progress.progress(6e10, "long work") as steps:  # 60 s: announced up front
        steps.advance(6e10)
    assert "note: long work: estimated 60 s (rough; Ctrl-C stops)" in capsys.readouterr().out


def test_commands_announce_long_runs(monkeypatch, tmp_path, rng):
    import pandas as pd

    monkeypatch.setattr("hdeq.cli._progress.flop_rate", lambda: 1e6)
    result = runner.invoke(app, ["spectrum", "mp", "-c", "1", "--simulate", "400"])
    assert result.exit_code == 0, result.output
    assert "note: drawing one 400 x 400 mp matrix: estimated" in result.output
    X = rng.standard_normal((200, 5))
    path = tmp_path / "d.csv"
    pd.DataFrame(np.column_stack([X, X[:, 0]]), columns=[*"abcde", "y"]).to_csv(path,
                                                                               index=False)
    result = runner.invoke(app, ["predict", str(path), "-t", "y", "--model", "random-features",
                                 "--n-random-features", "10,50", "--trials", "2"])
    assert result.exit_code == 0, result.output
    assert ("note: random-features theory (140 x 140 kernel) and 2 weight draws at 2 widths: "
            "estimated") in result.output


# -- second fresh-user report, item 15: every bad input is one `error:` line in option terms
@pytest.fixture
def small_files(tmp_path, rng):
    import pandas as pd

    X = rng.standard_normal((60, 3))
    pd.DataFrame(np.column_stack([X, X @ [1.0, 2.0, 3.0]]), columns=[*"abc", "y"]).to_csv(
        tmp_path / "small.csv", index=False)
    pd.DataFrame({"a": [1.0], "b": [2.0], "y": [3.0]}).to_csv(tmp_path / "r1.csv",
                                                             index=False)
    np.save(tmp_path / "cplx.npy", rng.standard_normal((50, 4)) + 1j)
    return tmp_path


@pytest.mark.parametrize("args, message", [
    (["predict", "r1.csv", "-t", "y", "--n-samples", "1"],
     "got 1 row (or pass --no-center to use the raw second moments)"),
    (["predict", "small.csv", "-t", "y", "--seed", "-1"], "--seed must be an integer >= 0; "
                                                          "got '-1'"),
    (["predict", "small.csv", "-t", "y", "--model", "random-features", "--activation", "foo",
      "--trials", "0"], "erf, quadratic, cubic, exp, sin, cos, gaussian, tanh, sigmoid, gelu, "
                        "swish, softplus; got 'foo'"),
    (["predict", "small.csv", "-t", "y", "--trials", "-1"],
     "--trials must be an integer >= 0; got '-1'"),
    (["predict", "small.csv", "-t", "y", "--trials", "abc"],
     "--trials must be an integer >= 0; got 'abc'"),
    (["predict", "small.csv", "-t", "y", "--model", "foo"],
     "--model must be one of ridge, random-features; got 'foo'"),
    (["predict", "small.csv", "-t", "y", "--model", "random-features", "--test-fraction", "2"],
     "--test-fraction must be a number in [0.05, 0.95]; got '2'"),
    (["predict", "cplx.npy", "-t", "-1", "--n-samples", "10"],
     "cplx.npy must hold real numbers; got complex values (dtype complex128)"),
    (["predict", "small.csv"], "missing option '--target' / '-t' (see 'hdeq predict --help')"),
    (["predict", "small.csv", "-t", "y", "--nope"], "no such option: --nope"),
    (["spectrum", "foo"], "LAW must be one of mp, sample-covariance, semicircle; got 'foo'"),
    (["spectrum", "mp", "--points", "5"], "--points must be an integer >= 10; got '5'"),
    (["spectrum", "mp", "--simulate", "7000"],
     "--simulate must be an integer in [0, 6000]; got '7000'"),
    (["reproduce", "--seed", "-1"], "--seed must be an integer >= 0; got '-1'"),
    (["nosuch"], "no such command 'nosuch'"),
])
def test_bad_input_is_one_error_line_in_option_terms(small_files, monkeypatch, args, message):
    import warnings

    monkeypatch.chdir(small_files)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # e.g. numpy's ComplexWarning before the message
        result = runner.invoke(app, args)
    assert result.exit_code == 2, (result.output, result.exception)
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and message in errors[0], result.output
    for python in ("Usage:", "Error:", "Input should", "callable", "center=", "Generator",
                   "None", "`", "Traceback"):
        assert python not in result.output, python


def test_cli_message_translates_keyword_settings_and_python_wording():
    exc = ValueError("`X` of learning_curve must have 2 rows with center=True; got 1 row "
                     "(or pass center=False)")
    assert cli_message(exc, {"X": "the features", "center=True": "centring",
                             "center=False": "--no-center"}) == \
        "the features must have 2 rows with centring; got 1 row (or pass --no-center)"
    exc = ValueError("`name_or_callable` of activation must be one of relu, erf or a "
                     "callable; got 'foo'")
    assert cli_message(exc, {"name_or_callable": "--activation"}) == \
        "--activation must be one of relu, erf; got 'foo'"
    # settings without an option are kept
    assert cli_message(ValueError("pass center=False"), {}) == "pass center=False"
