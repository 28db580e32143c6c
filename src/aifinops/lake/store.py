"""The lake on disk: Hive-partitioned Parquet, one manifest per partition, atomic replacement.

Layout::

    LAKE/costs/provider=aws/billing_account=123456789012/billing_period=2026-10/
        part-0.parquet
        _manifest.json
    LAKE/costs/.staging/   partitions being written (deleted at the next start if left over)
    LAKE/costs/.trash/     partitions being replaced (restored or deleted at the next start)

A partition is replaced whole: the new one is written complete in ``.staging``, the old one
is renamed into ``.trash``, the new one is renamed into place, and the old one is deleted.
A crash at any point leaves, after :meth:`Lake.recover`, the old partition or the new one,
never a mix, and readers never see a half-written file.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from aifinops.errors import LakeError
from aifinops.lake.manifest import MANIFEST_NAME, Manifest

log = logging.getLogger(__name__)

COSTS = "costs"
DATA_GLOB = "part-*.parquet"
_STAGING = ".staging"
_TRASH = ".trash"
_LOCK = ".writer.lock"
_ORIGIN = "origin"  # in a .trash entry: where its directory came from, below the lake root
_TRASHED = "old"  # in a .trash entry: the replaced directory itself
_KEYS = ("provider", "billing_account", "billing_period")
#: The manifest file of a signal table's source partition (see aifinops.signals.store).
SIGNAL_MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True, order=True)
class PartitionKey:
    """Which partition a row belongs to: provider slug, billing account, billing period."""

    provider: str
    billing_account: str
    billing_period: str

    def relative_path(self) -> Path:
        """Return the Hive-style path of the partition below ``costs/``."""
        values = (self.provider, self.billing_account, self.billing_period)
        return Path(*(f"{k}={_escape(v)}" for k, v in zip(_KEYS, values, strict=True)))

    def label(self) -> str:
        """Return ``provider/account/period`` for messages."""
        return f"{self.provider}/{self.billing_account}/{self.billing_period}"


def _escape(value: str) -> str:
    # NOTE: Hive escapes path-unsafe characters with %XX; we do the same so any account id
    # (Azure ids contain '/') becomes one directory name.
    return quote(value, safe="-_.@")


def provider_slug(provider_name: str) -> str:
    """Return the partition value for a ProviderName (``Google Cloud`` -> ``google-cloud``)."""
    slug = "".join(ch if ch.isalnum() else "-" for ch in provider_name.strip().lower())
    return "-".join(part for part in slug.split("-") if part) or "unknown"


class Lake:
    """A lake directory. Create with :meth:`open`, which also cleans leftovers."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.costs_dir = self.root / COSTS

    @classmethod
    def open(cls, root: Path | str, *, create: bool = True) -> Lake:
        """Open (and by default create) the lake at ``root`` and recover from any crash.

        Raises:
            LakeError: when ``root`` does not exist and ``create`` is false.
        """
        lake = cls(Path(root).expanduser())
        if not lake.costs_dir.exists():
            if not create:
                raise LakeError(
                    f"No lake at {lake.root}. To fix: run `aifinops ingest FILE --lake "
                    f"{lake.root}` or `aifinops demo` first, or point --lake at an existing lake."
                )
            lake.costs_dir.mkdir(parents=True, exist_ok=True)
        lake.recover()
        return lake

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def writer_lock(self, *, blocking: bool = True) -> Iterator[bool]:
        """Hold the lake's writer lock; yields False when non-blocking and already held."""
        self.costs_dir.mkdir(parents=True, exist_ok=True)
        with open(self.costs_dir / _LOCK, "a+") as fh:
            flags = fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB)
            try:
                fcntl.flock(fh, flags)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def staging_dir(self) -> Path:
        """Return a new, empty directory to write a partition into before it is committed."""
        path = self.costs_dir / _STAGING / uuid.uuid4().hex
        path.mkdir(parents=True)
        return path

    def commit(self, key: PartitionKey, staged: Path, manifest: Manifest) -> None:
        """Atomically make ``staged`` (holding ``part-*.parquet``) the partition ``key``.

        The caller must hold the writer lock. The manifest is written into the staged
        directory first, so the manifest and data travel together in one rename.
        """
        manifest.write(staged / MANIFEST_NAME)
        self.replace_dir(staged, self.costs_dir / key.relative_path())
        log.info("committed partition %s (%d rows)", key.label(), manifest.row_count)

    def replace_dir(self, staged: Path, final: Path) -> None:
        """Atomically make the complete directory ``staged`` the directory ``final``.

        Any directory below the lake root can be replaced this way (cost partitions, the
        signal tables' source partitions). The caller must hold the writer lock. An old
        ``final`` is first moved into ``.trash`` beside a note of where it came from, so
        :meth:`recover` puts it back when a crash comes between the two renames.
        """
        for child in staged.iterdir():
            _fsync_file(child)
        _fsync_dir(staged)
        final.parent.mkdir(parents=True, exist_ok=True)
        trash = None
        if final.exists():
            trash = self._trash_entry(final)
            os.rename(final, trash / _TRASHED)
        os.rename(staged, final)
        _fsync_dir(final.parent)
        if trash is not None:
            shutil.rmtree(trash)

    def _trash_entry(self, final: Path) -> Path:
        entry = self.costs_dir / _TRASH / uuid.uuid4().hex
        entry.mkdir(parents=True)
        with open(entry / _ORIGIN, "w", encoding="utf-8") as fh:
            fh.write(final.relative_to(self.root).as_posix())
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(entry)
        return entry

    def recover(self) -> None:
        """Clean what a crashed writer left: drop staged data, restore or drop replaced data."""
        with self.writer_lock(blocking=False) as held:
            if not held:
                log.info("another writer holds %s; skipping cleanup", self.root)
                return
            for leftover in _children(self.costs_dir / _STAGING):
                log.warning("removing unfinished partition %s", leftover)
                shutil.rmtree(leftover)
            for old in _children(self.costs_dir / _TRASH):
                self._restore_or_drop(old)

    def _restore_or_drop(self, old: Path) -> None:
        if (old / _ORIGIN).exists():
            self._restore_or_drop_entry(old)
            return
        # NOTE: trash written before replace_dir() held the partition itself, no note.
        try:
            manifest = Manifest.read(old / MANIFEST_NAME)
        except (OSError, ValueError):
            shutil.rmtree(old)
            return
        final = self.costs_dir / manifest.key().relative_path()
        if final.exists():
            shutil.rmtree(old)
        else:
            log.warning("restoring partition %s after an interrupted replacement", final)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.rename(old, final)

    def _restore_or_drop_entry(self, entry: Path) -> None:
        final = self.root / (entry / _ORIGIN).read_text(encoding="utf-8")
        moved = entry / _TRASHED
        if moved.exists() and not final.exists():
            log.warning("restoring %s after an interrupted replacement", final)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.rename(moved, final)
        shutil.rmtree(entry)

    # -- reading ---------------------------------------------------------------------------

    def manifests(self) -> list[Manifest]:
        """Return the manifest of every committed partition, sorted by key."""
        found = []
        for path in self.costs_dir.glob(
            f"provider=*/billing_account=*/billing_period=*/{MANIFEST_NAME}"
        ):
            try:
                found.append(Manifest.read(path))
            except (OSError, ValueError) as exc:
                raise LakeError(f"Unreadable manifest {path}: {exc}") from exc
        return sorted(found, key=lambda m: m.key())

    def manifest(self, key: PartitionKey) -> Manifest | None:
        """Return the manifest of partition ``key``, or None when it does not exist."""
        path = self.costs_dir / key.relative_path() / MANIFEST_NAME
        return Manifest.read(path) if path.exists() else None

    def data_files(self) -> list[Path]:
        """Return every committed data file, sorted."""
        return sorted(
            self.costs_dir.glob(f"provider=*/billing_account=*/billing_period=*/{DATA_GLOB}")
        )

    def data_glob(self) -> str:
        """Return a glob matching every committed data file (and nothing being written)."""
        return str(
            self.costs_dir / "provider=*" / "billing_account=*" / "billing_period=*" / DATA_GLOB
        )

    def version(self) -> str:
        """Return a short id that changes whenever any partition changes (for caches).

        It digests the path and inode number of every partition directory: the cost
        partitions' and the signal tables' ``source=`` partitions. A commit renames a new,
        complete directory into place (:meth:`commit`, :meth:`replace_dir`), which has an
        inode number of its own while the old one still exists, so every commit changes the
        version; nothing else does. The inode numbers come from reading the directories
        (``os.scandir``), with no call per file: ~15 ms for 1,800 partitions (stat-ing their
        manifests took ~100 ms, parsing them ~430 ms), and the dashboard asks on every request.
        """
        digest = hashlib.sha256()
        root = str(self.root)
        for table, _ in _dirs(root):
            depth, prefix = (3, "") if table == str(self.costs_dir) else (1, "source=")
            for path, inode in _dirs_at(table, depth, prefix=prefix):
                digest.update(f"{path[len(root) :]}:{inode}\n".encode())
        return digest.hexdigest()[:16]


def _dirs(directory: str, prefix: str = "") -> list[tuple[str, int]]:
    """Return the sub-directories of ``directory`` named ``prefix…`` (not hidden) and their
    inode numbers, sorted. (Strings, not Paths: this runs on every dashboard request.)"""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    return sorted(
        (e.path, e.inode())
        for e in entries
        if e.is_dir() and e.name.startswith(prefix) and not e.name.startswith((".", "_"))
    )


def _dirs_at(directory: str, depth: int, *, prefix: str = "") -> list[tuple[str, int]]:
    """Return the directories ``depth`` levels below ``directory`` with their inode numbers
    (``prefix`` filters the last level)."""
    level = [(directory, 0)]
    for n in range(depth):
        wanted = prefix if n == depth - 1 else ""
        level = [found for parent, _ in level for found in _dirs(parent, wanted)]
    return level


def partition_key_from_path(path: Path) -> PartitionKey:
    """Return the key of a partition directory such as ``provider=aws/…/billing_period=…``."""
    parts = dict(p.split("=", 1) for p in path.parts[-3:])
    return PartitionKey(*(unquote(parts[k]) for k in _KEYS))


def _children(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir()) if path.exists() else []


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
