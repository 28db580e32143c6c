"""What the command line shares: consoles, error handling, output formats, progress bars."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aifinops.errors import AifinopsError, BadInputError
from aifinops.render import FORMATS, to_csv, to_json, to_table

#: Exit codes: 0 ok, 1 findings (violations, breaches), 2 bad input.
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2

# Piped output is not cut to 80 columns: tables stay readable in logs and files.
_WIDTH = max(140, shutil.get_terminal_size((140, 40)).columns)
out = Console(width=_WIDTH)
err = Console(stderr=True, width=_WIDTH)


@contextmanager
def errors() -> Iterator[None]:
    """Print our errors on stderr and exit 2; the message says what to fix."""
    try:
        yield
    except AifinopsError as exc:
        # NOTE: messages hold paths and values such as "[draft]/costs.csv" or "['EUR', 'USD']";
        # escaped, Rich prints them as they are instead of reading them as markup.
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def check_format(fmt: str, allowed: Sequence[str] = FORMATS) -> None:
    """Reject an unknown ``--format`` value.

    Raises:
        BadInputError: naming the allowed formats.
    """
    if fmt not in allowed:
        raise BadInputError(
            f"unknown output format {fmt!r}",
            column="--format",
            expected=" or ".join(allowed),
            fix=f"pass --format {'|'.join(allowed)}.",
        )


def emit(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    *,
    title: str | None = None,
    **meta: Any,
) -> None:
    """Print rows as a table (default), JSON or CSV."""
    if fmt == "json":
        sys.stdout.write(to_json(rows, **meta) + "\n")
    elif fmt == "csv":
        sys.stdout.write(to_csv(rows, columns))
    else:
        out.print(to_table(rows, columns, title=title))


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    """Yield a ``(step, done, total)`` callback that drives a progress bar on stderr."""
    if not enabled:
        yield lambda step, done, total: None
        return
    bar = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )
    tasks: dict[str, Any] = {}

    def update(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bar.add_task(step, total=total)
        bar.update(tasks[step], completed=done, total=total)

    with bar:
        yield update
