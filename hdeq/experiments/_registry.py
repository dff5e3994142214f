"""Registry of named experiments: theory and simulation side by side.

An experiment is a function ``run(quick: bool, seed: int) -> ExperimentResult``
registered under a name with :func:`register`. ``hdeq reproduce`` runs all of them
(or ``--only NAME``), and :mod:`hdeq.report` turns each result into a PNG figure, a
CSV table and a section of ``report.md``. This layer never imports plotting: a result
carries a tidy table and a :class:`FigureSpec` that says how a person should see it.

Tidy table convention (one row per parameter point):

``panel``      which subplot the row belongs to (string);
``series``     which curve inside the panel (string);
``x``          abscissa;
``theory``     the theoretical value (NaN where only simulation exists);
``empirical``  the Monte-Carlo / real-data value (NaN where only theory exists);
``stderr``     standard error of ``empirical`` (NaN where not applicable);
plus any parameter columns the experiment wants to keep.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

TABLE_COLUMNS = ("panel", "series", "x", "theory", "empirical", "stderr")


@dataclass(frozen=True)
class Agreement:
    """One agreement statistic between theory and simulation.

    ``value`` is compared to ``tolerance`` (smaller is better): the experiment
    passes when ``value <= tolerance``. ``description`` says what was measured.
    """

    statistic: str
    value: float
    tolerance: float
    description: str = ""

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.value) and self.value <= self.tolerance)

    def to_dict(self) -> dict:
        return {"statistic": self.statistic, "value": float(self.value),
                "tolerance": float(self.tolerance), "passed": self.passed,
                "description": self.description}


@dataclass(frozen=True)
class FigureSpec:
    """How to draw a result table.

    ``kind`` is ``"curve"`` (theory lines, empirical markers with error bars) or
    ``"density"`` (theory line over an empirical histogram drawn as bars; the rows
    with finite ``empirical`` are bin centres). ``panel_axes`` maps a panel name to
    its own ``(xlabel, ylabel)`` where it differs from the common labels;
    ``empirical_label`` names the empirical side in legends ("simulation", or "data"
    for measurements on a real data set).

    Series: give the theory and the simulation of one quantity the SAME ``series``
    name (one colour, legend "name (theory)" / "name (simulation)"). A series'
    theory is drawn as a line from its theory-only rows (a dense grid) and the rows
    it shares with simulation.
    """

    xlabel: str = "x"
    ylabel: str = "value"
    kind: str = "curve"
    xscale: str = "linear"
    yscale: str = "linear"
    ncols: int = 3
    panel_axes: dict = field(default_factory=dict)
    empirical_label: str = "simulation"


@dataclass(frozen=True)
class ExperimentResult:
    name: str
    title: str
    table: pd.DataFrame
    agreement: tuple[Agreement, ...]
    summary: str
    figure: FigureSpec = field(default_factory=FigureSpec)

    def __post_init__(self):
        missing = [c for c in TABLE_COLUMNS if c not in self.table.columns]
        if missing:
            raise ValueError(f"table of experiment {self.name!r} lacks columns {missing}")

    @property
    def passed(self) -> bool:
        return all(a.passed for a in self.agreement)


@dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    run: Callable[[bool, int], ExperimentResult]
    issue_area: str


_REGISTRY: dict[str, Experiment] = {}

# Modules that register experiments when imported (each holds one area's recipes).
EXPERIMENT_MODULES = (
    "hdeq.experiments.spectra",
    "hdeq.experiments.kernels",
    "hdeq.experiments.linear_models",
    "hdeq.experiments.random_features",
    "hdeq.experiments.dynamics",
    "hdeq.experiments.scaling",
)


def register(name: str, title: str, area: str = "spectra"):
    """Decorator registering ``run(quick, seed) -> ExperimentResult`` under ``name``."""

    def wrap(func):
        if name in _REGISTRY and _REGISTRY[name].run is not func:
            raise ValueError(f"experiment {name!r} is registered twice")
        _REGISTRY[name] = Experiment(name, title, func, area)
        return func

    return wrap


def registered() -> dict[str, Experiment]:
    """All registered experiments (imports the recipe modules), in a fixed order: by
    module as listed in ``EXPERIMENT_MODULES``, then in order of registration within a
    module, whatever order the modules happened to be imported in."""
    for module in EXPERIMENT_MODULES:
        importlib.import_module(module)
    rank = {m: i for i, m in enumerate(EXPERIMENT_MODULES)}
    names = sorted(_REGISTRY, key=lambda n: rank.get(_REGISTRY[n].run.__module__,
                                                     len(rank)))  # stable within a module
    return {n: _REGISTRY[n] for n in names}


def make_table(rows) -> pd.DataFrame:
    """Build a tidy table from a list of dicts, filling missing standard columns with NaN."""
    table = pd.DataFrame(list(rows))
    for col in TABLE_COLUMNS:
        if col not in table.columns:
            table[col] = np.nan
    front = list(TABLE_COLUMNS)
    return table[front + [c for c in table.columns if c not in front]]
