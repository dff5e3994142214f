"""Checks of command-line options shared by the commands (before any computation).

Every user error ends the command through :func:`fail`: one line ``error: ...`` naming the
command-line option (never a Python parameter), and exit status 2.
"""

from __future__ import annotations

import math
import os
import re
from enum import Enum
from pathlib import Path
from typing import Iterable, List, Mapping, Optional

import numpy as np
import typer
from rich.console import Console

console = Console()

#: Help-text placeholders for options that take comma-separated lists.
NUMBERS = "<numbers>"
INTEGERS = "<integers>"


def fail(message: str) -> None:
    """Print ``error: message`` on one line (no wrapping at the terminal width) and exit 2."""
    console.print(f"[red]error:[/red] {message}", soft_wrap=True, markup=True,
                  highlight=False)
    raise typer.Exit(2)


def note(message: str) -> None:
    """Print ``note: message`` on one line."""
    console.print(f"[yellow]note:[/yellow] {message}", soft_wrap=True, highlight=False)


_PARAM = re.compile(r"`([^`]+)`(?: of [\w.']+(?: '[^']*')?)?")
_ASSIGNMENT = re.compile(r"\b\w+=\w+\b")

#: Python wording in library messages and its command-line equivalent (no option of the
#: command line takes a callable).
PYTHON_TERMS = ((" or a callable;", ";"),)


def cli_message(exc: Exception, options: Mapping[str, str]) -> str:
    """A library error message in command-line terms: Python parameter names
    (``\\`aspect_ratio\\` of MarchenkoPastur`` or a bare ``\\`seed\\```) become the
    command-line options that set them (``--aspect-ratio``), keyword settings such as
    ``center=False`` the flag that makes them (``--no-center``), and the wording of
    :data:`PYTHON_TERMS` its command-line equivalent. ``options`` maps parameter names
    and keyword settings to option names; names not in it are kept."""
    def name(match):
        key = match.group(1)
        return options.get(key, options.get(key.split("[")[0], match.group(0)))

    text = _PARAM.sub(name, str(exc))
    text = _ASSIGNMENT.sub(lambda m: options.get(m.group(0), m.group(0)), text)
    for python, cli in PYTHON_TERMS:
        text = text.replace(python, cli)
    return text


