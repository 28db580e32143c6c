"""The docs cover what the code offers: commands, x_ columns, settings, dimensions."""

from __future__ import annotations

import runpy
from pathlib import Path

from aifinops.analyze.spend import DIMENSIONS
from aifinops.focus.extensions import EXTENSION_NAMES
from aifinops.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _generator() -> dict[str, object]:
    return runpy.run_path(str(ROOT / "scripts" / "gen_cli_reference.py"), run_name="docs")


def test_cli_reference_is_current() -> None:
    gen = _generator()
    expected = gen["render"]()  # type: ignore[operator]
    assert (DOCS / "cli-reference.md").read_text() == expected, (
        "docs/cli-reference.md is stale: run .venv/bin/python scripts/gen_cli_reference.py"
    )


def test_every_command_is_in_the_reference_and_the_readme() -> None:
    paths = _generator()["command_paths"]()  # type: ignore[operator]
    reference = (DOCS / "cli-reference.md").read_text()
    docs_text = (
        "\n".join(p.read_text() for p in DOCS.glob("*.md")) + (ROOT / "README.md").read_text()
    )
    for path in paths:
        words = " ".join(path)
        assert f"## `aifinops {words}`" in reference
        if words != "version":
            assert f"aifinops {words}" in docs_text, f"`aifinops {words}` is not described"


def test_every_x_column_is_documented() -> None:
    text = (DOCS / "focus.md").read_text()
    for name in EXTENSION_NAMES:
        assert f"`{name}`" in text, name


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text()
    for name in Settings.model_fields:
        assert f"`{name}`" in text, name


def test_every_spend_dimension_is_documented() -> None:
    text = (DOCS / "reports.md").read_text()
    for name in DIMENSIONS:
        assert f"`{name}`" in text, name
