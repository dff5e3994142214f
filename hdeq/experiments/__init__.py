"""Sweeps and named experiments (theory beside simulation, tidy tables)."""

from ._registry import (Agreement, Experiment, ExperimentResult, FigureSpec, make_table,
                        register, registered)

__all__ = ["Agreement", "Experiment", "ExperimentResult", "FigureSpec", "make_table",
           "register", "registered"]
