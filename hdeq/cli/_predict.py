"""`hdeq predict`: the learning curve of ridge regression on the user's data set."""

from __future__ import annotations

import csv as _csv
from enum import Enum
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from ..core import check_data
from ._app import app
from ._options import check_figure_file, check_output_file, fail

console = Console()


class ModelName(str, Enum):
    ridge = "ridge"
    random_features = "random-features"


def _numbers(values: Optional[List[str]], option: str, integer: bool = False):
    """Parse repeated and/or comma-separated numbers ('0.1,1' or --opt 0.1 --opt 1)."""
    if not values:
        return None
    out = []
    for text in values:
        for part in str(text).split(","):
            if not part.strip():
                continue
            try:
                v = float(part)
            except ValueError:
                raise typer.BadParameter(f"{option} must be comma-separated numbers; got "
                                         f"{text!r}")
            if integer and not v.is_integer():
                raise typer.BadParameter(f"{option} must be integers; got {part!r}")
            out.append(int(v) if integer else v)
    return np.array(out)


# ------------------------------------------------------------------------------ reading
def load_table(path: Path, target: str):
    """Read FILE and split off the target, with messages naming the file, and the row
    and column of a bad value. Returns ``(X, y, feature_names)``; ValueError on bad
    files (:func:`hdeq.core.check_data` validates the rest)."""
    X, y, names = _read_table(path, target)
    _check_finite(path, X, y, names, target)
    try:
        X, y = check_data(X, "features", path.name, y=y, y_name=f"target {target!r}")
    except ValueError as exc:   # e.g. entries too large to square
        text = str(exc).replace(f"`features` of {path.name}", f"the features of {path.name}")
        raise ValueError(text.replace(f"`target {target!r}` of {path.name}",
                                      f"the target {target!r} of {path.name}")) from None
    return X, y, names


def _read_table(path: Path, target: str):
    """Read ``path`` (.csv with a header row, or .npy 2-D array) and split off the target.

    For .csv the target is a column name, for .npy a column index (negative counts from
    the end). Returns ``(X, y, feature_names)``.
    """
    suffix = path.suffix.lower()
    if not path.exists():
        raise ValueError(f"FILE {str(path)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"FILE {str(path)!r} is a folder")
    if suffix == ".npy":
        return _read_npy(path, target)
    if suffix == ".csv":
        return _read_csv(path, target)
    raise ValueError(f"FILE must be a .csv or .npy file; got {path.name!r}")


def _read_npy(path: Path, target: str):
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic != b"\x93NUMPY":
        raise ValueError(f"{path.name} is not a NumPy .npy file (it does not start with the "
                         f".npy header); save the array with numpy.save")
    try:
        data = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise ValueError(f"{path.name} holds Python objects, not numbers; save a numeric "
                             f"2-D array") from None
        raise ValueError(f"cannot read {path.name}: {exc}") from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"cannot read {path.name} (truncated or damaged?): {exc}") from None
    if not (np.issubdtype(data.dtype, np.number) or data.dtype == np.bool_):
        raise ValueError(f"{path.name} must hold a numeric array; got dtype {data.dtype}")
    if data.ndim != 2 or data.shape[1] < 2:
        raise ValueError(f"{path.name} must hold a 2-D array with at least two columns; got "
                         f"shape {data.shape}")
    if data.shape[0] == 0:
        raise ValueError(f"{path.name} has no rows")
    try:
        col = int(target)
    except ValueError:
        raise ValueError(f"--target must be a column index for a .npy file; got {target!r}")
    k = data.shape[1]
    if not -k <= col < k:
        raise ValueError(f"--target must be a column index of {path.name}, in [0, {k - 1}] "
                         f"(or [-{k}, -1] from the end); got {col}")
    col %= k
    names = [str(j) for j in range(k) if j != col]
    return np.delete(data, col, axis=1), data[:, col], names


