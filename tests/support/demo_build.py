"""The small demo company (seed 7, scale 0.05), generated and ingested once per test session.

Building it costs a generate and a dozen ingests, so every test module that only reads the demo
shares one build: its exports under ``<base>/web-demo/out`` and its lake under
``<base>/web-demo/lake``, ``base`` being the session's ``tmp_path_factory.getbasetemp()``.
Under pytest-xdist each worker has its own base temp directory inside the session's; the first
worker that needs the demo builds it there under a file lock, the others wait for it and link
``<their base>/web-demo`` to it. The build is read-only: a test that writes copies it first.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
from pathlib import Path

from aifinops.lake import Lake
from aifinops.quickstart import DemoBuild, build_demo

SEED = 7
SCALE = 0.05
#: The folder, under a base temp directory, that holds ``out/`` and ``lake/``.
FOLDER = "web-demo"

_BUILDS: dict[Path, DemoBuild] = {}


def small_demo(base: Path) -> DemoBuild:
    """Return the shared small demo build; its files are under ``base / "web-demo"``."""
    root = base / FOLDER
    if root not in _BUILDS:
        shared = _session_base(base) / FOLDER
        build = _build_once(shared)
        if shared != root and not root.exists():
            root.symlink_to(shared, target_is_directory=True)
        _BUILDS[root] = build
    return _BUILDS[root]


def small_demo_lake(base: Path) -> Lake:
    """Return the shared small demo's lake, opened at ``base / "web-demo" / "lake"``."""
    small_demo(base)
    return Lake.open(base / FOLDER / "lake")


def _session_base(base: Path) -> Path:
    """Return the base temp directory shared by the session's xdist workers (else ``base``)."""
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _build_once(root: Path) -> DemoBuild:
    """Build the demo under ``root`` unless a finished build is there; return the build."""
    root.parent.mkdir(parents=True, exist_ok=True)
    done = root.parent / f"{FOLDER}.pickle"
    with open(root.parent / f"{FOLDER}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file():
            build: DemoBuild = pickle.loads(done.read_bytes())
            return build
        shutil.rmtree(root, ignore_errors=True)  # a build that failed half-way
        build = build_demo(root / "out", Lake.open(root / "lake"), seed=SEED, scale=SCALE)
        staged = done.with_suffix(".tmp")
        staged.write_bytes(pickle.dumps(build))
        staged.replace(done)
        return build
