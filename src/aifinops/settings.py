"""Settings: where the lake is and which engine runs analyses.

Precedence, highest first: the command-line flag (``--lake``, ``--engine``), the environment
(``AIFINOPS_LAKE``, ``AIFINOPS_ENGINE``), the config file, then the defaults. The config file
is ``$AIFINOPS_CONFIG`` when set, else ``./aifinops.yaml`` when present, else
``~/.config/aifinops/config.yaml`` when present. ``docs/settings.md`` documents every field.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aifinops.allocate.config import AllocationConfig, yaml_line
from aifinops.catalog.overrides import PriceOverride
from aifinops.enrich.config import EnrichConfig
from aifinops.errors import ConfigError
from aifinops.thresholds import WasteThresholds

DEFAULT_LAKE = Path("~/.local/share/aifinops/lake")
CONFIG_ENV = "AIFINOPS_CONFIG"
LAKE_ENV = "AIFINOPS_LAKE"
ENGINE_ENV = "AIFINOPS_ENGINE"
INGEST_MEMORY_ENV = "AIFINOPS_INGEST_MEMORY"
CATALOG_ENV = "AIFINOPS_CATALOG"
DEFAULT_CATALOG = Path("~/.local/share/aifinops/catalog")


class Settings(BaseModel):
    """The configuration file's fields."""

    model_config = ConfigDict(extra="forbid")

    lake: Path = Field(
        default=DEFAULT_LAKE,
        description="Directory of the lake (Parquet partitions and manifests).",
    )
    engine: Literal["duckdb", "pyspark"] = Field(
        default="duckdb", description="Engine that runs analyses: duckdb or pyspark."
    )
    ingest_memory: str = Field(
        default="700MB",
        pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="Memory DuckDB may use while ingesting (e.g. 700MB, 4GB); beyond it, rows "
        "spill to the lake's staging area. The default keeps the whole process under 1 GB.",
    )
    catalog: Path = Field(
        default=DEFAULT_CATALOG,
        description="Directory of a refreshed catalog (`aifinops catalog refresh`); its files "
        "replace the packaged catalog's. Missing or empty: the packaged catalog alone.",
    )
    price_overrides: list[PriceOverride] = Field(
        default_factory=list,
        description="Negotiated prices that replace the catalog's: cloud, region (optional = "
        "every region), instance_type, term, usd_per_hour. See docs/catalog.md.",
    )
    allocation: AllocationConfig = Field(
        default_factory=AllocationConfig,
        description="Tag aliases, allocation rules and shared-cost pools (docs/allocation.md).",
    )
    enrich: EnrichConfig = Field(
        default_factory=EnrichConfig,
        description="Workload rules and energy assumptions (docs/enrichment.md).",
    )
    waste: WasteThresholds = Field(
        default_factory=WasteThresholds,
        description="How GPU telemetry samples are classified busy / under-used / zombie / "
        "idle: utilisation and memory thresholds, smoothing, longest sample (docs/waste.md).",
    )


def config_path() -> Path | None:
    """Return the config file in force, or None when there is none."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    for candidate in (Path("aifinops.yaml"), Path("~/.config/aifinops/config.yaml").expanduser()):
        if candidate.exists():
            return candidate
    return None


def load_settings(*, lake: Path | str | None = None, engine: str | None = None) -> Settings:
    """Return the settings in force, with flags overriding env, env overriding the file.

    Raises:
        ConfigError: when the config file is unreadable or has a bad field (file:line named).
    """
    data: dict[str, Any] = {}
    path = config_path()
    if path is not None:
        data = _read_config(path)
    if os.environ.get(LAKE_ENV):
        data["lake"] = os.environ[LAKE_ENV]
    if os.environ.get(ENGINE_ENV):
        data["engine"] = os.environ[ENGINE_ENV]
    if os.environ.get(INGEST_MEMORY_ENV):
        data["ingest_memory"] = os.environ[INGEST_MEMORY_ENV]
    if os.environ.get(CATALOG_ENV):
        data["catalog"] = os.environ[CATALOG_ENV]
    if lake is not None:
        data["lake"] = lake
    if engine is not None:
        data["engine"] = engine
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        where = f"{path}:{_line_of(path, field)}" if path else "settings"
        raise ConfigError(f"{where}: {field}: {first['msg']}. See docs/settings.md.") from exc
    return settings.model_copy(
        update={
            "lake": Path(settings.lake).expanduser(),
            "catalog": Path(settings.catalog).expanduser(),
        }
    )


def _read_config(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}:1: the config file must be a mapping of field: value.")
    return loaded


def _line_of(path: Path | None, field: str) -> int:
    if path is None:
        return 1
    try:
        return yaml_line(path.read_text(encoding="utf-8"), tuple(field.split(".")))
    except OSError:
        return 1
