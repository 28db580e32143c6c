"""Write docs/cli-reference.md from the CLI's own help (run: python scripts/gen_cli_reference.py).

tests/test_docs.py fails when the file is out of date, so the reference never drifts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from aifinops.cli import app

TARGET = Path(__file__).resolve().parents[1] / "docs" / "cli-reference.md"


def command_paths(group: typer.Typer = app, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Return every command as its words after ``aifinops``, sorted."""
    found = [
        (*prefix, c.name or (c.callback.__name__ if c.callback else ""))
        for c in group.registered_commands
    ]
    for sub in group.registered_groups:
        if sub.typer_instance is not None and sub.name:
            found.extend(command_paths(sub.typer_instance, (*prefix, sub.name)))
    return sorted(found)


def render() -> str:
    """Return the CLI reference as Markdown."""
    runner = CliRunner()
    lines = [
        "# CLI reference",
        "",
        "Generated from the command line's own help by `scripts/gen_cli_reference.py`;",
        "`tests/test_docs.py` checks it is current. Exit codes: 0 ok, 1 findings, 2 bad input.",
        "",
    ]
    for path in command_paths():
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100", "NO_COLOR": "1"})
        help_text = "\n".join(line.rstrip() for line in result.output.splitlines())
        lines += [f"## `aifinops {' '.join(path)}`", "", "```text", help_text.strip(), "```", ""]
    return "\n".join(lines)


def main() -> int:
    """Write the reference; with --check, exit 1 when the file is stale instead."""
    text = render()
    if "--check" in sys.argv:
        return 0 if TARGET.read_text() == text else 1
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
