"""`hdeq predict`: the learning curve of ridge regression on the user's data set."""

from __future__ import annotations

import csv as _csv
import re
from enum import Enum
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer
from rich.table import Table

from ..core import check_data
from . import _progress
from ._app import app
from ._options import (INTEGERS, NUMBERS, check_figure_file, check_table_file,
                       choices_metavar, cli_message, console, fail, given, note, parse_choice,
                       parse_integer, parse_number, parse_numbers, reject_unused,
                       write_or_fail)


class ModelName(str, Enum):
    ridge = "ridge"
    random_features = "random-features"


#: Library parameter names and the options that set them (for error messages).
OPTION_NAMES = {"n_samples": "--n-samples", "ridge": "--ridge", "trials": "--trials",
                "name_or_callable": "--activation", "n_random_features":
                "--n-random-features", "center=True": "centring",
                "center=False": "--no-center"}

#: Range of --test-fraction, and the fewest rows --max-rows may keep.
TEST_FRACTION = (0.05, 0.95)
MIN_MAX_ROWS = 20
#: Rows needed for the default training sizes (2 ... R/10, R rows).
MIN_ROWS_FOR_DEFAULT_SIZES = 40
#: Training sizes above this share of the rows are marked: subsets drawn without
#: replacement, and evaluated on all R rows, err below the i.i.d. theory by O(n/R).
HONEST_SHARE = 0.1


# ------------------------------------------------------------------------------ reading
def load_table(path: Path, target: str):
    """Read FILE and split off the target, with messages naming the file, and the row
    and column of a bad value. Returns ``(X, y, feature_names, notes)`` (``notes``: what
    the reader decided for the user, e.g. a dropped index column, to be printed);
    ValueError on bad files (:func:`hdeq.core.check_data` validates the rest)."""
    X, y, names, notes = _read_table(path, target)
    _check_finite(path, X, y, names, target)
    try:
        X, y = check_data(X, "features", path.name, y=y, y_name=f"target {target!r}")
    except ValueError as exc:   # e.g. entries too large to square
        text = str(exc).replace(f"`features` of {path.name}", f"the features of {path.name}")
        raise ValueError(text.replace(f"`target {target!r}` of {path.name}",
                                      f"the target {target!r} of {path.name}")) from None
    return X, y, names, notes


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
    if np.iscomplexobj(data):   # before any conversion to float, which would warn
        raise ValueError(f"{path.name} must hold real numbers; got complex values (dtype "
                         f"{data.dtype})")
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
    return np.delete(data, col, axis=1), data[:, col], names, []


def _read_csv(path: Path, target: str):
    import pandas as pd

    header = _check_csv_fields(path)
    try:
        frame = pd.read_csv(path, index_col=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path.name} is empty (a .csv file needs a header row and data "
                         f"rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path.name} as .csv: {exc}") from None
    # names as written, without the spaces around them (a header 'x0, x1, y' names 'y')
    frame.columns = [str(c).strip() for c in frame.columns]
    if target not in frame.columns:
        raise ValueError(f"--target {target!r} is not a column of {path.name}; columns are: "
                         f"{', '.join(map(str, frame.columns))}{_delimiter_hint(frame)}")
    if len(frame) == 0:
        raise ValueError(f"{path.name} has a header row but no data rows")
    notes = []
    first = frame.columns[0]
    if (header and not header[0].strip() and first != target and frame.shape[1] > 2
            and _is_row_index(frame[first])):
        # pandas' DataFrame.to_csv writes the index as a first column with an empty name
        frame = frame.drop(columns=[first])
        notes.append(f"the first column of {path.name} has no name and holds increasing "
                     f"integers: read as a row index (as DataFrame.to_csv writes it), not as "
                     f"a feature (save with index=False to leave it out)")
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
    return (features.to_numpy(float), frame[target].to_numpy(float), list(features.columns),
            notes)


