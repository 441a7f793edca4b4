"""What every ``lifeline`` subcommand says when it refuses: a red line, an exit code, English text."""

from __future__ import annotations

import typer

from app.core import i18n


def fail(message: str, code: int = 1) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code=code)


def english(exc) -> str:
    """A domain error for the operator, in English, naming the field it is about."""
    token = i18n.current_language.set("en")
    try:
        text = exc.translated()
    finally:
        i18n.current_language.reset(token)
    field = getattr(exc, "field", None)
    return f"{field}: {text}" if field else text
