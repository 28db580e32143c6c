"""AWS CUR deliveries: manifest files, restated months and which files of a folder to read.

AWS writes a manifest beside every CUR delivery and names the current files in it:

* legacy CUR: ``<prefix>/<report>/<YYYYMMDD-YYYYMMDD>/<report>-Manifest.json`` with
  ``assemblyId`` and ``reportKeys`` (S3 keys, usually under ``<assemblyId>/``). A restated
  month arrives as a new assembly folder beside the old one, and a copy of each assembly's
  manifest sits inside its folder.
* CUR 2.0 / Data Exports: ``<prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/
  <export>-Manifest.json`` with ``executionId`` and ``dataFiles`` (``s3://`` URIs of files
  under ``<export>/data/BILLING_PERIOD=YYYY-MM/``).

Users sync the bucket with ``aws s3 sync``, so a listed key is found on disk by the longest
suffix of the key that exists under the manifest's *anchor*: the billing-period folder
(legacy) or the export folder (CUR 2.0). When the anchor's own name occurs in the key, the
suffix must include everything after it, so a missing file never matches a namesake of
another assembly. In a folder, every file under a manifest's *scope* (that period's data
folder) that the current manifest does not list belongs to a superseded assembly (or is a
side file such as Athena's ``crawler-cfn.yml``) and is skipped: otherwise a restated month
would count twice. Manifest JSON files are never read as cost data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aifinops.errors import BadInputError

_PERIOD_FOLDER = re.compile(r"^\d{8}-\d{8}$")  # legacy CUR: 20231101-20231201
_BILLING_PERIOD = re.compile(r"^BILLING_PERIOD=(\d{4}-\d{2})$")  # CUR 2.0 partition folder
_YEAR_MONTH = re.compile(r"^(\d{4})-?(\d{2})")
LEGACY_FIELD = "reportKeys"
EXPORTS_FIELD = "dataFiles"


@dataclass(frozen=True)
class CurManifest:
    """One CUR manifest file, as far as choosing and finding the files it lists goes.

    Attributes:
        path: the manifest file.
        field: the key listing the files: ``reportKeys`` (legacy) or ``dataFiles`` (CUR 2.0).
        assembly: ``assemblyId`` (legacy) or ``executionId`` (CUR 2.0).
        period: the billing period as ``YYYY-MM`` (empty when the manifest does not say).
        keys: the listed S3 keys or URIs, in the manifest's order.
        anchor: the local folder the keys are resolved under.
        scope: the folder holding this report's data files for the period, of every assembly.
        depth: folders between the period's metadata folder and the manifest (0: the
            period's own manifest, which AWS rewrites on every delivery).
    """

    path: Path
    field: str
    assembly: str
    period: str
    keys: tuple[str, ...]
    anchor: Path
    scope: Path
    depth: int


class _Noted(Protocol):
    path: Path
    notes: list[str]


@dataclass
class Delivery:
    """The files an ingest reads, and why others are left out.

    Attributes:
        files: the files to read, in order, each once.
        skipped: files that are not read (manifests, superseded assemblies) and why.
        notes: what to tell the user about a file that is read (e.g. its manifest).
    """

    files: list[Path] = field(default_factory=list)
    skipped: dict[Path, str] = field(default_factory=dict)
    notes: dict[Path, list[str]] = field(default_factory=dict)

    def add(self, path: Path, note: str | None = None) -> None:
        """Read ``path`` (once, however often it is named)."""
        if path not in self.files:
            self.files.append(path)
        if note:
            self.notes.setdefault(path, []).append(note)

    def annotate(self, results: Iterable[_Noted]) -> None:
        """Add this delivery's notes to the per-file results of the ingest."""
        for result in results:
            result.notes.extend(self.notes.get(result.path, ()))


def plan_delivery(paths: Iterable[Path | str]) -> Delivery:
    """Return the files to read for ``paths``: files, manifests and folders.

    A manifest stands for the files it lists. A folder is walked (sorted; names starting
    with ``.`` or ``_`` are left out); where it holds CUR manifests, only the files of each
    period's current manifest are read.

    Raises:
        BadInputError: for a manifest that is not valid JSON, or lists a file not on disk.
    """
    delivery = Delivery()
    for item in paths:
        path = Path(item)
        if path.is_dir():
            _add_folder(delivery, _walk(path))
        elif is_manifest(path) and path.is_file():
            manifest = read_manifest(path)
            _add_manifest(delivery, manifest)
        else:
            delivery.add(path)
    return delivery


