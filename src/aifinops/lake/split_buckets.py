"""Split a large staged file by partition in bounded memory: spread it over buckets first.

DuckDB's ``PARTITION_BY`` write keeps the rows of its open partitions in flight: under the
ingest's 700 MB cap it ran out of memory on a 9.7M-row file spanning 1,845 partitions (and on
the same rows hashed into 18 buckets), while ~1M-row files spanning ~180 partitions split
fine. So a large file is first spread, by a hash of its partition, over buckets of about
:data:`BUCKET_ROWS` rows — each bucket one streaming ``COPY … WHERE`` pass (no partitioned
write) — and each bucket is then split by the partitioned write. A partition's rows all land
in one bucket. (Sorting the file by partition instead, and streaming it out, also stays in
memory but took over 9 minutes for 9.7M rows: DuckDB sorts the whole wide rows, spilling
14 GB.)
"""

from __future__ import annotations

from pathlib import Path

from aifinops.lake.duck import DuckSession, quote_literal

#: Rows per bucket (about; buckets are hashed partitions).
BUCKET_ROWS = 1_000_000


def split_in_buckets(
    session: DuckSession,
    staged: Path,
    directory: Path,
    *,
    rows: int,
    hash_sql: str,
    column: str,
    parquet_options: str,
    bucket_rows: int | None = None,
) -> dict[str, list[Path]]:
    """Split ``staged`` (``rows`` rows) into ``directory/bucket-N/<column>=<hash>/`` files
    (``hash_sql``: a row's partition hash); return the files by hash. ``bucket_rows``
    defaults to :data:`BUCKET_ROWS`."""
    buckets = max(1, -(-rows // (bucket_rows or BUCKET_ROWS)))
    directory.mkdir(parents=True, exist_ok=True)
    source = f"read_parquet({quote_literal(str(staged))})"
    for k in range(buckets):
        bucket = directory / f"bucket-{k}.parquet"
        session.execute(
            f"COPY (SELECT * FROM {source} WHERE hash({hash_sql}) % {buckets} = {k}) "
            f"TO {quote_literal(str(bucket))} ({parquet_options})"
        )
        session.execute(
            f"COPY (SELECT *, {hash_sql} AS {column} "
            f"FROM read_parquet({quote_literal(str(bucket))})) "
            f"TO {quote_literal(str(directory / f'bucket-{k}'))} "
            f"({parquet_options}, PARTITION_BY ({column}))"
        )
        bucket.unlink()
    found: dict[str, list[Path]] = {}
    for path in sorted(directory.glob(f"bucket-*/{column}=*")):
        found.setdefault(path.name.split("=", 1)[1], []).extend(sorted(path.glob("*.parquet")))
    return found