def _is_row_index(column) -> bool:
    """Integer values, strictly increasing: what an index written by pandas looks like."""
    import pandas as pd

    if not pd.api.types.is_integer_dtype(column.dtype) or len(column) < 2:
        return False
    return bool(np.all(np.diff(column.to_numpy()) > 0))


def _delimiter_hint(frame) -> str:
    """A hint when the header was read as one field that holds another delimiter."""
    if frame.shape[1] != 1:
        return ""
    name = str(frame.columns[0])
    for sep, word in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
        if sep in name:
            return (f" (the header was read as one field: the file seems to separate its "
                    f"fields with {word}; hdeq reads comma-separated .csv files)")
    return ""


def _check_csv_fields(path: Path):
    """Every row of a .csv has as many fields as its header (pandas would otherwise
    shift columns or fill NaN). Returns the header's fields (None for an empty file)."""
    try:
        with open(path, newline="") as fh:
            reader = _csv.reader(fh)
            header = next(reader, None)
            if header is None:
                return None  # empty: reported by the reader
            for row in reader:
                if row and len(row) != len(header):
                    raise ValueError(f"{path.name}: line {reader.line_num} has {len(row)} "
                                     f"fields but the header has {len(header)}")
    except (UnicodeDecodeError, _csv.Error) as exc:
        raise ValueError(f"cannot read {path.name} as .csv: {exc}") from None
    return header


def _check_finite(path: Path, X, y, names, target) -> None:
    """Name the first missing, NaN or infinite value by its data row and column."""
    for values, cols in ((np.asarray(y, float)[:, None], [target]),
                         (np.asarray(X, float), names)):
        bad = ~np.isfinite(values)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            what = "missing or NaN" if np.isnan(values[i, j]) else "infinite"
            column = f"column {cols[j]!r}" if path.suffix.lower() == ".csv" else \
                f"column index {cols[j]}"
            raise ValueError(f"{path.name}: data row {i + 1}, {column} is {what} "
                             f"({int(bad.sum())} such value{'s' if bad.sum() > 1 else ''} in "
                             f"all); every value must be a finite number")


