"""Checks of command-line options shared by the commands (before any computation)."""

from __future__ import annotations

from pathlib import Path

import typer


def check_output_file(path: Path | None, option: str) -> None:
    """An output file must be writable: its folder exists and it is not a folder."""
    if path is None:
        return
    if path.is_dir():
        raise typer.BadParameter(f"{option} is a folder, not a file: {str(path)!r}")
    if not path.parent.exists() or not path.parent.is_dir():
        raise typer.BadParameter(f"{option}: the folder does not exist: {str(path.parent)!r}")


#: Figure formats matplotlib writes without extra software.
FIGURE_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp")


def check_figure_file(path: Path | None, option: str = "--png") -> None:
    """A figure path: writable (see :func:`check_output_file`) with a known format."""
    check_output_file(path, option)
    if path is not None and path.suffix.lower().lstrip(".") not in FIGURE_FORMATS:
        raise typer.BadParameter(f"{option} must end in one of "
                                 f"{', '.join('.' + f for f in FIGURE_FORMATS)}; got "
                                 f"{path.name!r}")


def check_output_folder(path: Path, option: str) -> None:
    """An output folder may exist (its files are replaced) but must not be a file."""
    if path.exists() and not path.is_dir():
        raise typer.BadParameter(f"{option} is a file, not a folder: {str(path)!r}")
