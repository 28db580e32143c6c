"""The analysis engine seam: an Ibis backend over the lake (DuckDB by default, or PySpark).

Analyses are Ibis expressions over :meth:`Engine.costs`; :meth:`Engine.execute` runs them on
the chosen backend and returns Arrow tables whose types are the same on every engine.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from aifinops.errors import EngineError
from aifinops.focus import lake_schema
from aifinops.lake.store import Lake

log = logging.getLogger(__name__)

ENGINES = ("duckdb", "pyspark")
_SPARK_LOCK = threading.Lock()
_SPARK_SESSION: Any = None


class Engine:
    """An Ibis backend bound to a lake.

    Attributes:
        summaries: whether analyses may answer from derived tables kept per lake version
            (:meth:`materialise`, e.g. the daily summary); False makes every one read the
            raw rows (the answers are the same, only slower).
    """

    def __init__(self, name: str, backend: Any, lake: Lake) -> None:
        self.summaries = True
        self.name = name
        self.backend = backend
        self.lake = lake
        self._costs: tuple[str, ibis.Table] | None = None
        self._kept: dict[str, tuple[str, ibis.Table]] = {}

    def costs(self) -> ibis.Table:
        """Return the lake's cost rows as an Ibis table (empty, but typed, when none exist)."""
        # NOTE: listing the data files and reading every file's schema costs seconds on a
        # lake of thousands of partitions (4 s for 1,845); while the lake's version (~16 ms)
        # is the same, so is the table.
        version = self.lake.version()
        if self._costs is not None and self._costs[0] == version:
            return self._costs[1]
        files = [str(p) for p in self.lake.data_files()]
        table = self._read_costs(files) if files else ibis.memtable(lake_schema().empty_table())
        self._costs = (version, table)
        return table

    def _read_costs(self, files: list[str]) -> ibis.Table:
        if self.name == "duckdb":
            return self.backend.read_parquet(files, hive_partitioning=False, union_by_name=True)
        # NOTE: ibis's PySpark read_parquet takes one glob, not a list; Spark takes a list.
        frame = spark_session().read.parquet(*files)
        name = f"aifinops_costs_{self.lake.version()}"
        frame.createOrReplaceTempView(name)
        return self.backend.table(name)

    def materialise(self, name: str, build: Callable[[], ibis.Table]) -> ibis.Table:
        """Return the result of ``build()`` kept as a table of the engine while the lake's
        version holds (run once per version; an older one is dropped).

        For derived tables many queries read, e.g. :func:`aifinops.analyze.summary.summary_table`.
        """
        version = self.lake.version()
        kept = self._kept.get(name)
        if kept is not None and kept[0] == version:
            return kept[1]
        started = time.perf_counter()
        table_name = f"aifinops_{name}_{version[:16]}"
        expr = build()
        try:
            if self.name == "duckdb":
                # NOTE: Ibis's drop_table emits broken SQL here ("DROP TABLE IF EXISTS" with
                # no name); create_table registers memtables (an empty lake's costs) itself.
                self.backend.raw_sql(f'DROP TABLE IF EXISTS "{table_name}"')
                table = self.backend.create_table(table_name, obj=expr, temp=True)
            else:
                table = self.table(table_name, self.execute(expr))
        except EngineError:
            raise
        except Exception as exc:  # noqa: BLE001 - any backend failure becomes one error type
            raise EngineError(f"The {self.name} engine failed: {exc}") from exc
        if kept is not None and self.name == "duckdb":
            self.backend.raw_sql(f'DROP TABLE IF EXISTS "aifinops_{name}_{kept[0][:16]}"')
        self._kept[name] = (version, table)
        log.info(
            "kept %s for lake version %s in %.1f s",
            name,
            version[:12],
            time.perf_counter() - started,
        )
        return table

    def signals(self, table: str) -> ibis.Table:
        """Return signal table ``table`` (``metrics``, ``telemetry``, ``runs``,
        ``run_metrics``) as an Ibis table (empty, but typed, when nothing was imported).

        Raises:
            LakeError: for an unknown table.
        """
        from aifinops.signals.schema import SCHEMAS
        from aifinops.signals.store import signal_files, signal_manifests

        files = [str(p) for p in signal_files(self.lake, table)]
        if not files:
            return ibis.memtable(SCHEMAS[table].empty_table())
        if self.name == "duckdb":
            return self.backend.read_parquet(files, hive_partitioning=False, union_by_name=True)
        frame = spark_session().read.parquet(*files)
        stamp = "".join(m.content_sha256 for m in signal_manifests(self.lake, table))
        name = f"aifinops_{table}_{hashlib.sha256(stamp.encode()).hexdigest()[:16]}"
        frame.createOrReplaceTempView(name)
        return self.backend.table(name)

    def table(self, name: str, data: pa.Table) -> ibis.Table:
        """Expose a small Arrow table (reference facts) to the engine under ``name``.

        NOTE: not ``ibis.memtable``: Ibis's PySpark backend cannot load a memtable with null
        decimals; Spark 4 reads the Arrow table itself.
        """
        if self.name == "duckdb":
            self.backend.con.register(name, data)
            return self.backend.table(name)
        spark_session().createDataFrame(data).createOrReplaceTempView(name)
        return self.backend.table(name)

    def execute(self, expr: ibis.Expr) -> pa.Table:
        """Execute ``expr`` and return an Arrow table with engine-independent types."""
        try:
            table = self.backend.to_pyarrow(expr)
        except Exception as exc:  # noqa: BLE001 - any backend failure becomes one error type
            raise EngineError(f"The {self.name} engine failed: {exc}") from exc
        return normalise_types(table)

    def close(self) -> None:
        """Release the backend (the shared Spark session stays up for reuse)."""
        if self.name == "duckdb":
            self.backend.disconnect()