# ------------------------------------------------------------------------------ command
def default_sizes(n_rows: int) -> np.ndarray:
    """Up to 12 geometric training sizes n from about min(10, R/50) to R/10, for a file
    of R rows (N is the width of random features, as in the library).

    The subsets are drawn without replacement and evaluated on all R rows, so their
    error runs below the i.i.d. theory by O(n/R): on the diabetes data (R = 442) by
    about 1.5 % at n = R/10, less than the standard error of 5 trials there, but ten
    standard errors at n = R/2, where the earlier defaults ended."""
    lo = max(2, min(10, n_rows // 50))
    hi = int(HONEST_SHARE * n_rows)
    return np.unique(np.geomspace(lo, hi, 12).round().astype(int))


@app.command()
def predict(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Data set: .csv (header row) or .npy (2-D array)."),
    target: str = typer.Option(..., "--target", "-t",
                               help="Target column: a name (.csv) or an index (.npy)."),
    model: str = typer.Option(ModelName.ridge.value, "--model",
                              metavar=choices_metavar(ModelName),
                              help="ridge: learning curve in the training size n; "
                                   "random-features: test error in the width N."),
    ridge: Optional[List[str]] = typer.Option(
        None, "--ridge", metavar=NUMBERS,
        help="Ridge(s), e.g. '0.01,0.1'. Default for --model ridge: 1e-3,1e-2,1e-1,1 times "
             "the mean feature variance (the ridge is on the covariance scale); for --model "
             "random-features: 0.001,0.1 (absolute)."),
    n_samples: Optional[List[str]] = typer.Option(
        None, "--n-samples", metavar=INTEGERS,
        help="ridge: training sizes n, e.g. '50,100,200' (default: up to 12 sizes from "
             "about min(10, R/50) to R/10, R = the number of rows of FILE; needs 40 rows). "
             "Sizes above R/10 are marked: the subsets are drawn without replacement and "
             "evaluated on all R rows, so the empirical error runs below the theory by "
             "O(n/R)."),
    trials: str = typer.Option("5", "--trials", metavar="<int>",
                               help="Random subsets (ridge) or weight draws (random-features) "
                                    "fitted per size to check the prediction (0: prediction "
                                    "only; otherwise at least 2)."),
    no_center: bool = typer.Option(False, "--no-center",
                                   help="Use the raw columns (default: centre columns and "
                                        "target by their means; random-features also scales "
                                        "the columns to unit variance)."),
    activation: str = typer.Option(
        "relu", "--activation",
        help="random-features: activation. Closed-form kernels: linear, relu, leaky_relu, "
             "abs, sign, step, erf, quadratic, cubic, exp, sin, cos, gaussian; tanh, "
             "sigmoid, gelu, swish and softplus use quadrature (slower; it refuses thousands "
             "of near-duplicate rows of large norm: use erf instead of tanh there)."),
    n_random_features: Optional[List[str]] = typer.Option(
        None, "--n-random-features", metavar=INTEGERS,
        help="random-features: widths N, e.g. '20,100,500' (default: 12 widths from n/20 to "
             "5n, n = training rows)."),
    test_fraction: str = typer.Option(
        "0.3", "--test-fraction", metavar="<float>",
        help=f"random-features: share of rows held out, in [{TEST_FRACTION[0]:g}, "
             f"{TEST_FRACTION[1]:g}]."),
    max_rows: str = typer.Option(
        "2000", "--max-rows", metavar="<int>",
        help=f"random-features: use at most this many rows, at least {MIN_MAX_ROWS} (a random "
             f"subset; the theory needs n x n kernel matrices and their eigendecomposition)."),
    seed: str = typer.Option("0", "--seed", metavar="<int>",
                             help="Seed of the subsets and weight draws (an integer >= 0)."),
    png: Optional[Path] = typer.Option(None, "--png", help="Save the figure here."),
    csv: Optional[Path] = typer.Option(None, "--csv", help="Save the table here."),
):
    """Predicted errors on FILE's rows, beside actual fits.

    ridge: the learning curve (test error against the training size n); random-features:
    random-feature ridge against the width N. The theory is the deterministic
    equivalent. The rows are the population: their covariance, their least-squares
    coefficients and residual variance define the theory (see hdeq.learning_curve);
    integer data are converted to float.
    """
    check_figure_file(png, "--png")
    check_table_file(csv, "--csv")
    model = parse_choice(model, "--model", ModelName)
    trials = parse_integer(trials, "--trials", low=0)
    test_fraction = parse_number(test_fraction, "--test-fraction", *TEST_FRACTION)
    max_rows = parse_integer(max_rows, "--max-rows", low=MIN_MAX_ROWS)
    seed = parse_integer(seed, "--seed", low=0)
    if trials == 1:
        fail("--trials must be 0 (prediction only) or at least 2; got 1")
    if model is ModelName.random_features:
        reject_unused(ctx, {"n_samples": "--n-samples"},
                      "--model ridge only (random-features trains on the rows left by "
                      "--test-fraction, of at most --max-rows)")
    else:
        reject_unused(ctx, {"activation": "--activation", "n_random_features":
                            "--n-random-features", "test_fraction": "--test-fraction",
                            "max_rows": "--max-rows"}, "--model random-features only")
    lam = parse_numbers(ridge, "--ridge")
    sizes = parse_numbers(n_samples, "--n-samples", integer=True)
    widths = parse_numbers(n_random_features, "--n-random-features", integer=True)
    try:
        X, y, names, notes = load_table(file, target)
    except ValueError as exc:
        fail(cli_message(exc, OPTION_NAMES))
    for text in notes:
        note(text)
    console.print(f"{file.name}: {_describe(X.shape[0], names)}; target {target!r}")
    _note_small_data(X)
    if model is ModelName.random_features:
        _predict_random_features(ctx, file, target, X, y, lam, widths, activation,
                                 test_fraction, max_rows, trials, no_center, seed, png, csv)
    else:
        _predict_ridge(file, target, X, y, lam, sizes, trials, no_center, seed, png, csv)


def _predict_ridge(file, target, X, y, lam, sizes, trials, no_center, seed, png, csv):
    from ..models import learning_curve

    N, p = X.shape
    if lam is None:
        scale = float(np.mean(np.var(X, axis=0))) or 1.0
        lam = scale * np.array([1e-3, 1e-2, 1e-1, 1.0])
    if sizes is None:
        if N < MIN_ROWS_FOR_DEFAULT_SIZES:
            fail(f"{file.name} has {N} row{'s' if N != 1 else ''}; the default training "
                 f"sizes (2 to R/10, R rows) need at least {MIN_ROWS_FOR_DEFAULT_SIZES} rows: pass "
                 f"--n-samples (integers in [1, {N}])")
        sizes = default_sizes(N)
    elif np.any(sizes < 1) or np.any(sizes > N):
        fail(f"--n-samples must be integers in [1, {N}] (the rows of {file.name}); got "
             f"{', '.join(str(v) for v in sizes if not 1 <= v <= N)}")
    # work: per size and trial one eigendecomposition of the smaller Gram matrix and the
    # predictions on all rows
    m = np.minimum(sizes, p).astype(float)
    work = max(trials, 0) * float(np.sum(2 * sizes * p * m + 15 * m ** 3 + 2 * N * p * lam.size))
    # plus the fixed cost of a fit (drawing the subset, small products): measured ~110 us
    # at p = 20, R = 2000, where it dominates (the flops alone gave estimates 7x too low)
    work += max(trials, 0) * sizes.size * (1e-4 + 1e-8 * N) * _progress.flop_rate()
    try:
        with _progress.progress(work, f"fitting {trials} subsets at {sizes.size} sizes"):
            table = learning_curve(X, y, sizes, lam, center=not no_center,
                                   simulate=trials >= 2, trials=max(trials, 2), seed=seed)
    except ValueError as exc:
        fail(cli_message(exc, {**OPTION_NAMES, "X": f"the features of {file.name}"}))

    shown = table[table.quantity == "test_error"]
    out = Table(title=f"ridge learning curve of {file.name} (target {target}): test error "
                      f"on the row distribution")
    for col in ("n_samples", "ridge", "theory", "empirical", "stderr"):
        out.add_column(col, justify="right")
    marked = False
    for row in shown.itertuples():
        mark = row.n_samples > HONEST_SHARE * N and trials >= 2
        marked |= mark
        out.add_row(f"{row.n_samples}{' *' if mark else ''}", f"{row.ridge:.4g}",
                    f"{row.theory:.5g}",
                    "" if np.isnan(row.empirical) else f"{row.empirical:.5g}",
                    "" if np.isnan(row.stderr) else f"{row.stderr:.2g}")
    console.print(out)
    console.print(f"theory = deterministic equivalent (Gaussian assumption), empirical = "
                  f"mean over {trials} random subsets evaluated on all {N} rows"
                  if trials >= 2 else "prediction only (--trials 0)")
    if marked:
        console.print(f"* n > R/10 = {HONEST_SHARE * N:g} (R = {N} rows): the subsets are "
                      f"drawn without replacement from the {N} rows and evaluated on all of "
                      f"them (their own rows included), so the empirical error runs below the "
                      f"theory (i.i.d. rows) by O(n/R)")
    if csv is not None:
        write_or_fail(lambda: table.to_csv(csv, index=False), csv, "--csv")
        console.print(f"table written to {csv}")
    if png is not None:
        # theory lines on a dense grid of sizes through the table's own sizes (markers
        # there), and through p - 1, p and p + 1: without a ridge the theory is infinite
        # at n = p (marked by the plot) and largest next to it
        near_pole = [m for m in (p - 1, p, p + 1) if sizes.min() <= m <= sizes.max()]
        dense = np.unique(np.concatenate([
            np.geomspace(sizes.min(), sizes.max(), 60).round(), sizes, near_pole]).astype(int))
        lines = learning_curve(X, y, dense, lam, center=not no_center)
        write_or_fail(lambda: _save_figure(table, lines, png,
                                           f"{file.name}: ridge learning curve"),
                      png, "--png")
        console.print(f"figure written to {png}")


def _save_figure(table, lines, path: Path, title: str) -> None:
    """Draw with the generic tidy-table plotting of hdeq.report: ``lines`` gives the theory
    curves (an infinite value, ridgeless at n = p, is marked by the plot), ``table`` the
    fitted markers."""
    from ..experiments import FigureSpec, make_table
    from ..report import plot_table, save_figure

    def panel(q):
        return "test error" if q == "test_error" else "training error"

    rows = [{"panel": panel(r.quantity), "series": f"ridge={r.ridge:.3g}", "x": r.n_samples,
             "theory": r.theory} for r in lines.itertuples()]
    rows += [{"panel": panel(r.quantity), "series": f"ridge={r.ridge:.3g}", "x": r.n_samples,
              "empirical": r.empirical, "stderr": r.stderr} for r in table.itertuples()
             if np.isfinite(r.empirical)]
    spec = FigureSpec(xlabel="training size n", ylabel="mean squared error", xscale="log",
                      yscale="log", ncols=2)
    save_figure(plot_table(make_table(rows), spec, title=title), path)


# ------------------------------------------------------------------------------ random features
def rf_cost(n: int, n_test: int, p: int, widths, n_ridges: int, trials: int) -> dict:
    """Estimated peak memory (bytes) and work (floating-point operations) of
    `predict --model random-features`: the theory (n x n kernel matrices, one dense
    eigendecomposition) and, per width N, ``trials`` draws of the (N, n + n_test)
    feature matrices with one Gram matrix and one factorization per ridge.

    The constants were measured: the peak memory of the theory is about 3.5 n² doubles
    (4 n² here), of one width about N(p + 3n + 2n_test) doubles (a quarter more here),
    so the memory estimates err on the large side; a kernel entry costs about as much
    as 1250 operations at the rate of :func:`hdeq.cli._progress.flop_rate`.
    """
    f8 = 8.0
    widths = np.asarray(widths, float)
    grid = widths.size * n_ridges
    theory_bytes = f8 * (4.0 * n * n + 3.0 * n * n_test + 8.0 * grid * (n + n_test))
    theory_flops = (2.0 * p * n * (n + n_test) + 15.0 * n ** 3 + 2.0 * n_test * n * n
                    + 1250.0 * n * (n + n_test) + 10.0 * grid * n * (n_test + 10))
    kept = f8 * (n * n + 2.0 * n * n_test)          # kernel caches held while simulating
    m = np.minimum(widths, n)
    sim_bytes = 1.25 * f8 * (widths * (p + 3.0 * n + 2.0 * n_test) + 3.0 * m * m
                             + n_test * n) + kept
    sim_flops = trials * (2.0 * widths * p * (n + n_test) + 20.0 * widths * (n + n_test)
                          + 2.0 * m * m * np.maximum(widths, n) + 2.0 * n_test * n * widths
                          + n_ridges * (m ** 3 / 3.0 + 4.0 * m * (n + n_test)))
    return {"theory_bytes": theory_bytes, "sim_bytes": sim_bytes if trials else 0 * sim_bytes,
            "theory_flops": theory_flops, "sim_flops": sim_flops,
            "peak": max(theory_bytes, float(np.max(sim_bytes)) if trials else 0.0)}


def _split_sizes(n_rows: int, test_fraction: float):
    n_test = int(round(test_fraction * n_rows))
    return n_rows - n_test, n_test


def _check_rf_memory(n_rows_used, n, n_test, p, widths, default_widths, n_ridges, trials,
                     test_fraction, file) -> dict:
    """Refuse (naming what to lower) when the estimated peak memory exceeds the budget."""
    cost = rf_cost(n, n_test, p, widths, n_ridges, trials)
    budget = _progress.memory_budget()
    if cost["peak"] <= budget:
        return cost

    def fits(rows):
        n_r, nt_r = _split_sizes(rows, test_fraction)
        w = _default_widths(n_r) if default_widths else widths
        return rf_cost(n_r, nt_r, p, w, n_ridges, trials)["peak"] <= budget

    def fits_width(widest):
        w = np.minimum(widths, widest)
        return rf_cost(n, n_test, p, w, n_ridges, trials)["peak"] <= budget

    advice = []
    rows = _largest(fits, 20, n_rows_used)
    if rows is not None:
        advice.append(f"lower --max-rows to at most about {rows}")
    if trials and cost["theory_bytes"] <= budget:
        most = None if default_widths else _largest(fits_width, 1, int(np.max(widths)))
        if most is not None:
            advice.append(f"lower the largest --n-random-features to at most about {most}")
        advice.append("use --trials 0 (theory only)")
    widest = int(np.max(widths))
    sim = float(np.max(cost["sim_bytes"]))
    fail(f"--model random-features on {file.name} with {n} training and {n_test} test rows "
         f"and widths up to {widest} needs about {_progress.fmt_bytes(cost['peak'])} of "
         f"memory (theory {_progress.fmt_bytes(cost['theory_bytes'])}: {n} x {n} kernel "
         f"matrices"
         + (f"; simulation {_progress.fmt_bytes(sim)}: {widest} x {n + n_test} features"
            if trials else "")
         + f"), more than the {_progress.fmt_bytes(budget)} this command may use "
         f"({_progress.MEMORY_SHARE:.0%} of the memory available now)"
         + (f"; {', or '.join(advice)}" if advice else ""))


def _largest(fits, lo: int, hi: int):
    """The largest integer in [lo, hi) for which ``fits`` holds (``fits`` decreasing), by
    bisection; None when even ``lo`` does not fit."""
    if not fits(lo):
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def _default_widths(n: int) -> np.ndarray:
    return np.unique(np.geomspace(max(2, n // 20), 5 * n, 12).round().astype(int))


def _predict_random_features(ctx, file, target, X, y, lam, widths, activation, test_fraction,
                             max_rows, trials, no_center, seed, png, csv) -> None:
    """`--model random-features`: train and test error of random-feature ridge regression
    on a random split of FILE's rows, as a function of the width N (hdeq.RandomFeaturesRidge:
    expectation over the random weights, conditioned on the data)."""
    import pandas as pd

    from ..equivalents import activation as make_activation
    from ..models import RandomFeaturesRidge

    try:
        act = make_activation(activation)
    except ValueError as exc:
        fail(cli_message(exc, OPTION_NAMES))
    seeds = np.random.SeedSequence(seed).spawn(2)
    rows = np.random.default_rng(seeds[0]).permutation(X.shape[0])[:max_rows]
    X, y = X[rows], y[rows]
    if not no_center:
        scale = X.std(axis=0)
        X = (X - X.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
        y = y - y.mean()
    n, n_test = _split_sizes(X.shape[0], test_fraction)
    if n_test < 1 or n < 2:
        share = (f"--test-fraction {test_fraction:g}" if given(ctx, "test_fraction") else
                 f"the default --test-fraction {test_fraction:g}")
        fail(f"{file.name} has {X.shape[0]} row{'s' if X.shape[0] != 1 else ''}; holding out "
             f"{share} of them leaves {n_test} test and {n} training rows; random-features "
             f"needs at least 1 test and 2 training rows")
    X_train, y_train, X_test, y_test = X[n_test:], y[n_test:], X[:n_test], y[:n_test]
    lam = np.array([1e-3, 1e-1]) if lam is None else lam
    default_widths = widths is None
    N = _default_widths(n) if default_widths else widths
    if np.any(N < 1):
        fail(f"--n-random-features must be positive integers; got "
             f"{', '.join(str(v) for v in N if v < 1)}")
    if np.any(lam <= 0):
        fail(f"--ridge must be positive for --model random-features; got "
             f"{', '.join(f'{v:g}' for v in lam if v <= 0)}")
    N = np.unique(N)
    cost = _check_rf_memory(X.shape[0], n, n_test, X.shape[1], N, default_widths, lam.size,
                            trials, test_fraction, file)
    total = cost["theory_flops"] + (float(np.sum(cost["sim_flops"])) if trials else 0.0)
    what = (f"random-features theory ({n} x {n} kernel)"
            + (f" and {trials} weight draws at {N.size} widths" if trials else ""))
    try:
        rf = RandomFeaturesRidge(X_train, y_train, X_test, y_test, activation=act,
                                 n_random_features=N[None, :], ridge=lam[:, None])
        with _progress.progress(total, what) as steps:
            steps.describe(f"theory: {n} x {n} kernel and its eigendecomposition")
            theory = _theory_table(rf)
            steps.advance(cost["theory_flops"])
            if trials >= 2:
                parts = []
                for Nv, child, work in zip(N, seeds[1].spawn(N.size), cost["sim_flops"]):
                    steps.describe(f"{trials} draws of the weights at N = {Nv}")
                    part = rf.replace(n_random_features=np.array([[Nv]]), ridge=lam[:, None])
                    parts.append(part.simulate(trials=trials, seed=child))
                    steps.advance(work)
                table = _order(pd.concat(parts, ignore_index=True), lam)
            else:
                table = theory
    except ValueError as exc:
        fail(_rf_message(exc, activation))

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
        write_or_fail(lambda: table.to_csv(csv, index=False), csv, "--csv")
        console.print(f"table written to {csv}")
    if png is not None:
        write_or_fail(lambda: _save_rf_figure(table, n, png, f"{file.name}: random-feature "
                                                             f"ridge ({activation})"),
                      png, "--png")
        console.print(f"figure written to {png}")


def _rf_message(exc: Exception, activation: str) -> str:
    """A RandomFeaturesRidge error in command-line terms."""
    text = str(exc)
    if "Hermite expansion" in text:
        from ..equivalents import ACTIVATION_NAMES, activation as make_activation

        closed = [a for a in ACTIVATION_NAMES if make_activation(a).closed_form]
        rho = re.search(r"max \|ρ\| = ([0-9.]+)", text)
        return (f"the kernel of --activation {activation} has no closed form, and its "
                f"quadrature would be too long on these rows (many pairs of rows are "
                f"nearly parallel{f': max |ρ| = {rho.group(1)}' if rho else ''}); use an "
                f"activation with a closed-form kernel, e.g. --activation erf (close to "
                f"tanh), or one of {', '.join(closed)}")
    return cli_message(exc, OPTION_NAMES)


def _order(table, lam):
    """Rows in the order of one simulate() call over the whole grid: quantity (train,
    test), then ridge as given, then width."""
    key = table.assign(_q=(table.quantity != "train_error").astype(int),
                       _r=table.ridge.map({float(v): i for i, v in enumerate(lam)}))
    key = key.sort_values(["_q", "_r", "n_random_features"], kind="stable")
    return key.drop(columns=["_q", "_r"]).reset_index(drop=True)


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


def _note_small_data(X) -> None:
    """Say so when the rows are few for the number of features: the theory is a
    large-size equivalent and fits on a handful of rows are noisy."""
    N, p = X.shape
    if N < 2 * p or N < 50:
        note(f"{N} row{'s' if N != 1 else ''} for {p} feature{'s' if p != 1 else ''}: the "
             f"prediction is a large-size equivalent; with so few rows take it as indicative")


def _describe(n_rows: int, names) -> str:
    """'2000 rows, 20 features (x0, x1, x2, ..., x19)': what the command read."""
    p = len(names)
    shown = list(map(str, names)) if p <= 6 else [*map(str, names[:3]), "...", str(names[-1])]
    return (f"{n_rows} row{'s' if n_rows != 1 else ''}, {p} feature{'s' if p != 1 else ''} "
            f"({', '.join(shown)})")
