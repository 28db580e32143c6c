"""Compiled enrichment, cached on disk: compiling loads Ibis and takes seconds, every ingest.

The cache key covers everything the SQL depends on: the aifinops and Ibis versions, the
source of the modules that build the expression, the catalog's files, and the ``enrich:``
and ``allocation:`` settings. A hit loads no Ibis. The cache lives in
``$AIFINOPS_CACHE`` (else ``$XDG_CACHE_HOME/aifinops``, else ``~/.cache/aifinops``);
when it cannot be written, enrichment is simply compiled each time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from importlib import metadata
from pathlib import Path

from aifinops import __version__
from aifinops.allocate.config import AllocationConfig
from aifinops.catalog import Catalog, load_catalog
from aifinops.enrich.config import EnrichConfig
from aifinops.enrich.facts import arrow_tables
from aifinops.enrich.sql import CompiledEnrichment
from aifinops.settings import Settings

log = logging.getLogger(__name__)
CACHE_ENV = "AIFINOPS_CACHE"
_PACKAGE = Path(__file__).resolve().parents[1]
#: Packages whose source shapes the compiled SQL.
_SOURCES = ("enrich", "allocate", "focus")


def cache_dir() -> Path:
    """Return the directory compiled enrichment is cached in."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(base).expanduser() / "aifinops"


def fingerprint(catalog: Catalog, config: EnrichConfig, allocation: AllocationConfig) -> str:
    """Return the cache key of the enrichment these inputs compile to."""
    digest = hashlib.sha256(f"{__version__}|{metadata.version('ibis-framework')}".encode())
    for package in _SOURCES:
        for path in sorted((_PACKAGE / package).glob("*.py")):
            digest.update(path.name.encode() + path.read_bytes())
    for name, origin in sorted(catalog.origin.items()):
        folder = _PACKAGE / "catalog" / "data" if origin == "package" else Path(origin).parent
        source = folder / name if origin == "package" else Path(origin)
        digest.update(name.encode() + (source.read_bytes() if source.is_file() else b""))
    digest.update(config.model_dump_json().encode())
    digest.update(allocation.model_dump_json().encode())
    return digest.hexdigest()[:32]


def enrichment(
    catalog: Catalog | None = None,
    config: EnrichConfig | None = None,
    allocation: AllocationConfig | None = None,
) -> CompiledEnrichment:
    """Return the compiled enrichment, from the cache when it holds it."""
    chosen = catalog or load_catalog()
    config, allocation = config or EnrichConfig(), allocation or AllocationConfig()
    path = cache_dir() / f"enrich-{fingerprint(chosen, config, allocation)}.sql"
    if path.is_file():
        # NOTE: bytes, not read_text: the SQL holds regex literals with \r that universal
        # newlines would turn into \n.
        return CompiledEnrichment(path.read_bytes().decode("utf-8"), arrow_tables(chosen))
    from aifinops.enrich.compiled import compile_enrichment

    compiled = compile_enrichment(chosen, config, allocation)
    _store(path, compiled.sql)
    return compiled


def enrichment_for(settings: Settings) -> CompiledEnrichment:
    """Return the enrichment the settings ask for: their catalog directory (when it exists),
    price overrides, ``enrich:`` rules and ``allocation:`` rules."""
    directory = settings.catalog if settings.catalog.is_dir() else None
    catalog = load_catalog(directory).with_overrides(settings.price_overrides)
    return enrichment(catalog, settings.enrich, settings.allocation)


def _store(path: Path, sql: str) -> None:
    """Write ``sql`` to ``path`` atomically: processes compiling at once (parallel test
    workers, two ingests) each rename a complete file of their own over it, and a reader
    sees a whole file or none."""
    staged: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".tmp") as fh:
            staged = Path(fh.name)
            fh.write(sql.encode("utf-8"))
        os.replace(staged, path)
    except OSError as exc:
        log.info("not caching compiled enrichment in %s: %s", path.parent, exc)
        if staged is not None:
            staged.unlink(missing_ok=True)
