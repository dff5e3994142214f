"""The Typer application object; command modules attach their commands to it."""

import typer

app = typer.Typer(
    name="hdeq",
    help="Random-matrix-theory predictions for ML models, beside Monte-Carlo simulation.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """hdeq: theory beside simulation for high-dimensional learning problems."""
