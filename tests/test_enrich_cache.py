"""The compiled-enrichment cache: a hit is the compilation itself; any input change misses."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from aifinops.allocate.config import AllocationConfig
from aifinops.catalog import load_catalog
from aifinops.enrich import cache
from aifinops.enrich.compiled import compile_enrichment
from aifinops.enrich.config import EnrichConfig
from aifinops.enrich.sql import CompiledEnrichment

# NOTE: compiling takes seconds (Ibis), so the module compiles three times in all: the
# reference below, the first lookup in an empty cache, and the unwritable cache's.


@pytest.fixture(scope="module")
def compiled() -> CompiledEnrichment:
    """The enrichment compiled directly, without the cache."""
    return compile_enrichment()


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, CompiledEnrichment]]:
    """A cache directory, empty until one lookup compiled into it; and that lookup's result."""
    folder = tmp_path_factory.mktemp("enrich") / "cache"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(cache.CACHE_ENV, str(folder))
        assert not folder.exists()
        yield folder, cache.enrichment()


@pytest.fixture
def cached(filled: tuple[Path, CompiledEnrichment], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(cache.CACHE_ENV, str(filled[0]))
    return filled[0]


def test_a_hit_returns_exactly_the_compiled_sql(
    filled: tuple[Path, CompiledEnrichment], cached: Path, compiled: CompiledEnrichment
) -> None:
    first = filled[1]
    assert len(list(cached.glob("enrich-*.sql"))) == 1
    again = cache.enrichment()
    assert again.sql == first.sql == compiled.sql
    assert again.tables.keys() == first.tables.keys()


def test_settings_and_catalog_changes_miss(tmp_path: Path) -> None:
    catalog = load_catalog()
    base = cache.fingerprint(catalog, EnrichConfig(), AllocationConfig())
    other_rule = cache.fingerprint(
        catalog, EnrichConfig(gpu_utilisation=Decimal("0.7")), AllocationConfig()
    )
    refreshed = tmp_path / "refreshed"
    refreshed.mkdir()
    pue = (Path(cache.__file__).parents[1] / "catalog" / "data" / "pue.csv").read_text()
    (refreshed / "pue.csv").write_text(pue.replace("1.135", "1.2"))
    other_catalog = cache.fingerprint(load_catalog(refreshed), EnrichConfig(), AllocationConfig())
    assert len({base, other_rule, other_catalog}) == 3


def test_a_cache_hit_loads_no_ibis(cached: Path) -> None:
    code = (
        "import sys; from aifinops.enrich.cache import enrichment; enrichment(); "
        "print('ibis' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"AIFINOPS_CACHE": str(cached), "PATH": ""},
    )
    assert out.stdout.strip() == "False"


def test_an_unwritable_cache_still_compiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiled: CompiledEnrichment
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocker / "cache"))
    assert cache.enrichment().sql == compiled.sql
