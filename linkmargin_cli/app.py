"""The root Typer application; each part's commands register themselves in a module beside this."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="linkmargin",
    help=(
        "Optical-margin monitor for data-center fiber links: polls transceiver optics, FEC and "
        "error counters, joins them with each link's recorded channel, and forecasts which links "
        "lose their margin before a training run ends."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"linkmargin {version('linkmargin')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """Optical-margin monitor for data-center fiber links."""
