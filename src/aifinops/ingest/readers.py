"""The reader seam: each billing-export format is a Reader that plans one SQL read of a file.

A reader recognises its format from a file's header or schema (:meth:`Reader.detect`) and
returns a :class:`ReadPlan`: a scan, a SELECT list that yields lake-schema rows, the row
checks that make the file bad input, and an optional filter. The pipeline runs every plan
the same way (one streaming pass, checks folded into the write), so a reader holds only
format knowledge. Readers are listed in :data:`READERS`, filled in this one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aifinops.errors import BadInputError
from aifinops.ingest.scan import Check
from aifinops.ingest.sniff import SourceInfo


@dataclass(frozen=True)
class Explanation:
    """A known, named reason why a source's own total differs from the lake's ΣBilledCost.

    Attributes:
        rule: what happened, e.g. "Savings Plan negation lines dropped (FOCUS forbids them)".
        amount: SQL aggregate over the raw rows giving the amount this rule accounts for
            (source total − lake total), e.g. ``sum(CASE WHEN type = 'SavingsPlanNegation'
            THEN cost END)``.
    """

    rule: str
    amount: str


@dataclass(frozen=True)
class GroupCheck:
    """A condition on one billing account and period's raw rows that makes the input bad.

    Evaluated with the reconciliation's totals (no pass of its own), e.g. "the Azure actual
    and amortized files cover the same account and period".

    Attributes:
        column: the column to name in the error.
        bad: SQL aggregate over the group's raw rows, true when the group is bad.
        shown: SQL over one raw row of a bad group, shown to the user (e.g. its file and row).
        message: the error; ``{value}`` is replaced by ``shown``.
        expected: what a good input has.
        fix: what to do.
    """

    column: str
    bad: str
    shown: str
    message: str
    expected: str
    fix: str


@dataclass(frozen=True)
class Reconciliation:
    """How to compute a source's own total per billing account and period, from raw rows.

    Attributes:
        account: SQL over the raw rows giving the BillingAccountId the row lands under.
        period: SQL over the raw rows giving the billing period as ``YYYY-MM``.
        total: SQL aggregate of the source's own billed-cost column, e.g.
            ``sum(CAST("lineItem/UnblendedCost" AS DECIMAL(38,18)))``.
        explanations: the known reasons the lake may differ; any difference they do not
            explain stops the partition from being committed.
        group_checks: conditions on each account and period's rows that make the input bad.
        scan: FROM-clause SQL of the raw rows to total, when cheaper than the plan's scan
            (None: the plan's scan).
    """

    account: str
    period: str
    total: str
    explanations: tuple[Explanation, ...] = ()
    group_checks: tuple[GroupCheck, ...] = ()
    scan: str | None = None


@dataclass
class ReadPlan:
    """How to read one source into lake rows.

    Attributes:
        format_name: recorded in ``x_SourceFormat`` and the manifest, e.g. ``focus-1.0-csv``.
        version: the source's schema version, recorded in ``x_SourceVersion``.
        scan: FROM-clause SQL yielding the raw rows.
        select: SELECT list (no ``SELECT``) yielding exactly the lake schema from ``scan``.
        checks: conditions on the raw rows that make the file bad input.
        where: SQL condition on the raw rows to keep (None keeps all), e.g. dropping
            AWS Savings Plan negation lines.
        notes: what the user should know (printed by the CLI).
        reconciliation: how to total the source by its own cost column (None: the lake's
            ΣBilledCost is the source's own BilledCost, as for FOCUS files).
        sources: other files this plan reads besides the main one (e.g. an Azure actual-cost
            file read with its amortized twin); they are recorded in the manifest.
        line: SQL true on the scan rows that are lines of the file (None: all are), for a
            scan that emits a second row for some lines (AWS fee lines with an unused part);
            errors then name the file's own line.
    """

    format_name: str
    version: str
    scan: str
    select: str
    checks: list[Check]
    where: str | None = None
    notes: list[str] = field(default_factory=list)
    reconciliation: Reconciliation | None = None
    sources: list[SourceInfo] = field(default_factory=list)
    line: str | None = None


class Reader(Protocol):
    """A billing-export format."""

    #: Short name, used by ``aifinops ingest --format NAME``.
    name: str
    #: One line shown in help and in "formats tried" errors.
    description: str
    #: FOCUS columns this reader fills (a meta-test checks each reader declares them).
    provides: frozenset[str]

    def detect(self, info: SourceInfo) -> bool:
        """Return True when ``info`` (header or schema) is in this reader's format."""
        ...

    def plan(
        self,
        info: SourceInfo,
        *,
        fallbacks: Mapping[str, str],
        run_files: Sequence[SourceInfo],
    ) -> ReadPlan:
        """Return how to read ``info``; ``run_files`` are all files of the run.

        Raises:
            BadInputError: when the file claims the format but cannot be read as it.
        """
        ...


def _readers() -> dict[str, Reader]:
    from aifinops.ingest.aws_cur import AwsCurReader
    from aifinops.ingest.aws_cur2 import AwsCur2Reader
    from aifinops.ingest.azure_cost import AzureCostReader
    from aifinops.ingest.azure_focus import AzureFocusReader
    from aifinops.ingest.focus_file import FocusReader
    from aifinops.ingest.gcp_billing import GcpBillingReader
    from aifinops.ingest.gcp_focus import GcpFocusReader

    found: list[Reader] = [
        AwsCur2Reader(),
        AwsCurReader(),
        GcpBillingReader(),
        AzureFocusReader(),
        AzureCostReader(),
        GcpFocusReader(),
        FocusReader(),
    ]
    return {r.name: r for r in found}


#: Every reader, by name. Native formats are tried before FOCUS, which is the fallback.
READERS: dict[str, Reader] = _readers()


def choose_reader(info: SourceInfo, *, forced: str | None = None) -> Reader:
    """Return the reader for ``info``: the forced one, or the first that detects it.

    Raises:
        BadInputError: for an unknown forced name, or when no reader recognises the file
            (listing the formats tried and how to force one).
    """
    if forced is not None:
        if forced not in READERS:
            raise BadInputError(
                f"unknown format {forced!r}",
                column="--source-format",
                expected=f"one of {', '.join(READERS)}",
                fix="pick a format from the list, or leave --source-format out to detect it.",
            )
        return READERS[forced]
    for reader in READERS.values():
        if reader.detect(info):
            return reader
    tried = "; ".join(f"{r.name} ({r.description})" for r in READERS.values())
    raise BadInputError(
        f"no reader recognises this file (tried: {tried})",
        file=str(info.path),
        row=0,
        expected="a billing export whose header matches one of the formats tried",
        fix="check that this is a cost export; to force a format pass --source-format NAME "
        f"(one of {', '.join(READERS)}); see docs/ingest.md.",
    )