def is_manifest(path: Path) -> bool:
    """Return True for a manifest's name (``<report>-Manifest.json``, any case)."""
    return path.name.lower().endswith("manifest.json")


def read_manifest(path: Path) -> CurManifest:
    """Return the CUR or Data Exports manifest at ``path``.

    Raises:
        BadInputError: when it is not JSON, or not a CUR / Data Exports manifest.
    """
    manifest = _parse(path, _load(path))
    if manifest is None:
        raise BadInputError(
            f"not a CUR manifest: it has neither {LEGACY_FIELD!r} nor {EXPORTS_FIELD!r}",
            file=str(path),
            expected="an AWS CUR `<report>-Manifest.json` or a Data Exports manifest",
            fix="name the report's data files or folder instead.",
        )
    return manifest


def resolve(manifest: CurManifest) -> list[Path]:
    """Return the local files ``manifest`` lists.

    Raises:
        BadInputError: naming the manifest, the key's position and field, when a listed
            file is not on disk.
    """
    found: list[Path] = []
    for row, key in enumerate(manifest.keys, start=1):
        local = _local(manifest.anchor, key)
        if local is None:
            raise BadInputError(
                f"the manifest lists {key!r}, which is not on disk under {manifest.anchor}",
                file=str(manifest.path),
                row=row,
                column=manifest.field,
                expected=f"every file of assembly {manifest.assembly!r} synced beside its "
                "manifest (the key's path below the billing-period or export folder)",
                fix="sync the report folder again (e.g. `aws s3 sync s3://BUCKET/PREFIX "
                "LOCAL`) so the manifest and its files match, then re-run the ingest.",
            )
        found.append(local)
    return found


def _walk(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))


def _add_manifest(delivery: Delivery, manifest: CurManifest) -> None:
    delivery.skipped[manifest.path] = (
        f"CUR manifest of assembly {manifest.assembly} ({manifest.period or 'period unknown'}): "
        f"its {len(manifest.keys)} listed files are read; the manifest is not cost data"
    )
    for path in resolve(manifest):
        delivery.add(path, f"listed by {manifest.path} (assembly {manifest.assembly})")


def _add_folder(delivery: Delivery, walked: list[Path]) -> None:
    current: dict[Path, CurManifest] = {}
    for manifest in _manifests(delivery, [p for p in walked if is_manifest(p)]):
        chosen = current.get(manifest.scope)
        if chosen is None or _newer(manifest, chosen):
            current[manifest.scope] = manifest
    listed: dict[Path, set[Path]] = {}
    for scope, manifest in current.items():
        _add_manifest(delivery, manifest)
        listed[scope] = set(resolve(manifest))
    for path in walked:
        if is_manifest(path):
            delivery.skipped.setdefault(path, _superseded_manifest(path, current))
            continue
        within = _scope_of(path, listed)
        if within is None or path in listed[within]:
            delivery.add(path)
        else:
            manifest = current[within]
            delivery.skipped[path] = (
                f"not listed by the current manifest {manifest.path} (assembly "
                f"{manifest.assembly}): a file of a superseded assembly (the month was "
                "restated) or a side file; not read, so the month is not counted twice"
            )


def _manifests(delivery: Delivery, paths: list[Path]) -> list[CurManifest]:
    found = []
    for path in paths:
        manifest = _parse(path, _load(path))
        if manifest is None:  # e.g. the legacy CUR's `-RedshiftManifest.json`
            delivery.skipped[path] = "a JSON manifest that lists no CUR files; not read"
        else:
            found.append(manifest)
    return found


def _newer(candidate: CurManifest, chosen: CurManifest) -> bool:
    """Return True when ``candidate`` is the more current manifest of one report period."""
    # NOTE: the period's own manifest (depth 0) is rewritten on every delivery, so it names
    # the current assembly; copies inside assembly folders are only a fallback, newest
    # first (`aws s3 sync` gives local files the object's LastModified time).
    if candidate.depth != chosen.depth:
        return candidate.depth < chosen.depth
    return candidate.path.stat().st_mtime > chosen.path.stat().st_mtime


