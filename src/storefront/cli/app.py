"""The `storefront` command and its console; each command module adds its commands to it."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    help="storefront: search-and-analytics-heavy storefront backend.", no_args_is_help=True
)
console = Console()


def group(name: str, help: str, panel: str) -> typer.Typer:
    """A command group (`storefront <name> …`), listed under `panel` in the help."""
    sub = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(sub, name=name, rich_help_panel=panel)
    return sub
