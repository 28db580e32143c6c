"""How the report commands print: the shared formats plus Markdown, and table *views*.

``table``, ``json`` and ``csv`` go through :func:`aifinops.cli_output.emit`; ``markdown``
is written here (GitHub-flavoured tables, rounded like the terminal table). A report whose
rows are too wide for a terminal shows them as several views: each a title and the columns
it shows, under short headers; JSON and CSV always carry every column under its full name.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.markup import escape

from aifinops.cli_output import emit, out
from aifinops.render import FORMATS, plain

#: Output formats of the report commands: the shared ones, and Markdown.
REPORT_FORMATS = (*FORMATS, "markdown")
ReportFormatOpt = Annotated[
    str, typer.Option("--format", "-f", help="Output: table, json, csv or markdown.")
]
Row = dict[str, Any]


@dataclass(frozen=True)
class View:
    """Which columns of the rows a table shows, and under which headers."""

    headers: Mapping[str, str]

    @classmethod
    def of(cls, columns: Sequence[str], **renamed: str) -> View:
        """Return a view of ``columns``, each under its own name unless ``renamed``."""
        return cls({c: renamed.get(c, c) for c in columns})

    def rows(self, rows: Sequence[Row]) -> list[Row]:
        """Return the rows keyed by header, with only this view's columns."""
        return [{h: row.get(c) for c, h in self.headers.items()} for row in rows]

    def columns(self) -> list[str]:
        """Return the headers, in order."""
        return list(self.headers.values())


def show(
    rows: Sequence[Row],
    columns: Sequence[str],
    fmt: str,
    *,
    title: str | None = None,
    notes: Sequence[str] = (),
    **meta: Any,
) -> None:
    """Print rows as a table, JSON, CSV or Markdown.

    The table and Markdown show the notes under the rows; JSON carries the notes (as
    ``notes``) and ``meta`` beside the rows; CSV only the rows.
    """
    if fmt in ("table", "markdown"):
        show_views([(View.of(columns), title, rows)], fmt, notes=notes)
    elif fmt == "json":
        extra: dict[str, Any] = {"notes": list(notes)} if notes else {}
        emit(rows, columns, fmt, **extra, **meta)
    else:
        emit(rows, columns, fmt)


def show_views(
    tables: Sequence[tuple[View, str | None, Sequence[Row]]],
    fmt: str,
    *,
    notes: Sequence[str] = (),
) -> None:
    """Print (view, title, rows) tables one after another as ``table`` or ``markdown``,
    then the notes."""
    for view, title, rows in tables:
        shown = view.rows(rows)
        if fmt == "markdown":
            sys.stdout.write(to_markdown(shown, view.columns(), title=title))
        else:
            emit(shown, view.columns(), "table", title=title)
    if fmt == "markdown":
        sys.stdout.write("".join(f"{markdown_text(note)}\n\n" for note in notes))
    else:
        for note in notes:
            out.print(escape(note), highlight=False)


def to_markdown(rows: Sequence[Row], columns: Sequence[str], *, title: str | None = None) -> str:
    """Return rows as a GitHub-flavoured Markdown table, rounded like the terminal table
    (decimals to two places with thousands separators); numeric columns right-aligned."""
    numeric = {c for c in columns if any(_is_number(r.get(c)) for r in rows)}
    lines = [f"**{markdown_text(title)}**", ""] if title else []
    lines.append("| " + " | ".join(markdown_text(c) for c in columns) + " |")
    lines.append("|" + "|".join("---:" if c in numeric else "---" for c in columns) + "|")
    lines.extend("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows)
    return "\n".join(lines) + "\n\n"


def markdown_text(text: str) -> str:
    """Escape what a Markdown table would read as a cell border; no line breaks."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _is_number(value: Any) -> bool:
    return isinstance(value, (Decimal, int, float)) and not isinstance(value, bool)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return markdown_text(str(plain(value)))
