"""Group incoming rows by lake partition: totals, files, currency, and the manifest to write."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

from aifinops import __version__
from aifinops.errors import BadInputError
from aifinops.ingest.scan import read
from aifinops.ingest.sniff import SourceInfo
from aifinops.lake.duck import DuckSession, quote_literal
from aifinops.lake.manifest import Manifest, SourceFile
from aifinops.lake.store import PartitionKey, provider_slug
from aifinops.lake.write import partition_hash_sql

#: Digits kept when adding up DECIMAL(38,18) sums (Python's default context keeps 28).
_SUM_PRECISION = 80

# NOTE: the partition hash (the same string split() hashes per row) is computed per group,
# not per row: md5 over every staged row cost 0.3 s per 1M rows.
_GROUP_SQL = (
    "SELECT ProviderName, BillingAccountId, period, x_SourceFile, "
    f"{partition_hash_sql(period='period')}, * EXCLUDE "
    "(ProviderName, BillingAccountId, period, x_SourceFile) FROM ("
    "SELECT ProviderName, BillingAccountId, strftime(BillingPeriodStart, '%Y-%m') AS period, "
    "x_SourceFile, count(*), sum(BilledCost), sum(EffectiveCost), sum(ListCost), "
    "list(DISTINCT BillingCurrency) FROM read_parquet({files}) GROUP BY ALL)"
)


@dataclass
class Group:
    """The incoming rows of one partition."""

    key: PartitionKey
    provider_name: str
    account: str
    partition_hashes: set[str] = field(default_factory=set)
    rows: int = 0
    billed: Decimal = Decimal(0)
    effective: Decimal = Decimal(0)
    list_cost: Decimal = Decimal(0)
    files: dict[str, int] = field(default_factory=dict)
    file_billed: dict[str, Decimal] = field(default_factory=dict)
    file_effective: dict[str, Decimal] = field(default_factory=dict)
    currencies: set[str] = field(default_factory=set)
    provider_names: set[str] = field(default_factory=set)

    @property
    def currency(self) -> str:
        """Return the partition's one billing currency ("" when the rows have none)."""
        return next(iter(sorted(self.currencies)), "")

    def add(
        self,
        provider: str,
        file: str,
        rows: int,
        sums: tuple[Any, Any, Any],
        currencies: list[Any] | None,
    ) -> None:
        """Add one (provider spelling, file) slice of the partition."""
        self.provider_names.add(provider)
        self.rows += rows
        self.files[file] = self.files.get(file, 0) + rows
        # NOTE: the default decimal context keeps 28 digits, fewer than DECIMAL(38,18)
        # holds; summing in it rounded large totals in the manifest.
        with localcontext() as ctx:
            ctx.prec = _SUM_PRECISION
            self.billed += sums[0] or 0
            self.effective += sums[1] or 0
            self.list_cost += sums[2] or 0
            self.file_billed[file] = self.file_billed.get(file, Decimal(0)) + (sums[0] or 0)
            self.file_effective[file] = self.file_effective.get(file, Decimal(0)) + (sums[1] or 0)
        # NOTE: list every currency; count(DISTINCT)/min() once hid the second one.
        self.currencies.update(str(c) for c in currencies or [] if c is not None)


def group_partitions(session: DuckSession, info: SourceInfo, staged: list[Path]) -> list[Group]:
    """Return the partitions the rows of the ``staged`` Parquet files fall into, by key."""
    files = "[" + ", ".join(quote_literal(str(p)) for p in staged) + "]"
    groups: dict[PartitionKey, Group] = {}
    for provider, account, period, file, phash, rows, *rest in read(
        session, info, _GROUP_SQL.format(files=files)
    ):
        key = PartitionKey(provider_slug(str(provider)), str(account), str(period))
        group = groups.setdefault(key, Group(key, str(provider), str(account)))
        # NOTE: spellings such as 'AWS' and 'aws' share a partition but not a staging hash.
        group.partition_hashes.add(str(phash))
        group.add(str(provider), str(file), int(rows), (rest[0], rest[1], rest[2]), rest[3])
    return [groups[k] for k in sorted(groups)]


def check_one_currency(
    session: DuckSession, group: Group, selects: dict[str, tuple[SourceInfo, str]]
) -> None:
    """Refuse a partition whose rows bill in more than one currency.

    ``selects`` maps a source file to its info and the SQL of its rows, to name the first row
    whose currency differs when the mix comes from one file.

    Raises:
        BadInputError: naming the currencies, the file(s) and, for one file, the row.
    """
    if len(group.currencies) <= 1:
        return
    row = None
    if len(group.files) == 1:
        info, select = selects[next(iter(group.files))]
        names = ", ".join(quote_literal(n) for n in sorted(group.provider_names))
        found = read(
            session,
            info,
            f"WITH t AS (SELECT row_number() OVER () AS rn, ProviderName AS p, "
            f"BillingAccountId AS a, BillingPeriodStart AS s, BillingCurrency AS c "
            f"FROM ({select})), "
            f"k AS (SELECT rn, c FROM t WHERE p IN ({names}) "
            f"AND a = {quote_literal(group.account)} "
            f"AND strftime(s, '%Y-%m') = {quote_literal(group.key.billing_period)}) "
            f"SELECT rn FROM k WHERE c IS DISTINCT FROM (SELECT c FROM k ORDER BY rn LIMIT 1) "
            f"ORDER BY rn LIMIT 1",
        )
        row = int(found[0][0]) if found else None
    raise BadInputError(
        f"billing account {group.account}, period {group.key.billing_period} mixes billing "
        f"currencies {sorted(group.currencies)}",
        file=", ".join(sorted(group.files)),
        row=row,
        column="BillingCurrency",
        expected="one BillingCurrency per billing account and period",
        fix="ingest each currency's export separately under its own billing account.",
    )


def manifest_for(
    group: Group,
    sources: dict[str, SourceFile],
    now: datetime,
    companions: dict[str, list[SourceFile]] | None = None,
) -> Manifest:
    """Return the manifest of ``group`` (content hash filled in when it is written).

    ``companions`` maps a source file to the files read together with it (an Azure actual
    file with its amortized twin); they are listed with 0 rows of their own.
    """
    files = tuple(
        SourceFile(path=s.path, sha256=s.sha256, format=s.format, version=s.version, rows=rows)
        for name, rows in sorted(group.files.items())
        for s in (sources[name],)
    ) + tuple(c for name in sorted(group.files) for c in (companions or {}).get(name, []))
    return Manifest(
        provider=group.key.provider,
        billing_account=group.key.billing_account,
        billing_period=group.key.billing_period,
        provider_name=group.provider_name,
        billing_account_id=group.account,
        billing_currency=group.currency,
        row_count=group.rows,
        billed_cost=group.billed,
        effective_cost=group.effective,
        list_cost=group.list_cost,
        sources=files,
        content_sha256="",
        ingested_at=now.isoformat(),
        tool_version=__version__,
    )
