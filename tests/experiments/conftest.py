"""Readability checks shared by the experiment tests: what ``hdeq reproduce`` shows a
person (markdown tables in the summary, series naming, theory beside simulation)."""

import re

import numpy as np
import pytest


def _cells(line: str) -> list[str]:
    """Cells of one markdown table row; ``\\|`` is an escaped pipe inside a cell."""
    parts = re.split(r"(?<!\\)\|", line.strip())
    return parts[1:-1]


def markdown_table_problems(text: str) -> list[str]:
    """Rows of the markdown tables in ``text`` whose cell count differs from the header
    (an unescaped ``|`` such as in ``||β||`` splits a cell), plus a mismatch between the
    tables written and the tables markdown-it renders."""
    problems, blocks, block = [], [], []
    for line in text.splitlines() + [""]:
        if line.strip().startswith("|"):
            block.append(line)
        elif block:
            blocks.append(block)
            block = []
    for block in blocks:
        width = len(_cells(block[0]))
        problems += [f"{len(_cells(row))} cells, header {width}: {row}"
                     for row in block[1:] if len(_cells(row)) != width]
    try:
        from markdown_it import MarkdownIt
    except ImportError:  # pragma: no cover - optional renderer
        return problems
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    rendered = sum(t.type == "table_open" for t in tokens)
    if rendered != len(blocks):
        problems.append(f"{len(blocks)} tables written, {rendered} rendered")
    return problems


def readability_problems(result) -> list[str]:
    """Problems a reader of the report would see for one ExperimentResult."""
    problems = markdown_table_problems(result.summary)
    table = result.table
    for name in table["series"].astype(str).unique():
        # theory and simulation of one quantity share a series name (one colour, the
        # figure adds "(theory)" / "(simulation)")
        if re.search(r"\b(theory|simulation)\b", name):
            problems.append(f"series name {name!r} says theory/simulation")
    if result.figure.kind == "curve":
        emp = np.isfinite(table["empirical"].to_numpy(float))
        theo = np.isfinite(table["theory"].to_numpy(float))
        if np.any(emp & ~theo):
            problems.append(f"{int(np.sum(emp & ~theo))} simulated rows without theory")
    panels = set(table["panel"].astype(str))
    problems += [f"panel_axes names unknown panel {p!r}" for p in result.figure.panel_axes
                 if p not in panels]
    return problems


@pytest.fixture(scope="session")
def check_readable():
    def check(result):
        problems = readability_problems(result)
        assert not problems, problems
    return check