def normalise_types(table: pa.Table) -> pa.Table:
    """Give timestamps UTC and make types equal across engines."""
    columns = []
    for col in table.columns:
        if pa.types.is_timestamp(col.type):
            if col.type.tz is None:
                col = pc.assume_timezone(col, "UTC")
            col = col.cast(pa.timestamp("us", tz="UTC"))
        elif pa.types.is_large_string(col.type):
            col = col.cast(pa.string())
        columns.append(col)
    return pa.table(columns, names=table.column_names)


def _connect_duckdb() -> Any:
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone='UTC'")
    con.raw_sql("SET enable_progress_bar=false")  # NOTE: else long queries draw on stdout
    return con


def spark_session() -> Any:
    """Return the process-wide local Spark session (``local[2]``, UTC), starting it once."""
    global _SPARK_SESSION
    with _SPARK_LOCK:
        if _SPARK_SESSION is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError as exc:
                raise EngineError(
                    "The pyspark engine needs PySpark. To fix: pip install 'aifinops[spark]' "
                    "(and a Java 17+ runtime)."
                ) from exc
            _SPARK_SESSION = (
                SparkSession.builder.master("local[2]")
                .appName("aifinops")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.shuffle.partitions", "4")
                .config("spark.driver.memory", "2g")
                .getOrCreate()
            )
            _SPARK_SESSION.sparkContext.setLogLevel("ERROR")
        return _SPARK_SESSION


def _connect_pyspark() -> Any:
    return ibis.pyspark.connect(spark_session())


_CONNECTORS: dict[str, Callable[[], Any]] = {
    "duckdb": _connect_duckdb,
    "pyspark": _connect_pyspark,
}


def connect(lake: Lake, *, engine: str = "duckdb") -> Engine:
    """Connect an analysis engine to ``lake``.

    Args:
        lake: the lake to read.
        engine: ``duckdb`` (default, in-process) or ``pyspark`` (local[2]).

    Raises:
        EngineError: for an unknown engine or one that cannot start.
    """
    try:
        connector = _CONNECTORS[engine]
    except KeyError:
        raise EngineError(
            f"Unknown engine {engine!r}. Expected one of: {', '.join(ENGINES)}."
        ) from None
    return Engine(engine, connector(), lake)
