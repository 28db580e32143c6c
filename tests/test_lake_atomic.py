"""The kill test: SIGKILL an ingest at random moments; every partition stays whole.

A child process ingests v2 of a multi-partition file over a lake holding v1 (v2 doubles every
cost, so every partition differs). It is killed after a seeded random delay, the lake is
opened again (which recovers), and every partition must be exactly the complete v1 or the
complete v2 partition, with a manifest that agrees with its data and no leftovers.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, localcontext
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aifinops.ingest.pipeline import ingest
from aifinops.lake.manifest import MANIFEST_NAME, Manifest
from aifinops.lake.store import Lake, PartitionKey

CHILD = Path(__file__).resolve().parent / "support" / "ingest_child.py"
SEED = 20261128
MIN_KILLS = 20
MAX_RUNS = 60
#: Where a kill's delay is measured from: the fork, the end of reading (grouping,
#: the partitioned COPY and the commits follow), or the first commit (the others follow).
ANCHORS = ("start", "read", "write", "commit")


@dataclass(frozen=True)
class Version:
    """One complete version of one partition."""

    rows: int
    billed: Decimal
    effective: Decimal
    fingerprint: str
    source_sha256: str


@dataclass
class Run:
    anchor: str
    delay: float
    killed: bool
    commits_reported: int
    staging_left: bool
    trash_left: bool
    states: dict[PartitionKey, str]


def dsum(values: list[Decimal | None]) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 80
        return sum((v for v in values if v is not None), Decimal(0))


def fingerprint(table: pa.Table) -> str:
    """Hash each row's identity, source and costs, order-free (a v1/v2 mix changes it)."""
    columns = ["x_SourceExtras", "x_SourceFile", "BilledCost", "EffectiveCost", "ListCost"]
    rows = sorted(repr(r) for r in zip(*table.select(columns).to_pydict().values(), strict=True))
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def children(path: Path) -> list[Path]:
    return sorted(path.iterdir()) if path.exists() else []


def read_partition(lake: Lake, key: PartitionKey) -> tuple[pa.Table, Version]:
    """Check one partition against its manifest and return its data and what it holds."""
    manifest = lake.manifest(key)
    assert manifest is not None, f"{key.label()} lost its manifest"
    folder = lake.costs_dir / key.relative_path()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [MANIFEST_NAME, *manifest.data_files]
    ), f"{key.label()}: stray or missing files"
    digest = hashlib.sha256()
    for name in manifest.data_files:
        digest.update((folder / name).read_bytes())
    assert digest.hexdigest() == manifest.content_sha256, f"{key.label()}: data != manifest"
    table = pa.concat_tables([pq.ParquetFile(folder / n).read() for n in manifest.data_files])
    version = Version(
        table.num_rows,
        dsum(table.column("BilledCost").to_pylist()),
        dsum(table.column("EffectiveCost").to_pylist()),
        fingerprint(table),
        *[s.sha256 for s in manifest.sources],
    )
    assert (version.rows, version.billed, version.effective) == (
        manifest.row_count,
        manifest.billed_cost,
        manifest.effective_cost,
    ), f"{key.label()}: sums != manifest"
    return table, version


def versions_of(lake: Lake) -> dict[PartitionKey, Version]:
    return {m.key(): read_partition(lake, m.key())[1] for m in lake.manifests()}


