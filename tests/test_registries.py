"""Meta-tests of the reader registry: every reader declares what it is and what it fills."""

from __future__ import annotations

from pathlib import Path

import pytest

from aifinops.errors import BadInputError
from aifinops.focus.columns import COLUMNS_BY_NAME
from aifinops.ingest.readers import READERS, choose_reader
from aifinops.ingest.sniff import sniff


@pytest.mark.parametrize("name", sorted(READERS))
def test_reader_declares_itself(name: str) -> None:
    reader = READERS[name]
    assert reader.name == name
    assert reader.description and len(reader.description) < 200
    assert reader.provides and reader.provides <= set(COLUMNS_BY_NAME)


def test_unknown_forced_format_lists_the_readers(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(BadInputError) as caught:
        choose_reader(sniff(path), forced="oracle")
    assert caught.value.expected and "focus" in caught.value.expected


def test_unrecognised_file_names_every_format_tried(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Date,Amount\n2026-01-01,3\n")
    with pytest.raises(BadInputError) as caught:
        choose_reader(sniff(path))
    for name in READERS:
        assert name in str(caught.value)
    assert caught.value.fix and "--source-format" in caught.value.fix
