"""Our own ``x_`` columns: the registry of every column aifinops adds after the FOCUS ones.

Each column has an Arrow type and a one-line meaning; ``docs/focus.md`` lists them all and a
test checks that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from aifinops.focus.columns import DECIMAL_TYPE, TIMESTAMP_TYPE


@dataclass(frozen=True)
class Extension:
    """One ``x_`` column: name, Arrow type and meaning."""

    name: str
    arrow_type: pa.DataType
    meaning: str


_STR, _DEC, _BOOL = pa.string(), DECIMAL_TYPE, pa.bool_()

#: Every ``x_`` column, in the order they follow the FOCUS columns.
EXTENSIONS: tuple[Extension, ...] = (
    Extension("x_SourceFormat", _STR, "Detected format of the source file, e.g. focus-1.0-csv."),
    Extension(
        "x_SourceVersion", _STR, "FOCUS (or native schema) version the source was written in."
    ),
    Extension("x_SourceFile", _STR, "Name of the file the row was read from."),
    Extension(
        "x_SourceExtras",
        _STR,
        "JSON object of source columns that are neither FOCUS nor ours, kept verbatim.",
    ),
    Extension("x_IngestedAt", TIMESTAMP_TYPE, "UTC time the row's partition was written."),
    Extension(
        "x_InstanceType",
        _STR,
        "Instance, VM size or machine type the row bought, e.g. p5.48xlarge.",
    ),
    Extension(
        "x_GpuModel", _STR, "Normalised accelerator model bought by the row, e.g. H100-80GB-SXM."
    ),
    Extension("x_GpuCount", _DEC, "Accelerators per instance (fractions for partial GPUs)."),
    Extension("x_GpuMemoryGiB", _DEC, "Memory of one accelerator in GiB."),
    Extension("x_AcceleratorKind", _STR, "gpu, tpu, trainium or inferentia."),
    Extension("x_AcceleratorHours", _DEC, "Usage hours times accelerator count."),
    Extension(
        "x_IsSpot", _BOOL, "True when the row is spot / preemptible / low-priority capacity."
    ),
    Extension(
        "x_Workload", _STR, "training, inference, notebook, data-prep, storage, network or other."
    ),
    Extension(
        "x_LifecycleStage", _STR, "data-preparation, training, validation, inference or retraining."
    ),
    Extension("x_WorkloadReason", _STR, "Which rule decided x_Workload."),
    Extension("x_Team", _STR, "Owning team, from tags, aliases or allocation rules."),
    Extension("x_Project", _STR, "Owning project."),
    Extension("x_Model", _STR, "ML model the spend served or trained."),
    Extension("x_Experiment", _STR, "Experiment name."),
    Extension("x_Dataset", _STR, "Dataset the spend read or wrote."),
    Extension("x_RunId", _STR, "Experiment run id."),
    Extension("x_Environment", _STR, "Environment, e.g. prod, dev."),
    Extension("x_AllocationRule", _STR, "Which allocation rule or tag alias set the owner fields."),
    Extension("x_EnergyKwh", _DEC, "Estimated (or measured) energy in kWh."),
    Extension("x_CarbonKgCo2e", _DEC, "Estimated emissions in kg CO2e."),
)

EXTENSIONS_BY_NAME: dict[str, Extension] = {e.name: e for e in EXTENSIONS}
EXTENSION_NAMES: tuple[str, ...] = tuple(e.name for e in EXTENSIONS)


def extensions_schema() -> pa.Schema:
    """Return the Arrow schema of our ``x_`` columns."""
    return pa.schema([pa.field(e.name, e.arrow_type, nullable=True) for e in EXTENSIONS])
