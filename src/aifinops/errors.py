"""The one exception tree of aifinops.

::

    AifinopsError                 base of everything we raise on purpose
    ├── ConfigError               a config file or setting is wrong
    ├── BadInputError             a user-supplied file cannot be read (CLI exit code 2)
    │   └── IngestError           a file was read but a value breaks the FOCUS contract
    ├── LakeError                 the lake on disk is not what we expect
    └── EngineError               the query engine cannot be started or used

Every error that concerns a file names the file, the row, the column, what was expected and
how to fix it, so the message alone tells the user what to do.
"""

from __future__ import annotations


class AifinopsError(Exception):
    """Base class of every error aifinops raises on purpose."""


class ConfigError(AifinopsError):
    """A configuration file or setting is invalid."""


class LakeError(AifinopsError):
    """The lake on disk is missing or inconsistent."""


class EngineError(AifinopsError):
    """The query engine cannot be started or used."""


class BadInputError(AifinopsError):
    """A user-supplied file cannot be used.

    Args:
        message: what is wrong.
        file: the file concerned.
        row: 1-based data row (header excluded), when known.
        column: the column concerned, when known.
        expected: what a valid value looks like.
        fix: what the user can do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        expected: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        self.expected = expected
        self.fix = fix
        super().__init__(self.describe())

    def describe(self) -> str:
        """Return the full, human-readable message."""
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row == 0:
            where.append("header")
        elif self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        parts = [(", ".join(where) + ": " if where else "") + self.message]
        if self.expected:
            parts.append(f"Expected: {self.expected}.")
        if self.fix:
            parts.append(f"To fix: {self.fix}")
        return " ".join(parts)


class IngestError(BadInputError):
    """A file was read, but a value in it breaks the FOCUS contract."""
