"""Look at a file before reading it: its kind, header or schema, and obvious breakage."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from aifinops.errors import BadInputError
from aifinops.ingest.archives import is_zip, unpack_single_csv

_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz")
_JSON_SUFFIXES = tuple(
    f"{stem}{gz}" for stem in (".json", ".jsonl", ".ndjson") for gz in ("", ".gz")
)
_OTHER_DELIMITERS = (";", "\t", "|")


@dataclass(frozen=True)
class SourceInfo:
    """What sniffing found out about one input file."""

    path: Path
    kind: str  # "csv", "parquet" or "json" (newline-delimited records)
    compression: str | None  # "gzip" or None
    columns: tuple[str, ...]
    # Arrow type names for Parquet; "string" for CSV; for JSON the first record's value
    # kinds ("object", "array", "string", "number", "boolean", "null").
    column_types: tuple[str, ...]
    # The unpacked copy actually read when ``path`` is a zip archive; ``path`` (the archive)
    # stays what is recorded, hashed and named in errors.
    unpacked: Path | None = None

    @property
    def name(self) -> str:
        """Return the file's name (no directories)."""
        return self.path.name

    @property
    def read_path(self) -> Path:
        """Return the file a scan reads: the unpacked copy of a zip, else ``path``."""
        return self.unpacked or self.path


def sniff(path: Path, *, unpack_to: Path | None = None) -> SourceInfo:
    """Return the kind and columns of ``path``.

    Args:
        path: the file.
        unpack_to: where a zip archive's CSV is unpacked (the ingest run's staging area);
            without it a zip is refused.

    Raises:
        BadInputError: when the file is missing, empty, not CSV/Parquet, or visibly broken.
    """
    path = Path(path)
    if not path.is_file():
        raise BadInputError(
            "no such file",
            file=str(path),
            expected="an existing CSV, CSV.gz or Parquet file, or a folder of them",
            fix="check the path; a folder is read file by file.",
        )
    lower = path.name.lower()
    if is_zip(path):
        return _sniff_zip(path, unpack_to)
    if lower.endswith(".parquet") or _is_parquet(path):
        return _sniff_parquet(path)
    if lower.endswith(_JSON_SUFFIXES):
        return _sniff_json(path, compression="gzip" if _is_gzip(path) else None)
    if lower.endswith(_CSV_SUFFIXES) or _looks_like_text(path):
        return _sniff_csv(path, compression="gzip" if _is_gzip(path) else None)
    raise BadInputError(
        "not a CSV, CSV.gz, JSONL or Parquet file",
        file=str(path),
        expected="a cost export as .csv, .csv.gz, .jsonl or .parquet",
        fix="export the cost data as CSV, JSONL or Parquet; see docs/ingest.md.",
    )


def _sniff_zip(path: Path, unpack_to: Path | None) -> SourceInfo:
    """Return the unpacked CSV's header, recorded under the archive's own path."""
    if unpack_to is None:
        raise BadInputError(
            "a zip archive is only unpacked by `aifinops ingest`",
            file=str(path),
            expected="a CSV, CSV.gz or Parquet file",
            fix="ingest it with `aifinops ingest`, or unzip it first.",
        )
    unpacked, member = unpack_single_csv(path, unpack_to)
    try:
        info = _sniff_csv(unpacked, compression=None)
    except BadInputError as exc:  # name the archive, not the staging copy
        raise BadInputError(
            f"{exc.message} (in the zip's member {member})",
            file=str(path),
            row=exc.row,
            column=exc.column,
            expected=exc.expected,
            fix=exc.fix,
        ) from exc
    return replace(info, path=path, unpacked=unpacked)


def _is_parquet(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PAR1"


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _looks_like_text(path: Path) -> bool:
    if _is_gzip(path):
        return True
    with open(path, "rb") as fh:
        head = fh.read(4096)
    return b"\x00" not in head and bool(head)


def _sniff_parquet(path: Path) -> SourceInfo:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for bad files
        raise BadInputError(
            f"cannot read the Parquet file: {exc}",
            file=str(path),
            fix="re-export the file; it may be truncated or not Parquet.",
        ) from exc
    return SourceInfo(
        path, "parquet", None, tuple(schema.names), tuple(str(t) for t in schema.types)
    )


def _sniff_csv(path: Path, *, compression: str | None) -> SourceInfo:
    header_line = _first_line(path, compression)
    if not header_line.strip():
        raise BadInputError(
            "the file is empty or its first line is blank",
            file=str(path),
            row=0,
            expected="a header line naming the columns",
            fix="export the file again with a header row.",
        )
    columns = tuple(next(csv.reader([header_line])))
    if len(columns) == 1:
        _reject_other_delimiter(path, header_line)
    return SourceInfo(path, "csv", compression, columns, tuple("string" for _ in columns))


def _first_line(path: Path, compression: str | None) -> str:
    try:
        if compression == "gzip":
            with gzip.open(path, "rb") as gz:
                raw = gz.readline(1 << 20)
        else:
            with open(path, "rb") as fh:
                raw = fh.readline(1 << 20)
    except (OSError, EOFError, zlib.error) as exc:
        raise BadInputError(
            f"the gzip stream cannot be read ({exc})",
            file=str(path),
            expected="a complete gzip file",
            fix="download or export the file again; it is truncated or corrupt.",
        ) from exc
    try:
        return io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig").read().rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise BadInputError(
            "the header is not UTF-8 text",
            file=str(path),
            row=0,
            expected="UTF-8 CSV",
            fix="save the file as UTF-8 CSV.",
        ) from exc


def _reject_other_delimiter(path: Path, header_line: str) -> None:
    for delimiter in _OTHER_DELIMITERS:
        if header_line.count(delimiter) >= 2:
            shown = "TAB" if delimiter == "\t" else repr(delimiter)
            raise BadInputError(
                f"the header is one column holding {shown} separators",
                file=str(path),
                row=0,
                expected="comma-separated columns",
                fix=f"save the file comma-separated (it uses {shown}), e.g. "
                "re-export it, or convert it with a spreadsheet's 'CSV (comma delimited)'.",
            )


def _sniff_json(path: Path, *, compression: str | None) -> SourceInfo:
    """Return the top-level keys of the first record of a newline-delimited JSON file."""
    first = _first_line(path, compression).strip()
    try:
        record = json.loads(first) if first else None
    except json.JSONDecodeError as exc:
        raise BadInputError(
            f"the first line is not a JSON record ({exc.msg})",
            file=str(path),
            row=1,
            expected="newline-delimited JSON: one object per line",
            fix="export the table as newline-delimited JSON (JSONL), one record per line.",
        ) from exc
    if not isinstance(record, dict):
        raise BadInputError(
            "the first line is not a JSON object",
            file=str(path),
            row=1,
            expected="newline-delimited JSON: one object per line",
            fix="export the table as newline-delimited JSON (JSONL), not a JSON array.",
        )
    kinds = tuple(_json_kind(v) for v in record.values())
    return SourceInfo(path, "json", compression, tuple(record), kinds)


def _json_kind(value: object) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else "string"
