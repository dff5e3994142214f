"""Input validation shared by every layer.

Messages follow one form: "`name` of Owner must be <expected>; got <value>."
"""

from __future__ import annotations

import numbers

import numpy as np


def _where(name: str, owner: str | None) -> str:
    return f"`{name}` of {owner}" if owner else f"`{name}`"


def _show(value) -> str:
    """A value as a person reads it: ``1.4``, not ``np.float64(1.4)``."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def check_scalar(value, name: str, owner: str | None = None, *, low=None, high=None,
                 low_inclusive: bool = False, high_inclusive: bool = False,
                 integer: bool = False) -> float | int:
    """Return ``value`` as a Python float (or int) after checking it is a finite real
    scalar in the given range; raise ``ValueError`` naming the parameter otherwise."""
    kind = "an integer" if integer else "a float"
    lo_b = "[" if low_inclusive else "("
    hi_b = "]" if high_inclusive else ")"
    rng = f"{lo_b}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi_b}"
    expected = f"{kind} in {rng}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        if not (integer is False and isinstance(value, np.ndarray) and value.ndim == 0
                and np.isrealobj(value)):
            raise ValueError(f"{_where(name, owner)} must be {expected}; got {_show(value)}")
        value = value.item()
    if integer:
        if not isinstance(value, numbers.Integral) and not float(value).is_integer():
            raise ValueError(f"{_where(name, owner)} must be {expected}; got {_show(value)}")
        value = int(value)
    else:
        value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{_where(name, owner)} must be {expected}; got {_show(value)}")
    if low is not None and (value < low or (value == low and not low_inclusive)):
        raise ValueError(f"{_where(name, owner)} must be {expected}; got {_show(value)}")
    if high is not None and (value > high or (value == high and not high_inclusive)):
        raise ValueError(f"{_where(name, owner)} must be {expected}; got {_show(value)}")
    return value


def check_bool(value, name: str, owner: str | None = None) -> bool:
    """Return ``value`` as a Python bool after checking it is one (``True``/``False`` or a
    ``numpy.bool_``); raise ``ValueError`` naming the parameter for anything else (a
    string such as ``"no"``, ``0``/``1``, None, an array), which would otherwise be read by
    its truthiness."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{_where(name, owner)} must be a bool (True or False); "
                         f"got {_show(value)}")
    return bool(value)


