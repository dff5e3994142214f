"""`hdeq predict` end to end on small .csv and .npy files."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hdeq.cli import app
from hdeq.models import learning_curve

runner = CliRunner()


@pytest.fixture
def files(tmp_path, rng):
    X = rng.standard_normal((400, 8))
    y = X @ rng.standard_normal(8) / 3 + rng.standard_normal(400)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    frame["label"] = y
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    npy = tmp_path / "data.npy"
    np.save(npy, np.column_stack([y, X]))
    return X, y, csv, npy


def test_predict_csv_writes_table_and_figure(files, tmp_path):
    X, y, csv, _ = files
    out_csv, out_png = tmp_path / "curve.csv", tmp_path / "curve.png"
    res = runner.invoke(app, ["predict", str(csv), "--target", "label", "--model", "ridge",
                              "--ridge", "0.01,0.5", "--n-samples", "20", "--n-samples",
                              "40,80", "--trials", "3", "--csv", str(out_csv), "--png",
                              str(out_png)])
    assert res.exit_code == 0, res.output
    assert "n_samples" in res.output and "theory" in res.output
    table = pd.read_csv(out_csv)
    assert sorted(table.n_samples.unique()) == [20, 40, 80]
    assert (table.trials == 3).all() and table.empirical.notna().all()
    assert out_png.stat().st_size > 1000
    # the printed theory is the library's learning curve
    ref = learning_curve(X, y, [20, 40, 80], [0.01, 0.5])
    np.testing.assert_allclose(table.theory, ref.theory, rtol=1e-12)


def test_predict_npy_target_index_and_prediction_only(files, tmp_path):
    X, y, _, npy = files
    out_csv = tmp_path / "curve.csv"
    res = runner.invoke(app, ["predict", str(npy), "--target", "0", "--trials", "0",
                              "--ridge", "0.1", "--n-samples", "50,100", "--csv",
                              str(out_csv)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out_csv)
    assert table.empirical.isna().all()
    ref = learning_curve(X, y, [50, 100], 0.1)
    np.testing.assert_allclose(table.theory, ref.theory, rtol=1e-12)


def test_predict_errors(files, tmp_path):
    _, _, csv, npy = files
    res = runner.invoke(app, ["predict", str(csv), "--target", "nope"])
    assert res.exit_code == 2 and "x0" in res.output and "label" in res.output
    res = runner.invoke(app, ["predict", str(npy), "--target", "9"])
    assert res.exit_code == 2 and "index" in res.output
    res = runner.invoke(app, ["predict", str(npy), "--target", "label"])
    assert res.exit_code == 2 and "index" in res.output
    res = runner.invoke(app, ["predict", str(csv), "--target", "label", "--n-samples",
                              "5000"])
    assert res.exit_code == 2
    assert "--n-samples must be integers in [1, 400] (the rows of data.csv); got 5000" in \
        res.output
    res = runner.invoke(app, ["predict", str(csv), "--target", "label", "--ridge", "-1"])
    assert res.exit_code == 2 and "--ridge must be non-negative" in res.output
    txt = tmp_path / "data.txt"
    txt.write_text("1,2\n")
    res = runner.invoke(app, ["predict", str(txt), "--target", "0"])
    assert res.exit_code == 2 and ".csv or .npy" in res.output
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"a": [1.0, np.nan, 2.0], "b": [1.0, 2.0, 3.0]}).to_csv(bad, index=False)
    res = runner.invoke(app, ["predict", str(bad), "--target", "b", "--n-samples", "2"])
    assert res.exit_code == 2 and "finite" in res.output


def test_predict_rejects_text_columns_target_only_and_bad_output(tmp_path):
    text = tmp_path / "text.csv"
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"], "y": [1.0, 2.0, 0.0]}).to_csv(
        text, index=False)
    res = runner.invoke(app, ["predict", str(text), "--target", "y"])
    assert res.exit_code == 2 and "non-numeric: b" in res.output
    only = tmp_path / "only.csv"
    pd.DataFrame({"y": [1.0, 2.0, 3.0]}).to_csv(only, index=False)
    res = runner.invoke(app, ["predict", str(only), "--target", "y"])
    assert res.exit_code == 2 and "at least one feature column" in res.output
    res = runner.invoke(app, ["predict", str(text), "--target", "y", "--png",
                              str(tmp_path / "missing" / "x.png")])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_predict_random_features_width_curve(files, tmp_path):
    _, _, csv, _ = files
    out_csv, out_png = tmp_path / "rf.csv", tmp_path / "rf.png"
    res = runner.invoke(app, ["predict", str(csv), "--target", "label", "--model",
                              "random-features", "--activation", "erf", "--n-random-features",
                              "20,80,300", "--ridge", "0.01", "--trials", "3", "--max-rows",
                              "300", "--csv", str(out_csv), "--png", str(out_png)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out_csv)
    assert sorted(table.n_random_features.unique()) == [20, 80, 300]
    assert set(table.quantity) == {"train_error", "test_error"}
    assert np.isfinite(table.theory).all() and np.isfinite(table.empirical).all()
    # theory beside 3 draws of the weights: within 4 stderr + 15% (n = 210 training rows)
    dev = np.abs(table.empirical - table.theory)
    assert np.all(dev <= 4 * table.stderr + 0.15 * table.theory)
    assert out_png.stat().st_size > 1000


def test_predict_random_features_unknown_activation(files):
    _, _, csv, _ = files
    res = runner.invoke(app, ["predict", str(csv), "--target", "label", "--model",
                              "random-features", "--activation", "nope", "--trials", "0"])
    assert res.exit_code == 2 and "relu" in res.output


def test_predict_rejects_non_numeric_npy_and_infinite_values(tmp_path):
    strings = tmp_path / "s.npy"
    np.save(strings, np.array([["a", "b"], ["c", "d"]]))
    res = runner.invoke(app, ["predict", str(strings), "--target", "0"])
    assert res.exit_code == 2 and "numeric array" in res.output
    inf = tmp_path / "inf.csv"
    pd.DataFrame({"a": [1.0, np.inf, 2.0], "y": [1.0, 2.0, 3.0]}).to_csv(inf, index=False)
    res = runner.invoke(app, ["predict", str(inf), "--target", "y"])
    assert res.exit_code == 2 and "finite" in res.output


# -- fresh-user report: guards, defaults, messages ---------------------------------------
def test_random_features_refuses_a_run_over_the_memory_budget(files, monkeypatch):
    _, _, csv, _ = files
    monkeypatch.setattr("hdeq.cli._progress.memory_budget", lambda: 50_000_000)
    res = runner.invoke(app, ["predict", str(csv), "--target", "label", "--model",
                              "random-features", "--n-random-features", "10,100000"])
    assert res.exit_code == 2, res.output
    assert "widths up to 100000 needs about" in res.output
    assert "more than the 50 MB this command may use" in res.output
    assert "lower the largest --n-random-features to at most about" in res.output
    # the advised width fits: the same run with it passes the check (theory only: fast)
    most = int(res.output.split("--n-random-features to at most about ")[1].split(",")[0])
    assert 1000 < most < 100000
    from hdeq.cli._predict import rf_cost
    assert rf_cost(280, 120, 8, [10, most], 2, 5)["peak"] <= 50_000_000


def test_random_features_advises_fewer_rows_when_the_kernel_is_too_large(files, monkeypatch):
    _, _, csv, _ = files
    monkeypatch.setattr("hdeq.cli._progress.memory_budget", lambda: 2_000_000)
    res = runner.invoke(app, ["predict", str(csv), "--target", "label", "--model",
                              "random-features", "--trials", "0"])
    assert res.exit_code == 2, res.output
    assert "280 x 280 kernel matrices" in res.output
    rows = int(res.output.split("lower --max-rows to at most about ")[1].split(")")[0]
               .split(";")[0].split(",")[0])
    assert 20 <= rows < 400
    res = runner.invoke(app, ["predict", str(csv), "--target", "label", "--model",
                              "random-features", "--trials", "0", "--max-rows", str(rows)])
    assert res.exit_code == 0, res.output


def test_memory_estimate_bounds_the_measured_peak():
    """rf_cost against the peak of numpy allocations (tracemalloc) of the same run:
    never below it, and not more than three times above."""
    import tracemalloc

    from hdeq.cli._predict import rf_cost
    from hdeq.models import RandomFeaturesRidge

    rng = np.random.default_rng(0)
    n, n_test, p, widths, lam = 300, 120, 10, np.array([30, 900]), np.array([1e-3, 1e-1])
    X = rng.standard_normal((n + n_test, p))
    y = X[:, 0] + rng.standard_normal(n + n_test)
    tracemalloc.start()
    try:
        rf = RandomFeaturesRidge(X[:n], y[:n], X[n:], y[n:], n_random_features=widths[None],
                                 ridge=lam[:, None])
        rf.test_error()
        theory_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        for N in widths:
            rf.replace(n_random_features=np.array([[N]]), ridge=lam[:, None]).simulate(2, 0)
        sim_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    cost = rf_cost(n, n_test, p, widths, lam.size, 2)
    assert theory_peak <= cost["theory_bytes"] <= 3 * theory_peak
    assert sim_peak <= cost["sim_bytes"].max() <= 3 * sim_peak


def test_options_of_the_other_model_are_rejected(files):
    _, _, csv, _ = files
    res = runner.invoke(app, ["predict", str(csv), "-t", "label", "--n-random-features", "20",
                              "--activation", "tanh", "--test-fraction", "0.5",
                              "--max-rows", "100"])
    assert res.exit_code == 2
    assert ("--activation, --n-random-features, --test-fraction, --max-rows apply to --model "
            "random-features only") in res.output
    res = runner.invoke(app, ["predict", str(csv), "-t", "label", "--model", "random-features",
                              "--n-samples", "50"])
    assert res.exit_code == 2 and "--n-samples applies to --model ridge only" in res.output


@pytest.mark.parametrize("rows", [1, 2, 3, 39])
def test_default_sizes_need_enough_rows_and_say_so(tmp_path, rows):
    path = tmp_path / "tiny.csv"
    rng = np.random.default_rng(rows)
    pd.DataFrame(rng.standard_normal((rows, 3)), columns=["a", "b", "y"]).to_csv(path,
                                                                                index=False)
    res = runner.invoke(app, ["predict", str(path), "-t", "y"])
    assert res.exit_code == 2
    assert f"tiny.csv has {rows} row{'s' if rows > 1 else ''}; the default training sizes" in \
        res.output
    assert f"pass --n-samples (integers in [1, {rows}])" in res.output
    assert "n_samples" not in res.output.replace("--n-samples", "")   # no Python name
    assert "array(" not in res.output


@pytest.mark.parametrize("n_rows", [40, 442, 2000, 100000])
def test_default_sizes_stay_at_most_a_tenth_of_the_rows(n_rows):
    from hdeq.cli._predict import default_sizes

    sizes = default_sizes(n_rows)
    assert sizes.min() >= 2 and sizes.max() <= n_rows // 10 and sizes.size >= 3
    assert np.all(np.diff(sizes) > 0) and sizes.size <= 12


def test_sizes_above_a_tenth_of_the_rows_are_marked(files):
    _, _, csv, _ = files
    res = runner.invoke(app, ["predict", str(csv), "-t", "label", "--n-samples", "20,200",
                              "--ridge", "0.1", "--trials", "2"])
    assert res.exit_code == 0, res.output
    assert "200 *" in res.output and "20 *" not in res.output
    footnote = " ".join(res.output.split())
    assert "n > R/10 = 40 (R = 400 rows): the subsets are drawn without replacement" in \
        footnote
    assert "by O(n/R)" in footnote and "n/N" not in footnote   # N is the width
    res = runner.invoke(app, ["predict", str(csv), "-t", "label", "--ridge", "0.1",
                              "--trials", "2"])
    assert res.exit_code == 0 and " *" not in res.output   # the defaults are not marked


def test_random_features_on_one_row_names_the_default_split(tmp_path):
    path = tmp_path / "one.csv"
    pd.DataFrame({"a": [1.0], "b": [2.0], "y": [0.5]}).to_csv(path, index=False)
    res = runner.invoke(app, ["predict", str(path), "-t", "y", "--model", "random-features"])
    assert res.exit_code == 2
    assert ("one.csv has 1 row; holding out the default --test-fraction 0.3 of them leaves 0 "
            "test and 1 training rows") in res.output


def test_tanh_on_parallel_rows_and_command_line_advice(tmp_path, rng):
    # six copies of one far-out row: parallel rows of large norm (the diabetes data of the
    # report), where the Hermite expansion of the tanh kernel cannot converge; the nested
    # quadrature takes those pairs, so the command works
    X = np.vstack([rng.standard_normal((30, 4)), np.full((6, 4), 10.0)])
    path = tmp_path / "dup.csv"
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["y"] = X[:, 0] + 0.1 * rng.standard_normal(36)
    frame.to_csv(path, index=False)
    res = runner.invoke(app, ["predict", str(path), "-t", "y", "--model", "random-features",
                              "--activation", "tanh", "--trials", "0", "--seed", "1"])
    assert res.exit_code == 0, res.output
    # where even that quadrature would be too long, the advice is in command-line terms
    from hdeq.cli._predict import _rf_message

    text = _rf_message(ValueError("the expected kernel of activation 'tanh' has 9000 pairs "
                                  "of rows too correlated for its Hermite expansion to "
                                  "reach the stated accuracy"), "tanh")
    assert "--activation erf" in text and "method=" not in text


def test_empty_list_entries_are_errors(files):
    _, _, csv, _ = files
    for option, value in (("--ridge", "0.1,"), ("--n-samples", "10,,20")):
        res = runner.invoke(app, ["predict", str(csv), "-t", "label", option, value])
        assert res.exit_code == 2 and f"{option} must be comma-separated" in res.output


def _write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize("name, content, message", [
    ("header.csv", "x0,x1,y\n", "header.csv has a header row but no data rows"),
    ("empty.csv", "", "empty.csv is empty"),
    ("short.csv", "a,b,y\n1,2,3\n4,5\n7,8,9\n", "short.csv: line 3 has 2 fields but the "
                                                "header has 3"),
    ("long.csv", "a,b,y\n1,2,3,4\n4,5,6\n", "long.csv: line 2 has 4 fields but the header "
                                            "has 3"),
    ("cell.csv", "a,b,y\n1,2,3\n4,,6\n", "cell.csv: data row 2, column 'b' is missing or NaN"),
    ("target.csv", "a,b,y\n1,2,3\n4,5,inf\n", "target.csv: data row 2, column 'y' is "
                                              "infinite"),
    ("text.csv", "a,b,y\n1,2,3\n4,x,6\n", "non-numeric: b (e.g. column 'b', data row 2: 'x')"),
    ("bad.npy", "not a npy", "bad.npy is not a NumPy .npy file"),
])
def test_bad_files_get_specific_messages(tmp_path, name, content, message):
    path = _write(tmp_path / name, content)
    res = runner.invoke(app, ["predict", str(path), "-t", "0" if name.endswith(".npy") else "y"])
    assert res.exit_code == 2
    assert message in res.output, res.output
    assert "FILE" not in res.output and "Traceback" not in res.output


def test_npy_messages_name_the_cell_and_python_objects(tmp_path):
    data = np.ones((5, 3))
    data[3, 2] = np.nan
    np.save(tmp_path / "nan.npy", data)
    res = runner.invoke(app, ["predict", str(tmp_path / "nan.npy"), "-t", "0"])
    # the cell as numbered in the file (the target is column 0)
    assert res.exit_code == 2
    assert "nan.npy: data row 4, column index 2 is missing or NaN" in res.output
    np.save(tmp_path / "huge.npy", np.array([[1.0, 1e200], [2.0, 3.0]]))
    res = runner.invoke(app, ["predict", str(tmp_path / "huge.npy"), "-t", "0"])
    assert res.exit_code == 2
    assert "the features of huge.npy must have entries of magnitude at most" in res.output
    np.save(tmp_path / "obj.npy", np.array([[1, "a"], [None, 2]], dtype=object))
    res = runner.invoke(app, ["predict", str(tmp_path / "obj.npy"), "-t", "0"])
    assert res.exit_code == 2 and "obj.npy holds Python objects" in res.output


def test_negative_target_index_counts_from_the_end(files, tmp_path):
    X, y, _, npy = files
    last = tmp_path / "last.npy"
    np.save(last, np.column_stack([X, y]))
    out = tmp_path / "a.csv"
    res = runner.invoke(app, ["predict", str(last), "-t", "-1", "--trials", "0", "--ridge",
                              "0.1", "--n-samples", "50", "--csv", str(out)])
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose(pd.read_csv(out).theory,
                               learning_curve(X, y, [50], 0.1).theory, rtol=1e-12)
    res = runner.invoke(app, ["predict", str(last), "-t", "-200"])
    assert res.exit_code == 2 and "in [0, 8] (or [-9, -1] from the end); got -200" in res.output


def test_unwritable_outputs_fail_before_reading_and_leave_nothing(files, tmp_path):
    _, _, csv, _ = files
    afile = tmp_path / "afile"
    afile.write_text("")
    res = runner.invoke(app, ["predict", str(csv), "-t", "label", "--png",
                              str(afile / "x.png")])
    assert res.exit_code == 2 and "--png" in res.output and "Traceback" not in res.output
    out = tmp_path / "table.csv"
    res = runner.invoke(app, ["predict", str(csv), "-t", "nope", "--csv", str(out)])
    assert res.exit_code == 2 and not out.exists()


def test_ridgeless_figure_draws_the_theory_through_the_table_near_the_pole(tmp_path, rng,
                                                                          monkeypatch):
    # second fresh-user report, item 11: the theory line stopped at the dense grid's
    # points next to n = p (about 3.5) while the table gave 16.5 at n = p -+ 1
    import hdeq.report

    p = 60
    X = rng.standard_normal((300, p))
    path = tmp_path / "d.csv"
    pd.DataFrame(np.column_stack([X, X @ rng.standard_normal(p) / 8 + 0.5 *
                                  rng.standard_normal(300)]),
                 columns=[*(f"x{j}" for j in range(p)), "y"]).to_csv(path, index=False)
    figures = []
    monkeypatch.setattr(hdeq.report, "save_figure", lambda fig, _: figures.append(fig))
    out_csv = tmp_path / "r0.csv"
    res = runner.invoke(app, ["predict", str(path), "-t", "y", "--ridge", "0", "--n-samples",
                              "5,30,59,60,61,200", "--trials", "0", "--csv", str(out_csv),
                              "--png", str(tmp_path / "r0.png")])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out_csv)
    test = table[table.quantity == "test_error"].set_index("n_samples").theory
    ax = [a for a in figures[0].axes if a.get_title() == "test error"][0]
    line = [l for l in ax.get_lines() if l.get_label() == "ridge=0 (theory)"][0]
    x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    for n in (5, 30, 59, 61, 200):      # the line passes through every finite table value
        assert np.sum(x == n) == 1, n
        np.testing.assert_allclose(y[x == n][0], test[n], rtol=1e-12)
    assert np.nanmax(y) == max(test[59], test[61])   # nothing of it is cut off
    assert np.isnan(y[x == p]).all() and test[p] == np.inf
    marks = [l for l in ax.get_lines() if "∞" in l.get_label()]
    assert len(marks) == 1 and np.allclose(marks[0].get_xdata(), p)   # only n = p


def test_pandas_index_column_is_dropped_with_a_note(files, tmp_path):
    # fresh-user report: a CSV saved with pandas' default index=True had its index read as
    # a feature (variance 1e4 x the others: default ridges 1e4 x too large, a flat curve)
    X, y, _, _ = files
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    frame["label"] = y
    frame.to_csv(tmp_path / "indexed.csv")                    # header starts with ','
    out = tmp_path / "curve.csv"
    res = runner.invoke(app, ["predict", str(tmp_path / "indexed.csv"), "-t", "label",
                              "--n-samples", "40,80", "--trials", "0", "--csv", str(out)])
    assert res.exit_code == 0, res.output
    assert "has no name and holds increasing integers: read as a row index" in res.output
    assert "400 rows, 8 features (x0, x1, x2, ..., x7); target 'label'" in res.output
    ref = learning_curve(X, y, [40, 80], float(np.mean(np.var(X, axis=0))) *
                         np.array([1e-3, 1e-2, 1e-1, 1.0]))
    np.testing.assert_allclose(pd.read_csv(out).theory, ref.theory, rtol=1e-12)
    # an unnamed column that is not an index stays a feature
    frame.insert(0, "", np.arange(400.0)[::-1])
    frame.to_csv(tmp_path / "unnamed.csv", index=False)
    res = runner.invoke(app, ["predict", str(tmp_path / "unnamed.csv"), "-t", "label",
                              "--n-samples", "40", "--trials", "0"])
    assert res.exit_code == 0, res.output
    assert "row index" not in res.output and "9 features" in res.output


def test_csv_header_spaces_and_delimiter_hint(tmp_path):
    (tmp_path / "spaces.csv").write_text(" a , b , y \n" + "".join(
        f"{i},{(3 * i) % 7},{i % 5}\n" for i in range(30)))
    res = runner.invoke(app, ["predict", str(tmp_path / "spaces.csv"), "-t", "y",
                              "--n-samples", "5", "--trials", "0"])
    assert res.exit_code == 0, res.output
    assert "30 rows, 2 features (a, b); target 'y'" in res.output
    (tmp_path / "semi.csv").write_text("a;b;y\n1;2;3\n2;3;4\n")
    res = runner.invoke(app, ["predict", str(tmp_path / "semi.csv"), "-t", "y"])
    assert res.exit_code == 2
    assert "seems to separate its fields with ';'" in res.output


def test_one_feature_is_singular(tmp_path, rng):
    x = rng.standard_normal(200)
    pd.DataFrame({"x": x, "y": x + rng.standard_normal(200)}).to_csv(tmp_path / "one.csv",
                                                                      index=False)
    res = runner.invoke(app, ["predict", str(tmp_path / "one.csv"), "-t", "y",
                              "--n-samples", "20", "--trials", "0"])
    assert res.exit_code == 0, res.output
    assert "200 rows, 1 feature (x)" in res.output


def test_csv_output_must_end_in_csv(files, tmp_path):
    _, _, csv, _ = files
    res = runner.invoke(app, ["predict", str(csv), "-t", "label", "--csv",
                              str(tmp_path / "table.png")])
    assert res.exit_code == 2 and "--csv must end in .csv; got 'table.png'" in res.output