@pytest.fixture(scope="module")
def files(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """v1 and v2 of a multi-partition FOCUS file (written in a temporary directory).

    v1 is the FOCUS sample with its AWS rows spread over six billing accounts (so there are
    nine partitions, and more commits to land a kill between); v2 is v1 with BilledCost and
    EffectiveCost doubled, so every partition differs between the two.
    """
    sample = shared_data / "samples" / "focus" / "FOCUS-1.0_focus_sample.csv"
    if not sample.is_file():
        pytest.skip(f"FOCUS sample not found at {sample}")
    with open(sample, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    provider, account = header.index("ProviderName"), header.index("BillingAccountId")
    for n, row in enumerate(rows[1:]):
        if row[provider] == "AWS":
            row[account] = f"{row[account]}-{n % 6}"
    folder = tmp_path_factory.mktemp("versions")
    v1, v2 = folder / "focus-v1.csv", folder / "focus-v2.csv"
    with open(v1, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    money = [header.index("BilledCost"), header.index("EffectiveCost")]
    for row in rows[1:]:
        for i in money:
            if row[i] != "NULL":
                row[i] = str(Decimal(row[i]) * 2)
    with open(v2, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return v1, v2


class Server:
    """The fork server of ``support/ingest_child.py``; one ingest child at a time."""

    def __init__(self, cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
        )
        assert self.proc.stdout is not None
        self._fd = self.proc.stdout.fileno()
        self._buffer = b""
        assert self.line() == "ready", self.stderr()

    def stderr(self) -> str:
        self.proc.kill()
        return self.proc.communicate(timeout=30)[1]

    def line(self, timeout: float = 60) -> str:
        """Return the server's next output line (read unbuffered, so select() is exact)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self._fd], [], [], max(0, deadline - time.monotonic()))
            assert ready, "the ingest child stopped answering"
            chunk = os.read(self._fd, 65536)
            assert chunk, f"the fork server ended: {self.stderr()}"
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode().strip()

    def send(self, *words: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\t".join(words) + "\n")
        self.proc.stdin.flush()

    def start(self, lake_root: Path, source: Path) -> list[str]:
        """Fork a child ingesting ``source`` into ``lake_root``; return its output so far."""
        self.send("ingest", str(lake_root), str(source))
        line = self.line()
        assert line.startswith("pid "), line
        return []

    def until(self, prefix: str, seen: list[str]) -> None:
        """Block until the child prints a line starting with ``prefix`` (or finishes)."""
        while True:
            line = self.line()
            seen.append(line)
            assert not line.startswith("failed"), line
            if line.startswith((prefix, "done")):
                return

    def finish(self, seen: list[str], *, kill: bool) -> int:
        """SIGKILL the child (or let it finish); return its exit status, collect its output."""
        self.send("kill" if kill else "wait")
        while True:
            line = self.line()
            if line.startswith("exit "):
                return int(line.split()[1])
            seen.append(line)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def test_sigkill_during_ingest_leaves_every_partition_whole(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    v1, v2 = files
    template = tmp_path / "template"
    ingest([v1], Lake.open(template))
    old = versions_of(Lake.open(template))
    old_manifests = {m.key(): m for m in Lake.open(template).manifests()}
    assert len(old) == 9

    server = Server(tmp_path)
    try:
        runs, spans, done, elapsed = _kill_runs(server, template, v2, old, old_manifests, tmp_path)
    finally:
        server.close()

    killed = [r for r in runs if r.killed]
    summary = (
        f"{len(runs)} runs in {elapsed:.1f}s, {len(killed)} killed; one ingest takes "
        f"{done:.2f}s; staging leftovers {sum(r.staging_left for r in killed)}, "
        f"trash leftovers {sum(r.trash_left for r in killed)}; partition states "
        f"{Counter(s for r in killed for s in r.states.values())}; mixed lakes "
        f"{sum(len(set(r.states.values())) == 2 for r in killed)}"
    )
    print(summary)
    assert len(killed) >= MIN_KILLS, summary
    # The kills landed all over the ingest: before anything was written, in the middle of
    # writing (staged data left behind), after commits, and between two partition commits.
    assert any(set(r.states.values()) == {"old"} for r in killed), summary
    assert any(r.staging_left for r in killed), summary
    assert any("new" in r.states.values() for r in killed), summary
    assert any(len(set(r.states.values())) == 2 for r in killed), summary


def _all_outcomes(runs: list[Run]) -> bool:
    killed = [r for r in runs if r.killed]
    return (
        any(set(r.states.values()) == {"old"} for r in killed)
        and any(r.staging_left for r in killed)
        and any("new" in r.states.values() for r in killed)
        and any(len(set(r.states.values())) == 2 for r in killed)
    )


def _kill_runs(
    server: Server,
    template: Path,
    v2: Path,
    old: dict[PartitionKey, Version],
    old_manifests: dict[PartitionKey, Manifest],
    tmp_path: Path,
) -> tuple[list[Run], dict[str, float], float, float]:
    # One uninterrupted run: the reference v2 lake, and how long each phase takes.
    shutil.copytree(template, tmp_path / "measure")
    output = server.start(tmp_path / "measure", v2)
    assert server.finish(output, kill=False) == 0, output
    times = {
        ln.split()[0] + ln.split()[1]: float(ln.split()[-1])
        for ln in output
        if ln.startswith(("read ", "write "))
    }
    done = float(next(ln.split()[1] for ln in output if ln.startswith("done")))
    new = versions_of(Lake.open(tmp_path / "measure"))
    assert set(new) == set(old)
    for key in old:  # v2 really differs everywhere, and by exactly the doubling
        assert new[key].rows == old[key].rows
        assert new[key].billed == 2 * old[key].billed != old[key].billed
        assert new[key].fingerprint != old[key].fingerprint
    spans = {
        "start": done * 1.1,
        "read": (done - times["read1"]) * 1.1,
        "write": (done - times["write1"]) * 1.2,
    }

    rng = random.Random(SEED)
    runs: list[Run] = []
    started = time.monotonic()
    for i in range(MAX_RUNS):
        # NOTE: stop only when enough kills landed AND every kind of outcome was seen, so a
        # loaded machine (other timings) takes more runs instead of failing the test.
        if sum(r.killed for r in runs) >= MIN_KILLS and _all_outcomes(runs):
            break
        root = tmp_path / f"lake-{i}"
        shutil.copytree(template, root)
        anchor = ANCHORS[i % len(ANCHORS)]
        # "commit": kill as soon as the second partition is reported committed, which lands
        # between two partition commits (old and new partitions side by side).
        delay = 0.0 if anchor == "commit" else rng.uniform(0, spans[anchor])
        output = server.start(root, v2)
        if anchor == "commit":
            server.until("write 2 ", output)
        elif anchor != "start":
            server.until(f"{anchor} 1 ", output)
        time.sleep(delay)
        status = server.finish(output, kill=True)

        costs = root / "costs"
        staging_left = bool(children(costs / ".staging"))
        trash_left = bool(children(costs / ".trash"))
        lake = Lake.open(root)  # recovers
        assert not children(costs / ".staging"), f"run {i}: staging left after recovery"
        assert not children(costs / ".trash"), f"run {i}: trash left after recovery"
        folders = {p.relative_to(costs) for p in costs.glob("provider=*/*/*")}
        assert folders == {k.relative_path() for k in old}, f"run {i}: partitions lost"
        states = {}
        for key, version in versions_of(lake).items():
            matches = [
                name for name, ref in (("old", old[key]), ("new", new[key])) if version == ref
            ]
            assert len(matches) == 1, f"run {i}: {key.label()} is neither v1 nor v2"
            states[key] = matches[0]
            if matches == ["old"]:  # untouched: exactly what v1 wrote
                assert lake.manifest(key) == old_manifests[key]
        assert status in (0, -signal.SIGKILL), output
        killed = status == -signal.SIGKILL
        if not killed:
            assert set(states.values()) == {"new"}, f"run {i}"
        # A partition reported as committed is never rolled back.
        commits = sum(ln.startswith("write ") for ln in output)
        assert Counter(states.values())["new"] >= commits, f"run {i}"
        runs.append(Run(anchor, delay, killed, commits, staging_left, trash_left, states))
        shutil.rmtree(root)
    return runs, spans, done, time.monotonic() - started