def given(ctx: typer.Context, name: str) -> bool:
    """Whether the option (by its Python parameter name) was given on the command line."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")


def reject_unused(ctx: typer.Context, options: Mapping[str, str], where: str) -> None:
    """Fail when an option that does not apply (``options``: parameter name -> option
    name) was given; ``where`` says where it applies, e.g. '--model ridge only'."""
    used = [opt for name, opt in options.items() if given(ctx, name)]
    if used:
        fail(f"{', '.join(used)} {'applies' if len(used) == 1 else 'apply'} to {where}")


def parse_numbers(values: Optional[Iterable[str]], option: str, integer: bool = False):
    """Numbers from repeated and/or comma-separated values ('0.1,1' or --opt 0.1 --opt 1);
    None when the option is not given. Empty entries ('1,,3', '0.1,') are errors."""
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    out = []
    kind = "integers" if integer else "numbers"
    for text in values:
        for part in str(text).split(","):
            if not part.strip():
                fail(f"{option} must be comma-separated {kind}; got {text!r}, which has an "
                     f"empty entry")
            try:
                v = float(part)
            except ValueError:
                fail(f"{option} must be comma-separated {kind}; got {text!r} ({part.strip()!r} "
                     f"is not a number)")
            if not math.isfinite(v):
                fail(f"{option} must be finite {kind}; got {part.strip()!r}")
            if integer and not v.is_integer():
                fail(f"{option} must be integers; got {part.strip()!r}")
            out.append(int(v) if integer else v)
    if not out:
        fail(f"{option} needs at least one value; got none")
    return np.array(out)


def _bounds(low, high) -> str:
    if low is not None and high is not None:
        return f" in [{low:g}, {high:g}]"
    if low is not None:
        return f" >= {low:g}"
    return f" <= {high:g}" if high is not None else ""


def parse_number(text: Optional[str], option: str, low: Optional[float] = None,
                 high: Optional[float] = None) -> Optional[float]:
    """One finite number, in [low, high] when given (None when the option is not given)."""
    if text is None:
        return None
    what = f"a number{_bounds(low, high)}"
    try:
        value = float(text)
    except ValueError:
        fail(f"{option} must be {what}; got {text!r}")
    if not math.isfinite(value):
        fail(f"{option} must be a finite number{_bounds(low, high)}; got {text!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        fail(f"{option} must be {what}; got {text!r}")
    return value


def parse_integer(text: str, option: str, low: Optional[int] = None,
                  high: Optional[int] = None) -> int:
    """One integer, in [low, high] when given. The commands take integer options as text
    and check them here, so that a bad value gets the same one-line message as every
    other error (not the wording of the option parser)."""
    what = f"an integer{_bounds(low, high)}"
    try:
        value = float(text)
    except (TypeError, ValueError):
        fail(f"{option} must be {what}; got {text!r}")
    if not value.is_integer() or (low is not None and value < low) or \
            (high is not None and value > high):
        fail(f"{option} must be {what}; got {text!r}")
    return int(value)


def parse_choice(text: str, option: str, choices: type[Enum]):
    """The member of the Enum ``choices`` whose value is ``text``."""
    for member in choices:
        if member.value == text:
            return member
    fail(f"{option} must be one of {', '.join(m.value for m in choices)}; got {text!r}")


def choices_metavar(choices: type[Enum]) -> str:
    """Help-text placeholder listing the choices, e.g. ``<ridge|random-features>``."""
    return f"<{'|'.join(m.value for m in choices)}>"


def names(values: Optional[List[str]], option: str) -> Optional[List[str]]:
    """Names from repeated and/or comma-separated values; empty entries are errors."""
    if not values:
        return None
    out = []
    for text in values:
        for part in text.split(","):
            if not part.strip():
                fail(f"{option} must be comma-separated names; got {text!r}, which has an "
                     f"empty entry")
            out.append(part.strip())
    return out


def _probe_write(path: Path, option: str) -> None:
    """Open ``path`` for appending (creating it), then remove it if it was created: the
    only reliable test that the file can be written (permissions, read-only or special
    file systems such as /proc)."""
    existed = path.exists()
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        fail(f"{option}: cannot write {str(path)!r}: {exc.strerror or exc}")
    if not existed:
        try:
            path.unlink()
        except OSError:
            pass


def check_output_file(path: Path | None, option: str) -> None:
    """An output file must be writable: its folder exists and it is not a folder."""
    if path is None:
        return
    if path.is_dir():
        fail(f"{option} is a folder, not a file: {str(path)!r}")
    if not path.parent.exists() or not path.parent.is_dir():
        fail(f"{option}: the folder does not exist: {str(path.parent)!r}")
    _probe_write(path, option)


#: Figure formats matplotlib writes without extra software.
FIGURE_FORMATS = ("png", "pdf", "svg", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp")


def check_figure_file(path: Path | None, option: str = "--png") -> None:
    """A figure path: writable (see :func:`check_output_file`) with a known format."""
    if path is not None and path.suffix.lower().lstrip(".") not in FIGURE_FORMATS:
        fail(f"{option} must end in one of {', '.join('.' + f for f in FIGURE_FORMATS)}; got "
             f"{path.name!r}")
    check_output_file(path, option)


def check_table_file(path: Path | None, option: str = "--csv") -> None:
    """A table path: writable (see :func:`check_output_file`) and ending in .csv (a table
    written under another name, e.g. a.png, is a slip that is hard to notice later)."""
    if path is not None and not path.is_dir() and path.suffix.lower() != ".csv":
        fail(f"{option} must end in .csv; got {path.name!r}")
    check_output_file(path, option)


def check_output_folder(path: Path, option: str) -> None:
    """An output folder may exist (its files are replaced) but must not be a file; it is
    created here, and a file is written to it and removed, so that a folder that cannot
    be created or written is reported before any work."""
    if path.exists() and not path.is_dir():
        fail(f"{option} is a file, not a folder: {str(path)!r}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"{option}: cannot create the folder {str(path)!r}: {exc.strerror or exc}")
    _probe_write(path / f".hdeq-write-test-{os.getpid()}", option)


def write_or_fail(write, path: Path, option: str) -> None:
    """Run ``write()`` (which writes ``path``); an OSError (disk full, removed folder) is
    reported as a one-line error."""
    try:
        write()
    except OSError as exc:
        fail(f"{option}: cannot write {str(path)!r}: {exc.strerror or exc}")
