"""The Typer application object; command modules attach their commands to it."""

import contextlib

import typer
from typer.core import TyperGroup

from ._options import fail

try:   # typer >= 0.24 carries its own copy of click
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:   # pragma: no cover - older typer on click
    from click.exceptions import UsageError

    try:
        from click.exceptions import NoArgsIsHelpError
    except ImportError:
        NoArgsIsHelpError = ()


@contextlib.contextmanager
def _one_line_usage_errors():
    """A usage error of the option parser (unknown option, missing argument or option,
    an option value given to a flag) ends the command as every other error does: one
    ``error:`` line, exit status 2. Option values are checked by the commands
    (hdeq.cli._options), not by the parser, so that their messages name the range."""
    try:
        yield
    except NoArgsIsHelpError:
        raise
    except UsageError as exc:
        text = exc.format_message().rstrip(".")
        where = exc.ctx.command_path if exc.ctx is not None else "hdeq"
        fail(f"{text[:1].lower()}{text[1:]} (see '{where} --help')")


class _Group(TyperGroup):
    def make_context(self, *args, **kwargs):
        with _one_line_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _one_line_usage_errors():
            return super().invoke(ctx)


app = typer.Typer(
    cls=_Group,
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
