"""Shared fixtures: where the shared sample data lives, and a fresh lake per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from aifinops.lake.store import Lake

#: The repository's parent directory holds ``shared/``; the data is never copied in.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Return the shared data directory, or skip when this checkout has none beside it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (the repo's sibling shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sample_csv(shared_data: Path) -> Path:
    """Return the official FOCUS 1.0 sample (1,000 rows: AWS, Microsoft, Oracle)."""
    path = shared_data / "samples" / "focus" / "FOCUS-1.0_focus_sample.csv"
    if not path.is_file():
        pytest.skip(f"FOCUS sample not found at {path}")
    return path


@pytest.fixture
def tmp_lake(tmp_path: Path) -> Lake:
    """Return a new, empty lake in the test's temporary directory."""
    return Lake.open(tmp_path / "lake")
