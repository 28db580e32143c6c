"""Settings: flag over env over config file over default; config errors name file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from aifinops.errors import ConfigError
from aifinops.settings import DEFAULT_LAKE, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AIFINOPS_LAKE", "AIFINOPS_ENGINE", "AIFINOPS_CONFIG", "AIFINOPS_INGEST_MEMORY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def test_default_lake_is_documented_path() -> None:
    assert load_settings().lake == DEFAULT_LAKE.expanduser()
    assert load_settings().engine == "duckdb"


def test_precedence_flag_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "aifinops.yaml"
    config.write_text("lake: /from/file\nengine: pyspark\n")
    assert load_settings().lake == Path("/from/file")
    assert load_settings().engine == "pyspark"
    monkeypatch.setenv("AIFINOPS_LAKE", "/from/env")
    assert load_settings().lake == Path("/from/env")
    assert load_settings(lake="/from/flag").lake == Path("/from/flag")


def test_config_named_by_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "elsewhere.yaml"
    config.write_text("lake: ~/lakes/one\n")
    monkeypatch.setenv("AIFINOPS_CONFIG", str(config))
    assert load_settings().lake == tmp_path / "home" / "lakes" / "one"


def test_bad_field_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "aifinops.yaml").write_text("# settings\nlake: /x\nengine: oracle\n")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "aifinops.yaml:3" in str(caught.value) and "engine" in str(caught.value)


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "aifinops.yaml").write_text("lake: /x\nlakes: /y\n")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "aifinops.yaml:2" in str(caught.value) and "lakes" in str(caught.value)


def test_config_must_be_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "aifinops.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings()


def test_ingest_memory_from_env_and_checked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert load_settings().ingest_memory == "700MB"
    monkeypatch.setenv("AIFINOPS_INGEST_MEMORY", "4GB")
    assert load_settings().ingest_memory == "4GB"
    (tmp_path / "aifinops.yaml").write_text("ingest_memory: lots\n")
    monkeypatch.delenv("AIFINOPS_INGEST_MEMORY")
    with pytest.raises(ConfigError, match="aifinops.yaml:1"):
        load_settings()
