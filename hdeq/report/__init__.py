"""Figures and reports (matplotlib is imported here, never by the numerics)."""
