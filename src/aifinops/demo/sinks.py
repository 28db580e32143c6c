"""The files of one billing month, and one generation *part*: some providers, maybe the signals.

Every charge is written through template ids (``truth.template_key``): the columns fixed by
the template are built once, only costs, quantities and times are buffered per row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from aifinops.demo.aws_cur2 import CUR2_SCHEMA, CUR2_VARYING, cur2_rows, cur2_values
from aifinops.demo.azure_ea import EA_HEADER, ea_rows
from aifinops.demo.charges import ZERO, Charge, month_key
from aifinops.demo.company import GCP_BILLING, MONTHS, PROVIDER_NAMES, SUB_ACCOUNTS
from aifinops.demo.gcp_bq import bq_template, bq_values
from aifinops.demo.stories import StoryBook
from aifinops.demo.truth import (
    LABELS_SCHEMA,
    LABELS_VARYING,
    TRUTH_SCHEMA,
    TRUTH_VARYING,
    label_template,
    label_values,
    template_key,
    truth_charges,
    truth_template,
    truth_values,
)
from aifinops.demo.writer import CsvSink, LineSink, TemplateSink

Totals = dict[tuple[str, str, str], tuple[Decimal, Decimal]]
Sink = TemplateSink | CsvSink | LineSink


@dataclass
class Written:
    """The files of one part, its truth row count and totals, and its story rows."""

    truth_files: list[Path] = field(default_factory=list)
    label_files: list[Path] = field(default_factory=list)
    native_files: dict[str, list[Path]] = field(default_factory=lambda: defaultdict(list))
    rows: int = 0
    totals: Totals = field(default_factory=dict)
    signal_files: list[Path] = field(default_factory=list)


class Templates:
    """Template ids of charges (see ``truth.template_key``) and the truth sums per template."""

    def __init__(self) -> None:
        self._ids: dict[tuple[object, ...], int] = {}
        self._keys: list[tuple[str, str, str]] = []
        self._sums: list[list[Decimal]] = []

    def of(self, charge: Charge) -> int:
        """Return the template id of ``charge``."""
        key = template_key(charge)
        tid = self._ids.get(key)
        if tid is None:
            tid = self._ids[key] = len(self._keys)
            billing = SUB_ACCOUNTS[charge.sub].billing_id
            self._keys.append((PROVIDER_NAMES[charge.provider], billing, month_key(charge.start)))
            self._sums.append([ZERO, ZERO])
        return tid

    def add(self, tid: int, charge: Charge) -> None:
        """Count the costs of one truth row of template ``tid``."""
        sums = self._sums[tid]
        sums[0] += charge.billed
        sums[1] += charge.effective

    def totals(self) -> Totals:
        """Return ΣBilledCost and ΣEffectiveCost per (provider, billing account, month)."""
        out: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
        for key, (billed, effective) in zip(self._keys, self._sums, strict=True):
            out[key][0] += billed
            out[key][1] += effective
        return {k: (v[0], v[1]) for k, v in sorted(out.items())}


class MonthSinks:
    """Every file of one billing month for ``providers``."""

    def __init__(self, out_dir: Path, month: str, providers: tuple[str, ...]) -> None:
        digits = month.replace("-", "")
        self.providers = providers
        self.truth = {
            p: TemplateSink(out_dir / "focus" / f"{p}-{month}.parquet", TRUTH_SCHEMA, TRUTH_VARYING)
            for p in providers
        }
        self.labels = {
            p: TemplateSink(
                out_dir / "labels" / f"{p}-{month}.parquet", LABELS_SCHEMA, LABELS_VARYING
            )
            for p in providers
        }
        self.native: dict[str, list[Sink]] = {p: [] for p in providers}
        if "aws" in providers:
            cur_dir = out_dir / "aws" / "nimbus-cur2" / "data" / f"BILLING_PERIOD={month}"
            self.cur = TemplateSink(
                cur_dir / "nimbus-cur2-00001.snappy.parquet",
                CUR2_SCHEMA,
                CUR2_VARYING,
                compression="snappy",
            )
            self.native["aws"] = [self.cur]
        if "azure" in providers:
            ea = out_dir / "azure"
            self.actual = CsvSink(
                ea / "actual" / f"nimbus-ea-actual_{digits}.csv", EA_HEADER, bom=True, crlf=True
            )
            self.amortized = CsvSink(
                ea / "amortized" / f"nimbus-ea-amortized_{digits}.csv",
                EA_HEADER,
                bom=True,
                crlf=True,
            )
            self.native["azure"] = [self.actual, self.amortized]
        if "gcp" in providers:
            table = f"gcp_billing_export_resource_v1_{GCP_BILLING.replace('-', '_')}"
            self.gcp = LineSink(out_dir / "gcp" / table / f"{digits}.jsonl")
            self.native["gcp"] = [self.gcp]
        self._gcp_formats: dict[int, str] = {}

    def write_truth(self, charge: Charge, template: int) -> None:
        """Write the truth and label row of ``charge``."""
        self.truth[charge.provider].write(
            template, lambda: truth_template(charge), truth_values(charge)
        )
        self.labels[charge.provider].write(
            template, lambda: label_template(charge), label_values(charge)
        )

    def write_native(self, charge: Charge, template: int) -> None:
        """Write the native export rows of ``charge``."""
        if charge.provider == "aws":
            for i, values in enumerate(cur2_values(charge)):
                self.cur.write(2 * template + i, partial(_cur_row, charge, i), values)
        elif charge.provider == "azure":
            actual, amortized = ea_rows(charge)
            if actual is not None:
                self.actual.write(actual)
            if amortized is not None:
                self.amortized.write(amortized)
        else:
            fmt = self._gcp_formats.get(template)
            if fmt is None:
                fmt = self._gcp_formats[template] = bq_template(charge)
            self.gcp.write(fmt.format(*bq_values(charge)))

    def close(self, written: Written) -> None:
        """Close every file and record it in ``written``."""
        for p in self.providers:
            self.truth[p].close()
            self.labels[p].close()
            written.truth_files.append(self.truth[p].path)
            written.label_files.append(self.labels[p].path)
            for sink in self.native[p]:
                sink.close()
                written.native_files[p].append(sink.path)


def _cur_row(charge: Charge, index: int) -> dict[str, Any]:
    return cur2_rows(charge)[index]


def month_days(all_days: list[datetime]) -> list[tuple[str, list[datetime]]]:
    """Return the days of ``all_days`` per billing month, in order."""
    return [(m, [d for d in all_days if month_key(d) == m]) for m in MONTHS]


def write_charge(charge: Charge, sinks: MonthSinks, templates: Templates, book: StoryBook) -> int:
    """Write ``charge`` to every file of its month and return its number of truth rows."""
    rows = truth_charges(charge)
    native = -1
    for row in rows:
        tid = templates.of(row)
        native = tid if native < 0 else native
        sinks.write_truth(row, tid)
        templates.add(tid, row)
        if row.story:
            book.add(row.story, row)
    sinks.write_native(charge, native)
    return len(rows)
