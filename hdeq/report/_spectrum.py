"""`SpectrumDisplay`: a law's density, optionally over the histogram of a finite draw."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def density_grid(law, n_points: int = 400, margin: float = 0.05) -> np.ndarray:
    """A grid covering the law's support (all intervals) with a small margin, denser
    near the edges where square-root behaviour is steepest."""
    intervals = [tuple(map(float, iv)) for iv in law.support]
    lo = min(a for a, _ in intervals)
    hi = max(b for _, b in intervals)
    pad = margin * (hi - lo)
    pieces = [np.linspace(max(lo - pad, 0.0) if lo >= 0 else lo - pad, hi + pad, n_points)]
    per = max(20, n_points // (4 * len(intervals)))
    for a, b in intervals:  # Chebyshev-like clustering at each edge
        theta = np.linspace(0.0, np.pi, per)
        pieces.append(a + (b - a) * (1 - np.cos(theta)) / 2)
    return np.unique(np.concatenate(pieces))


def bin_edges(support, limits, bins: int) -> np.ndarray:
    """Histogram bin edges over ``limits`` (lo, hi) in which every edge of every support
    interval is a bin edge: about ``bins`` bins of roughly equal width, each interval
    (and each gap or margin) divided evenly."""
    lo, hi = limits
    cuts = sorted({v for iv in support for v in iv if lo < v < hi} | {lo, hi})
    step = (hi - lo) / max(bins, 1)
    edges = [np.linspace(a, b, max(1, int(round((b - a) / step))) + 1)
             for a, b in zip(cuts[:-1], cuts[1:])]
    return np.unique(np.concatenate(edges))


@dataclass
class SpectrumDisplay:
    """Density of a spectral law (and, optionally, eigenvalues of one finite draw).

    Compute once with :meth:`from_law`, then :meth:`plot` only styles (scikit-learn's
    Display pattern). ``table`` is tidy: x, density, plus a histogram of ``eigenvalues``.
    """

    x: np.ndarray
    density: np.ndarray
    atoms: tuple
    eigenvalues: np.ndarray | None = None
    label: str = ""
    support: tuple = ()

    @classmethod
    def from_law(cls, law, *, n_points: int = 400, eigenvalues=None, label: str = ""):
        x = density_grid(law, n_points)
        return cls(x=x, density=np.asarray(law.pdf(x), float), atoms=tuple(law.atoms),
                   eigenvalues=None if eigenvalues is None else np.sort(np.asarray(eigenvalues)),
                   label=label, support=tuple(tuple(map(float, iv)) for iv in law.support))

    def histogram(self, bins: int | None = None):
        """Density histogram of the finite-draw eigenvalues over the grid range
        (eigenvalues at atoms are excluded: they are reported as masses).

        Every edge of the law's support is a bin edge (:func:`bin_edges`), so no bin
        straddles an edge and shows density where the law has none.
        """
        if self.eigenvalues is None:
            return None
        ev = self.eigenvalues
        atom_locs = [loc for loc, _ in self.atoms]
        tol = 1e-8 * max(1.0, float(np.abs(ev).max()))
        at_atom = np.zeros(ev.shape, bool)
        for loc in atom_locs:
            at_atom |= np.abs(ev - loc) <= tol
        cont = ev[~at_atom]
        bins = bins or int(np.clip(np.sqrt(ev.size) * 1.5, 20, 80))
        edges = bin_edges(self.support, (float(self.x.min()), float(self.x.max())), bins)
        counts, edges = np.histogram(cont, bins=edges)
        width = np.diff(edges)
        return edges, counts / (ev.size * width)

    def table(self) -> pd.DataFrame:
        """Tidy: x, density, kind ('theory' or 'histogram'), and for histogram rows the
        bin ``width`` (bins are not all equally wide, see :meth:`histogram`)."""
        rows = pd.DataFrame({"x": self.x, "density": self.density, "kind": "theory",
                             "width": np.nan})
        hist = self.histogram()
        if hist is not None:
            edges, dens = hist
            rows = pd.concat([rows, pd.DataFrame({"x": (edges[1:] + edges[:-1]) / 2,
                                                  "density": dens, "kind": "histogram",
                                                  "width": np.diff(edges)})])
        return rows.reset_index(drop=True)

    def plot(self, ax=None):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        hist = self.histogram()
        if hist is not None:
            edges, dens = hist
            ax.bar(edges[:-1], dens, width=np.diff(edges), align="edge", alpha=0.3,
                   color="C0", label=f"eigenvalues (simulation, n_features = "
                                     f"{self.eigenvalues.size})")
        ax.plot(self.x, self.density, "C0-", lw=1.8,
                label=f"{self.label} (theory)" if self.label else "limiting density (theory)")
        for loc, mass in self.atoms:   # named in the legend: a label on the plot
            ax.axvline(loc, color="C3", ls="--", lw=1,   # would overlap the curve
                       label=f"atom: mass {mass:.3g} at {loc:.3g}")
        ax.set_xlabel("eigenvalue")
        ax.set_ylabel("density")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.25)
        return ax