def _read_csv(path: Path, target: str):
    import pandas as pd

    _check_csv_fields(path)
    try:
        frame = pd.read_csv(path, index_col=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path.name} is empty (a .csv file needs a header row and data "
                         f"rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path.name} as .csv: {exc}") from None
    if target not in frame.columns:
        raise ValueError(f"--target {target!r} is not a column of {path.name}; columns are: "
                         f"{', '.join(map(str, frame.columns))}")
    if len(frame) == 0:
        raise ValueError(f"{path.name} has a header row but no data rows")
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise ValueError(f"{path.name} must have at least one feature column besides the "
                         f"target {target!r}; got only the target")
    numeric = pd.api.types.is_numeric_dtype
    bad = [c for c in frame.columns if not numeric(frame[c].dtype)]
    if bad:
        col = bad[0]
        values = pd.to_numeric(frame[col], errors="coerce")
        row = int(np.flatnonzero(values.isna() & frame[col].notna())[0])
        raise ValueError(f"all columns of {path.name} must be numeric; non-numeric: "
                         f"{', '.join(map(str, bad))} (e.g. column {col!r}, data row "
                         f"{row + 1}: {frame[col].iloc[row]!r})")
    return features.to_numpy(float), frame[target].to_numpy(float), list(features.columns)


def _check_csv_fields(path: Path) -> None:
    """Every row of a .csv has as many fields as its header (pandas would otherwise
    shift columns or fill NaN)."""
    try:
        with open(path, newline="") as fh:
            reader = _csv.reader(fh)
            header = next(reader, None)
            if header is None:
                return  # empty: reported by the reader
            for row in reader:
                if row and len(row) != len(header):
                    raise ValueError(f"{path.name}: line {reader.line_num} has {len(row)} "
                                     f"fields but the header has {len(header)}")
    except (UnicodeDecodeError, _csv.Error) as exc:
        raise ValueError(f"cannot read {path.name} as .csv: {exc}") from None


def _check_finite(path: Path, X, y, names, target) -> None:
    """Name the first missing, NaN or infinite value by its data row and column."""
    for values, cols in ((np.asarray(y, float)[:, None], [target]),
                         (np.asarray(X, float), names)):
        bad = ~np.isfinite(values)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            what = "missing or NaN" if np.isnan(values[i, j]) else "infinite"
            column = f"column {cols[j]!r}" if path.suffix.lower() == ".csv" else \
                f"column {cols[j]}"
            raise ValueError(f"{path.name}: data row {i + 1}, {column} is {what} "
                             f"({int(bad.sum())} such value{'s' if bad.sum() > 1 else ''} in "
                             f"all); every value must be a finite number")