def _contains_bool(value) -> bool:
    """Whether ``value`` is a boolean or an array / (nested) sequence holding one
    (``np.asarray([True, 2])`` is an integer array, so sequences are looked into)."""
    if isinstance(value, (bool, np.bool_)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype == np.bool_
    if isinstance(value, (list, tuple)):
        return any(_contains_bool(v) for v in value)
    return False


def check_array(value, name: str, owner: str | None = None, *, ndim=None,
                nonnegative: bool = False, positive: bool = False,
                allow_complex: bool = False, allow_infinite: bool = False,
                allow_bool: bool = True, dtype=float) -> np.ndarray:
    """Return ``value`` as a finite ndarray (float, or complex where allowed; ``±inf``
    where ``allow_infinite``, never NaN).

    Raises ``ValueError`` for non-numeric, non-finite, complex (unless allowed),
    negative (when ``nonnegative``), boolean (unless ``allow_bool``; pass
    ``allow_bool=False`` for sizes and counts, where ``True`` is not a number) or wrongly
    shaped input.
    """
    where = _where(name, owner)
    if not allow_bool and _contains_bool(value):
        shown = value.tolist() if isinstance(value, np.ndarray) else value
        raise ValueError(f"{where} must be numbers, not booleans; got {_show(shown)}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise ValueError(f"{where} must be array-like; got {type(value).__name__}") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == np.bool_):
        raise ValueError(f"{where} must be a numeric array; got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        if not allow_complex:
            if np.any(arr.imag != 0):
                raise ValueError(f"{where} must be real; got complex values")
            arr = arr.real
        else:
            dtype = complex
    arr = arr.astype(dtype, copy=False)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise ValueError(f"{where} must have {' or '.join(map(str, allowed))} "
                             f"dimension(s); got shape {arr.shape}")
    if allow_infinite:
        if np.any(np.isnan(arr)):
            raise ValueError(f"{where} must not contain NaN")
    elif not np.all(np.isfinite(arr)):
        raise ValueError(f"{where} must contain only finite values; got NaN or inf")
    if positive and np.any(arr <= 0):
        raise ValueError(f"{where} must be positive; got minimum {_show(arr.min())}")
    if nonnegative and np.any(arr < 0):
        raise ValueError(f"{where} must be non-negative; got minimum {_show(arr.min())}")
    return arr


#: Largest magnitude accepted in user data: squares and sums of squares of up to
#: 1e8 such numbers stay finite in float64 (max about 1.8e308).
MAX_DATA_MAGNITUDE = 1e150


def _check_magnitude(arr: np.ndarray, name: str, owner: str | None) -> None:
    if arr.size and np.max(np.abs(arr)) > MAX_DATA_MAGNITUDE:
        raise ValueError(f"{_where(name, owner)} must have entries of magnitude at most "
                         f"{MAX_DATA_MAGNITUDE:g} (their squares must stay finite in float64); "
                         f"got {_show(np.max(np.abs(arr)))}: rescale the data")


def check_data(X, name: str = "X", owner: str | None = None, *, y=None,
               y_name: str = "y") -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Validate a user data matrix of shape (n_samples, n_features), and optionally
    targets of shape (n_samples,). Integer data are converted to float (documented).
    Entries larger than ``MAX_DATA_MAGNITUDE`` in absolute value are rejected (their
    squares would overflow)."""
    X = check_array(X, name, owner, ndim=2)
    _check_magnitude(X, name, owner)
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{_where(name, owner)} must have at least one row and one "
                         f"column; got shape {X.shape}")
    if y is None:
        return X
    y = check_array(y, y_name, owner, ndim=(1, 2))
    _check_magnitude(y, y_name, owner)
    if y.ndim == 2:
        if y.shape[1] != 1:
            raise ValueError(f"{_where(y_name, owner)} must have shape (n_samples,); "
                             f"got {y.shape}")
        y = y[:, 0]
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{_where(name, owner)} and {_where(y_name, owner)} must have the "
                         f"same number of rows; got {X.shape[0]} and {y.shape[0]}")
    return X, y


def check_population(population, name: str = "population", owner: str | None = None):
    """Normalize a population spectrum to ``(values, weights)``.

    Accepts an array of eigenvalues (equal weights), a pair ``(values, weights)`` of
    two 1-D arrays (a tuple of two numbers is two eigenvalues), or
    an object with ``atoms``/``support`` (a law), which is returned unchanged.
    Eigenvalues must be finite, real and non-negative; weights non-negative and
    summing to one (within 1e-10). Repeated values are merged.
    """
    if hasattr(population, "stieltjes") and hasattr(population, "support"):
        return population
    where = _where(name, owner)
    if (isinstance(population, tuple) and len(population) == 2
            and all(np.ndim(part) == 1 for part in population)):
        values = check_array(population[0], f"{name}[0] (values)", owner, ndim=1,
                             nonnegative=True)
        weights = check_array(population[1], f"{name}[1] (weights)", owner, ndim=1,
                              nonnegative=True)
        if values.shape != weights.shape:
            raise ValueError(f"{where}: values and weights must have the same length; "
                             f"got {values.shape[0]} and {weights.shape[0]}")
        total = weights.sum()
        if abs(total - 1.0) > 1e-10:
            raise ValueError(f"{where}: weights must sum to one; got {_show(total)}")
    else:
        values = check_array(population, name, owner, ndim=1, nonnegative=True)
        weights = np.full(values.shape, 1.0 / max(values.size, 1))
    if values.size == 0:
        raise ValueError(f"{where} must contain at least one eigenvalue; got none")
    if np.all(values == 0):
        raise ValueError(f"{where} must have at least one positive eigenvalue; got all zero")
    uniq, inverse = np.unique(values, return_inverse=True)
    merged = np.zeros(uniq.shape)
    np.add.at(merged, inverse, weights)
    keep = merged > 0
    return uniq[keep], merged[keep]


#: Relative tolerance for the symmetry and positive semi-definiteness of a covariance
#: matrix; eigenvalues within it of zero are rounding and are set to exactly zero.
PSD_RTOL = 1e-10


def check_covariance(covariance, name: str = "covariance", owner: str | None = None
                     ) -> tuple[np.ndarray, np.ndarray | None]:
    """Eigen-decompose a covariance given as eigenvalues or as a symmetric PSD matrix.

    Returns ``(eigenvalues, eigenvectors)``: for a 1-D array of non-negative eigenvalues
    (a diagonal covariance in the standard basis) a copy of it and ``None``; for a
    ``(p, p)`` matrix, one ``eigh`` of its symmetric part, with eigenvalues within
    ``PSD_RTOL * max|C|`` of zero set to exactly zero (rounding). Raises ``ValueError``
    for an empty, non-square, asymmetric (beyond ``PSD_RTOL``) or indefinite input.
    """
    where = _where(name, owner)
    cov = check_array(covariance, name, owner, ndim=(1, 2))
    if cov.ndim == 1:
        if cov.size == 0:
            raise ValueError(f"{where} must contain at least one eigenvalue; got none")
        if np.any(cov < 0):
            raise ValueError(f"{where} must be positive semi-definite (non-negative "
                             f"eigenvalues); got minimum {_show(cov.min())}")
        return cov.copy(), None
    if cov.shape[0] != cov.shape[1] or cov.shape[0] == 0:
        raise ValueError(f"{where} must be a 1-D array of eigenvalues or a square "
                         f"(n_features, n_features) matrix; got shape {cov.shape}")
    scale = max(float(np.max(np.abs(cov))), np.finfo(float).tiny)
    asym = float(np.max(np.abs(cov - cov.T)))
    if asym > PSD_RTOL * scale:
        raise ValueError(f"{where} must be a symmetric matrix; got max |C - C^T| = {asym:.3g}")
    evals, evecs = np.linalg.eigh((cov + cov.T) / 2)
    tol = PSD_RTOL * max(scale, abs(evals[-1]))
    if evals[0] < -tol:
        raise ValueError(f"{where} must be positive semi-definite; got minimum eigenvalue "
                         f"{evals[0]:.6g}")
    return np.where(evals <= tol, 0.0, evals), evecs


def as_generator(seed) -> np.random.Generator:
    """Normalize ``seed`` (None, int, SeedSequence or Generator) to a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and not isinstance(seed, (numbers.Integral, np.random.SeedSequence)):
        raise ValueError(f"`seed` must be a non-negative int, a numpy Generator or None; "
                         f"got {_show(seed)}")
    if isinstance(seed, numbers.Integral) and seed < 0:
        raise ValueError(f"`seed` must be a non-negative int, a numpy Generator or None; "
                         f"got {_show(seed)}")
    return np.random.default_rng(seed)


def check_on_failure(on_failure: str) -> str:
    """Validate the ``on_failure`` option of public solvers ('raise' or 'nan')."""
    if on_failure not in ("raise", "nan"):
        raise ValueError(f"`on_failure` must be 'raise' or 'nan'; got {on_failure!r}")
    return on_failure
