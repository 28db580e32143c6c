"""Zip archives: legacy AWS CUR can be delivered as ``<report>-1.csv.zip`` holding one CSV.

DuckDB reads plain and gzip CSV but not zip, so the single CSV member is unpacked, streaming,
into the run's staging directory and read from there. The archive itself stays the source:
its path and sha256 are what the lake records, so re-ingesting the same zip is a no-op.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
import zlib
from pathlib import Path

from aifinops.errors import BadInputError

#: Zip local-file-header magic; an empty archive starts with the end-of-directory record.
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_CHUNK = 1 << 20
_FIX_CORRUPT = "download the file again (e.g. re-run `aws s3 sync`); it is truncated or corrupt."


def is_zip(path: Path) -> bool:
    """Return True when ``path`` is named ``*.zip`` or starts like a zip archive."""
    if path.name.lower().endswith(".zip"):
        return True
    with open(path, "rb") as fh:
        return fh.read(4) in ZIP_MAGIC


def unpack_single_csv(path: Path, directory: Path) -> tuple[Path, str]:
    """Unpack the one CSV member of the zip ``path`` into ``directory``.

    Args:
        path: the zip archive.
        directory: where to write the member (the ingest run's staging area).

    Returns:
        The unpacked file and the member's name inside the archive.

    Raises:
        BadInputError: when the archive is corrupt, encrypted, or holds no CSV or several.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            member = _single_csv(path, archive)
            # NOTE: one folder per archive path, so two zips with the same member name
            # (every CUR part is `<report>-1.csv` inside) never overwrite each other.
            folder = directory / hashlib.sha256(str(path).encode()).hexdigest()[:16]
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / Path(member.filename).name
            with archive.open(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise BadInputError(
            f"the zip archive cannot be read ({exc})",
            file=str(path),
            expected="a complete zip archive holding one CSV file",
            fix=_FIX_CORRUPT,
        ) from exc
    except (RuntimeError, NotImplementedError) as exc:  # encrypted, or an unknown method
        raise BadInputError(
            f"the zip archive cannot be unpacked ({exc})",
            file=str(path),
            expected="an unencrypted zip (deflate or stored) holding one CSV file",
            fix="unzip it yourself and ingest the CSV, or download the report again.",
        ) from exc
    return target, member.filename


def _single_csv(path: Path, archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    members = [m for m in archive.infolist() if not m.is_dir() and not _is_side_file(m.filename)]
    csvs = [m for m in members if m.filename.lower().endswith(".csv")]
    if len(csvs) == 1:
        return csvs[0]
    listed = ", ".join(m.filename for m in members) or "nothing"
    raise BadInputError(
        f"the zip archive holds {len(csvs)} CSV files (it holds: {listed})",
        file=str(path),
        expected="a zip holding exactly one CSV file, as AWS delivers `<report>-1.csv.zip`",
        fix="unzip it and ingest the CSV files themselves (a folder of them works).",
    )


def _is_side_file(name: str) -> bool:
    """Return True for archiver leftovers (macOS resource forks, hidden files)."""
    return name.startswith("__MACOSX/") or Path(name).name.startswith(".")
