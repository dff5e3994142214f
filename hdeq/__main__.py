"""`python -m hdeq` runs the command line."""

from hdeq.cli import app

app(prog_name="hdeq")