def default_sizes(n_rows: int, n_features: int) -> np.ndarray:
    """About 12 geometric training sizes from ~min(10, N/10) up to N/2."""
    lo = max(2, min(10, n_rows // 10))
    hi = max(lo + 1, n_rows // 2)
    return np.unique(np.geomspace(lo, hi, 12).round().astype(int))


@app.command()
def predict(
    file: Path = typer.Argument(..., help="Data set: .csv (header row) or .npy (2-D array)."),
    target: str = typer.Option(..., "--target", "-t",
                               help="Target column: a name (.csv) or an index (.npy)."),
    model: ModelName = typer.Option(ModelName.ridge, "--model",
                                    help="ridge: learning curve in the training size; "
                                         "random-features: test error in the width N."),
    ridge: Optional[List[str]] = typer.Option(
        None, "--ridge", help="Ridge(s) on the covariance scale, e.g. '0.01,0.1' "
                              "(default 1e-3,1e-2,1e-1,1 times the mean feature variance)."),
    n_samples: Optional[List[str]] = typer.Option(
        None, "--n-samples", help="Training sizes, e.g. '50,100,200' (default: 12 sizes up "
                                  "to half the rows)."),
    trials: int = typer.Option(5, "--trials", min=0,
                               help="Random subsets fitted per size to check the prediction "
                                    "(0: prediction only)."),
    no_center: bool = typer.Option(False, "--no-center",
                                   help="Do not centre columns and target by their means."),
    activation: str = typer.Option("relu", "--activation",
                                   help="random-features: activation, e.g. relu, tanh, erf."),
    n_random_features: Optional[List[str]] = typer.Option(
        None, "--n-random-features", help="random-features: widths N, e.g. '20,100,500' "
                                          "(default: 12 widths from n/20 to 5n)."),
    test_fraction: float = typer.Option(0.3, "--test-fraction", min=0.05, max=0.95,
                                        help="random-features: share of rows held out."),
    max_rows: int = typer.Option(2000, "--max-rows", min=20,
                                 help="random-features: use at most this many rows (a random "
                                      "subset; the theory needs one n x n eigendecomposition)."),
    seed: int = typer.Option(0, "--seed"),
    png: Optional[Path] = typer.Option(None, "--png", help="Save the figure here."),
    csv: Optional[Path] = typer.Option(None, "--csv", help="Save the table here."),
):
    """Predict errors on FILE's rows: the ridge learning curve (test error vs training size)
    or random-feature ridge vs width, by the deterministic equivalent, beside actual fits.

    The rows are the population: their covariance, their least-squares coefficients and
    residual variance define the theory (see hdeq.learning_curve); integer data are
    converted to float.
    """
    from ..models import learning_curve

    check_figure_file(png, "--png")
    check_output_file(csv, "--csv")
    _note_small_data(file, target)
    if model is ModelName.random_features:
        _predict_random_features(file, target, ridge, n_random_features, activation,
                                 test_fraction, max_rows, trials, no_center, seed, png, csv)
        return
    try:
        X, y, _ = load_table(file, target)
        if trials == 1:
            raise ValueError("--trials must be 0 (prediction only) or >= 2")
        lam = _numbers(ridge, "--ridge")
        if lam is None:
            scale = float(np.mean(np.var(X, axis=0))) or 1.0
            lam = scale * np.array([1e-3, 1e-2, 1e-1, 1.0])
        sizes = _numbers(n_samples, "--n-samples", integer=True)
        if sizes is None:
            sizes = default_sizes(*X.shape)
        table = learning_curve(X, y, sizes, lam, center=not no_center,
                               simulate=trials >= 2, trials=max(trials, 2), seed=seed)
    except ValueError as exc:
        fail(str(exc))

    shown = table[table.quantity == "test_error"]
    out = Table(title=f"ridge learning curve of {file.name} (target {target}): test error "
                      f"on the row distribution")
    for col in ("n_samples", "ridge", "theory", "empirical", "stderr"):
        out.add_column(col, justify="right")
    for row in shown.itertuples():
        out.add_row(str(row.n_samples), f"{row.ridge:.4g}", f"{row.theory:.5g}",
                    "" if np.isnan(row.empirical) else f"{row.empirical:.5g}",
                    "" if np.isnan(row.stderr) else f"{row.stderr:.2g}")
    console.print(out)
    console.print(f"{X.shape[0]} rows, {X.shape[1]} features; theory = deterministic "
                  f"equivalent (Gaussian assumption), empirical = mean over {trials} random "
                  f"subsets evaluated on all rows" if trials >= 2 else
                  f"{X.shape[0]} rows, {X.shape[1]} features; prediction only (--trials 0)")
    if csv is not None:
        table.to_csv(csv, index=False)
        console.print(f"table written to {csv}")
    if png is not None:
        # theory lines on a dense grid of sizes, markers at the fitted sizes
        dense = np.unique(np.geomspace(sizes.min(), sizes.max(), 60).round().astype(int))
        lines = learning_curve(X, y, dense, lam, center=not no_center)
        _save_figure(table, lines, png, f"{file.name}: ridge learning curve")
        console.print(f"figure written to {png}")


def _save_figure(table, lines, path: Path, title: str) -> None:
    """Draw with the generic tidy-table plotting of hdeq.report: ``lines`` gives the theory
    curves, ``table`` the fitted markers."""
    from ..experiments import FigureSpec, make_table
    from ..report import plot_table, save_figure

    def panel(q):
        return "test error" if q == "test_error" else "training error"

    rows = [{"panel": panel(r.quantity), "series": f"ridge={r.ridge:.3g}", "x": r.n_samples,
             "theory": r.theory if np.isfinite(r.theory) else np.nan}   # inf at threshold
            for r in lines.itertuples()]
    rows += [{"panel": panel(r.quantity), "series": f"ridge={r.ridge:.3g}", "x": r.n_samples,
              "empirical": r.empirical, "stderr": r.stderr} for r in table.itertuples()
             if np.isfinite(r.empirical)]
    spec = FigureSpec(xlabel="training size n", ylabel="mean squared error", xscale="log",
                      yscale="log", ncols=2)
    save_figure(plot_table(make_table(rows), spec, title=title), path)


def _predict_random_features(file, target, ridge, widths, activation, test_fraction,
                             max_rows, trials, no_center, seed, png, csv) -> None:
    """`--model random-features`: train and test error of random-feature ridge regression
    on a random split of FILE's rows, as a function of the width N (hdeq.RandomFeaturesRidge:
    expectation over the random weights, conditioned on the data)."""
    from ..models import RandomFeaturesRidge

    try:
        X, y, _ = load_table(file, target)
        if trials == 1:
            raise ValueError("--trials must be 0 (prediction only) or >= 2")
        rng = np.random.default_rng(seed)
        rows = rng.permutation(X.shape[0])[:max_rows]
        X, y = X[rows], y[rows]
        if not no_center:
            scale = X.std(axis=0)
            X = (X - X.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
            y = y - y.mean()
        n_test = int(round(test_fraction * X.shape[0]))
        if n_test < 1 or X.shape[0] - n_test < 2:
            raise ValueError(f"--test-fraction {test_fraction} leaves no test or training rows "
                             f"out of {X.shape[0]}")
        X_train, y_train, X_test, y_test = X[n_test:], y[n_test:], X[:n_test], y[:n_test]
        n = X_train.shape[0]
        lam = _numbers(ridge, "--ridge")
        lam = np.array([1e-3, 1e-1]) if lam is None else lam
        N = _numbers(widths, "--n-random-features", integer=True)
        if N is None:
            N = np.unique(np.geomspace(max(2, n // 20), 5 * n, 12).round().astype(int))
        rf = RandomFeaturesRidge(X_train, y_train, X_test, y_test, activation=activation,
                                 n_random_features=N[None, :], ridge=lam[:, None])
        if trials >= 2:
            with console.status(f"fitting {trials} draws of the random weights ..."):
                table = rf.simulate(trials=trials, seed=seed)
        else:
            table = _theory_table(rf)
    except ValueError as exc:
        fail(str(exc))

    out = Table(title=f"random-feature ridge ({activation}) on {file.name} (target {target}): "
                      f"n = {n} training rows, {n_test} test rows")
    for col in ("N", "ridge", "train theory", "test theory", "test empirical", "stderr"):
        out.add_column(col, justify="right")
    wide = table.pivot_table(index=["n_random_features", "ridge"], columns="quantity",
                             values=["theory", "empirical", "stderr"], dropna=False)
    for (Nv, lv), row in wide.iterrows():
        emp, err = row[("empirical", "test_error")], row[("stderr", "test_error")]
        out.add_row(str(Nv), f"{lv:.3g}", f"{row[('theory', 'train_error')]:.5g}",
                    f"{row[('theory', 'test_error')]:.5g}",
                    "" if np.isnan(emp) else f"{emp:.5g}", "" if np.isnan(err) else f"{err:.2g}")
    console.print(out)
    if csv is not None:
        table.to_csv(csv, index=False)
        console.print(f"table written to {csv}")
    if png is not None:
        _save_rf_figure(table, n, png, f"{file.name}: random-feature ridge ({activation})")
        console.print(f"figure written to {png}")


def _theory_table(rf):
    import pandas as pd

    frames = []
    for quantity, values in (("train_error", rf.train_error()), ("test_error", rf.test_error())):
        frames.append(pd.DataFrame({"n_random_features": rf.n_random_features.ravel(),
                                    "ridge": rf.ridge.ravel(), "quantity": quantity,
                                    "theory": np.ravel(values), "empirical": np.nan,
                                    "stderr": np.nan}))
    return pd.concat(frames, ignore_index=True)


def _save_rf_figure(table, n, path: Path, title: str) -> None:
    from ..experiments import FigureSpec, make_table
    from ..report import plot_table, save_figure

    rows = [{"panel": f"ridge = {r.ridge:.3g}", "series": r.quantity.replace("_error", ""),
             "x": r.n_random_features / n, "theory": r.theory, "empirical": r.empirical,
             "stderr": r.stderr} for r in table.itertuples()]
    spec = FigureSpec(xlabel="N / n (width over training rows)", ylabel="mean squared error",
                      xscale="log", yscale="log", ncols=2)
    save_figure(plot_table(make_table(rows), spec, title=title), path)


def _note_small_data(file: Path, target: str) -> None:
    """Say so when the rows are few for the number of features: the theory is a
    large-size equivalent and fits on a handful of rows are noisy."""
    try:
        X, _, _ = load_table(file, target)
    except ValueError:
        return  # reported by the command itself
    if X.shape[0] < 2 * X.shape[1] or X.shape[0] < 50:
        console.print(f"[yellow]note:[/yellow] {X.shape[0]} rows for {X.shape[1]} features: "
                      f"the prediction is a large-size equivalent; with so few rows take it "
                      f"as indicative")
