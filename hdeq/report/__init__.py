"""Figures and reports (matplotlib is imported here, never by the numerics)."""

from ._figures import plot_result, plot_table, save_figure
from ._report import read_entries, write_report, write_result
from ._spectrum import SpectrumDisplay, density_grid

__all__ = ["SpectrumDisplay", "density_grid", "plot_result", "read_entries", "plot_table", "save_figure", "write_report", "write_result"]
