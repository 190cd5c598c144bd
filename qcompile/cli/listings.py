"""``qcompile passes`` and ``qcompile models``: what can be named on the command line."""

from __future__ import annotations

from .io import stdout


def cmd_passes(args) -> None:
    from rich.table import Table

    from ..passes import available_passes

    table = Table("pass", "description")
    for name, description in sorted(available_passes().items()):
        table.add_row(name, description)
    stdout.print(table)


def cmd_models(args) -> None:
    from rich.table import Table

    from ..models import list_models

    table = Table("model", "description")
    for name, description in sorted(list_models().items()):
        table.add_row(f"zoo:{name}", description)
    stdout.print(table)


def add_listing_commands(subparsers) -> None:
    subparsers.add_parser("passes", help="list registered passes").set_defaults(func=cmd_passes)
    subparsers.add_parser("models", help="list the model zoo").set_defaults(func=cmd_models)
