"""The Typer application object; command modules attach their commands to it."""

import typer

app = typer.Typer(
    name="hdeq",
    help="Random-matrix-theory predictions for ML models, beside Monte-Carlo simulation.",
    no_args_is_help=True,
    add_completion=False,
    # plain help: paragraphs re-wrapped to the terminal, no type shown beside flags
    # (typer's rich help keeps docstring line breaks and prints `--quick <bool>`)
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"hdeq {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_print_version,
                                      is_eager=True, help="Print the version and exit.")):
    """hdeq: theory beside simulation for high-dimensional learning problems."""