def _superseded_manifest(path: Path, current: dict[Path, CurManifest]) -> str:
    for manifest in current.values():
        if path.is_relative_to(manifest.scope) or path.parent.is_relative_to(manifest.path.parent):
            return f"an older or copied manifest; the current one is {manifest.path}; not read"
    return "a manifest file; not read as cost data"


def _scope_of(path: Path, scopes: Iterable[Path]) -> Path | None:
    inside = [s for s in scopes if path.is_relative_to(s)]
    return max(inside, key=lambda s: len(s.parts), default=None)


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(
            f"the manifest is not valid JSON ({exc})",
            file=str(path),
            expected="the JSON manifest AWS delivers with the report",
            fix="sync the report folder again; the manifest is truncated or corrupt.",
        ) from exc


def _parse(path: Path, data: Any) -> CurManifest | None:
    if not isinstance(data, dict):
        return None
    if LEGACY_FIELD in data:
        anchor, depth = _legacy_anchor(path)
        return _manifest(path, data, LEGACY_FIELD, "assemblyId", anchor, anchor, depth)
    if EXPORTS_FIELD in data:
        root, scope, depth = _exports_layout(path, data)
        return _manifest(path, data, EXPORTS_FIELD, "executionId", root, scope, depth)
    return None


def _manifest(
    path: Path,
    data: dict[str, Any],
    listing: str,
    id_key: str,
    anchor: Path,
    scope: Path,
    depth: int,
) -> CurManifest:
    keys = data[listing]
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise BadInputError(
            f"{listing!r} is not a list of S3 keys",
            file=str(path),
            column=listing,
            expected='a JSON list of strings, e.g. ["prefix/report/…/report-00001.csv.gz"]',
            fix="sync the report folder again; the manifest is damaged.",
        )
    return CurManifest(
        path, listing, str(data.get(id_key) or "?"), _period(data, path), tuple(keys),
        anchor, scope, depth,
    )  # fmt: skip


def _legacy_anchor(path: Path) -> tuple[Path, int]:
    """Return the billing-period folder above a legacy manifest, and how deep it sits."""
    for depth, folder in enumerate(path.parents):
        if _PERIOD_FOLDER.match(folder.name):
            return folder, depth
        if depth == 1:  # `<period>/<report>-Manifest.json` or `<period>/<assembly>/…`
            break
    return path.parent, 0


def _exports_layout(path: Path, data: dict[str, Any]) -> tuple[Path, Path, int]:
    """Return the export folder, the period's data folder and the manifest's depth."""
    for depth, folder in enumerate(path.parents):
        if folder.parent.name == "metadata" and _BILLING_PERIOD.match(folder.name):
            root = folder.parent.parent
            return root, root / "data" / folder.name, depth
        if depth == 1:
            break
    period = _period(data, path)
    if path.parent.name == "metadata" and period:  # a period-less metadata folder
        root = path.parent.parent
        return root, root / "data" / f"BILLING_PERIOD={period}", 0
    return path.parent, path.parent, 0


def _period(data: dict[str, Any], path: Path) -> str:
    """Return ``YYYY-MM`` from ``billingPeriod.start`` or the manifest's folders."""
    start = data.get("billingPeriod", {})
    start = start.get("start") if isinstance(start, dict) else None
    match = _YEAR_MONTH.match(str(start or ""))
    if match:
        return f"{match[1]}-{match[2]}"
    for folder in path.parents:
        if found := _BILLING_PERIOD.match(folder.name):
            return found[1]
        if _PERIOD_FOLDER.match(folder.name):
            return f"{folder.name[:4]}-{folder.name[4:6]}"
    return ""


def _local(anchor: Path, key: str) -> Path | None:
    """Return the file ``key`` names under ``anchor``: its longest suffix that exists."""
    if key.startswith("s3://"):
        key = key.split("/", 3)[3] if key.count("/") >= 3 else ""
    parts = [p for p in key.split("/") if p]
    if not parts:
        return None
    hits = [i for i, p in enumerate(parts) if p == anchor.name]
    last = hits[-1] + 1 if hits else len(parts) - 1
    for i in range(last + 1):
        candidate = anchor.joinpath(*parts[i:])
        if candidate.is_file():
            return candidate
    return None
