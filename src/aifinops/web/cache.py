"""One engine shared by every request, and responses cached per lake version.

A DuckDB connection is not thread-safe and FastAPI runs plain ``def`` routes in a thread
pool, so :class:`SharedEngine` lets one request at a time use the engine (``with
engine.lock``). :class:`ResponseCache` keeps finished response bodies keyed by (lake
version, route, normalised parameters): a repeated request never reaches the engine, and an
ingest (which changes :meth:`aifinops.lake.Lake.version`) makes every old entry unreachable.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import ibis
import pyarrow as pa

from aifinops.lake.engine import Engine

#: Finished responses kept (least recently used dropped first).
DEFAULT_ENTRIES = 512


class SharedEngine(Engine):
    """An :class:`Engine` for many threads: hold :attr:`lock` around every use.

    Attributes:
        lock: serialises use of the backend (re-entrant, so a view may call another).
        executions: queries run so far (a public counter; tests read it).
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine.name, engine.backend, engine.lake)
        self.summaries = engine.summaries
        self.lock = threading.RLock()
        self.executions = 0

    def materialise(self, name: str, build: Callable[[], ibis.Table]) -> ibis.Table:
        """Keep ``build()`` per lake version (see :meth:`Engine.materialise`), locked."""
        with self.lock:
            return super().materialise(name, build)

    def execute(self, expr: ibis.Expr) -> pa.Table:
        """Run ``expr`` (see :meth:`Engine.execute`) and count it."""
        with self.lock:
            self.executions += 1
            return super().execute(expr)


class ResponseCache:
    """Finished responses by (lake version, route, parameters), least recently used dropped.

    Attributes:
        hits: requests answered from the cache.
        misses: requests that had to be computed.
    """

    def __init__(self, max_entries: int = DEFAULT_ENTRIES) -> None:
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._version: str | None = None

    def use_version(self, version: str) -> None:
        """Drop every entry when the lake's version changed since the last call."""
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """Return the value cached under ``key``, computing and storing it on a miss.

        Two threads missing the same key at once may both compute; both results are equal.
        """
        with self._lock:
            if key in self._entries:
                self.hits += 1
                self._entries.move_to_end(key)
                return self._entries[key]
            self.misses += 1
        value = compute()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every entry (the counters stay)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
