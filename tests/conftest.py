"""Shared fixtures: where the shared sample data lives, and a fresh lake per test."""

from __future__ import annotations

import os
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


# -- parallel runs (pytest-xdist: ``make test`` runs ``-n logical --dist loadfile``) ----------

#: The test modules that take longest, longest first (as measured on 2 cores). A parallel
#: run hands them out first, so that no worker is left running one of them alone at the end;
#: every other module follows in its usual order.
HEAVY_FIRST = (
    "test_demo_lake.py",  # the FOCUS validator, the demo ingested again and from its truth
    "test_lake_atomic.py",  # 20+ ingests killed at random moments
    "test_allocate_rules.py",  # Spark
    "test_allocate_coverage.py",  # Spark
    "test_ingest_gcp_focus.py",
    "test_focus_validate.py",  # Spark
    "test_web_browser.py",  # Chromium
    "test_ingest_focus.py",
    "test_web_schemathesis.py",
    "test_ingest_aws.py",
    "test_ingest_azure.py",
    "test_ingest_azure_focus.py",
)


#: Where a parallel run sends every Spark test (``pyspark`` in its id, as all of them have):
#: one worker runs them all in one JVM, which starts and warms up once (tens of seconds).
SPARK_UNIT = "pyspark"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, start the Spark tests and then the heavy modules first
    (``--no-loadscope-reorder`` keeps this order; xdist's own puts the modules with most
    tests first)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    rank = {name: n for n, name in enumerate(HEAVY_FIRST)}

    def order(item: pytest.Item) -> int:
        return -1 if SPARK_UNIT in item.nodeid else rank.get(item.path.name, len(rank))

    items.sort(key=order)  # stable: each module keeps its order, the rest their usual one


class _SparkTogether:
    """xdist plugin: ``--dist loadfile``, except that the Spark tests are one unit of work."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: object) -> object | None:
        if config.getoption("dist") != "loadfile":
            return None
        from xdist.scheduler import LoadFileScheduling

        class Scheduler(LoadFileScheduling):
            def _split_scope(self, nodeid: str) -> str:
                return SPARK_UNIT if SPARK_UNIT in nodeid else super()._split_scope(nodeid)

        return Scheduler(config, log)


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_SparkTogether(), "aifinops-spark-together")
