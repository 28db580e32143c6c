"""GPU telemetry readers: the real H200 NVML trace, nvidia-smi, DCGM exporter, our own tables."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aifinops.demo.signals import TELEMETRY_HEADER
from aifinops.errors import BadInputError
from aifinops.signals.prometheus import parse_exposition, read_query_json
from aifinops.signals.schema import TELEMETRY
from aifinops.signals.telemetry_files import FORMATS, detect_format, read_telemetry

DATA = Path(__file__).parent / "data" / "telemetry"
SCRAPE_TIME = datetime(2026, 11, 28, 1, 56, tzinfo=UTC)  # 1795830960000 ms in the .prom file


@pytest.fixture(scope="module")
def h200(shared_data: Path) -> Path:
    """Return the real H200 NVML trace, or skip when it is absent."""
    path = shared_data / "gpu-telemetry" / "telemetry.csv"
    if not path.is_file():
        pytest.skip(f"H200 trace not found at {path}")
    return path


def _column(table: pa.Table, name: str) -> list[object]:
    return table[name].to_pylist()


# --- the real H200 trace ----------------------------------------------------------------------


def test_h200_trace_is_read_exactly(h200: Path) -> None:
    table = read_telemetry(h200)
    assert table.schema == TELEMETRY
    assert table.num_rows == 374
    energy = _column(table, "energy_j")
    assert energy[0] == 2766.698  # 2766698 mJ
    assert energy[-1] == 54655.687
    assert round(energy[-1] - energy[0]) == 51889  # the trace's README: 51,889 J
    assert set(_column(table, "gpu_model")) == {"NVIDIA H200"}  # from meta.json
    assert set(_column(table, "gpu_uuid")) == {"GPU-f963a00c-7e8c-0f23-dfa4-9d8092da2bef"}
    stamps = _column(table, "timestamp")
    assert table.schema.field("timestamp").type.tz == "UTC"
    assert stamps[0] == datetime(2026, 11, 28, 1, 55, 55, 254000, tzinfo=UTC)  # 1795830955.254
    assert stamps == sorted(stamps)
    first = table.slice(0, 1).to_pylist()[0]
    assert (first["gpu_util_pct"], first["mem_used_mib"], first["power_w"]) == (0.0, 615.0, 79.192)
    assert first["mem_total_mib"] == 143771.0
    assert max(_column(table, "mem_used_mib")) == 46371.0  # the zombie phase's 40 GiB
    assert (first["host"], first["source"], first["resource_id"]) == (
        "telemetry",
        "telemetry.csv",
        None,
    )
    assert detect_format(h200) == "nvml-csv"


def test_options_fill_host_resource_and_override_meta_gpu(h200: Path) -> None:
    table = read_telemetry(
        h200, host="h200-box", resource_id="i-0abc123def4567890", gpu_model="H200 141GB"
    )
    assert set(_column(table, "host")) == {"h200-box"}
    assert set(_column(table, "resource_id")) == {"i-0abc123def4567890"}
    assert set(_column(table, "gpu_model")) == {"H200 141GB"}


# --- nvidia-smi -------------------------------------------------------------------------------


def test_nvidia_smi_with_and_without_units_reads_the_same() -> None:
    units = read_telemetry(DATA / "smi_loop.csv", host="node-a")
    bare = read_telemetry(DATA / "smi_nounits.csv", host="node-a")
    assert units.drop_columns(["source"]).equals(bare.drop_columns(["source"]))
    assert units.num_rows == 6
    rows = units.to_pylist()
    assert rows[0]["timestamp"] == datetime(2026, 11, 28, 11, 50, 25, 123000, tzinfo=UTC)
    assert (rows[0]["gpu_util_pct"], rows[0]["mem_used_mib"], rows[0]["power_w"]) == (
        87.0,
        61234.0,
        312.45,
    )
    assert rows[0]["gpu_model"] == "NVIDIA A100-SXM4-80GB"
    gpu1 = [row for row in rows if row["gpu_index"] == 1]
    assert [row["power_w"] for row in gpu1] == [61.2, None, 61.34]  # [N/A] is null
    assert all(row["energy_j"] is None for row in rows)  # not queried


def test_nvidia_smi_local_time_subset_and_appended_runs() -> None:
    table = read_telemetry(DATA / "smi_appended.csv", local_tz="Europe/Berlin")
    rows = table.to_pylist()
    assert len(rows) == 3  # the repeated header line is not a row
    # Berlin went from CET (+1) to CEST (+2) at 02:00 local on 2026-03-29.
    assert [row["timestamp"] for row in rows] == [
        datetime(2026, 3, 29, 0, 59, 58, 4000, tzinfo=UTC),
        datetime(2026, 3, 29, 0, 59, 59, 6000, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, 1, 552000, tzinfo=UTC),
    ]
    assert [row["power_w"] for row in rows] == [287.31, 290.02, 71.58]  # power.draw.instant
    assert rows[2]["gpu_util_pct"] is None  # [Not Supported]
    assert rows[0]["gpu_uuid"] is None and rows[0]["mem_total_mib"] is None
    utc = read_telemetry(DATA / "smi_appended.csv")
    assert utc["timestamp"][0].as_py() == datetime(2026, 3, 29, 1, 59, 58, 4000, tzinfo=UTC)


def test_nvidia_smi_energy_column_unit_comes_from_the_header(tmp_path: Path) -> None:
    path = tmp_path / "energy.csv"
    path.write_text(
        "timestamp, index, power.draw [W], total_energy_consumption [mJ]\n"
        "2026/11/28 11:50:25.123, 0, 312.45 W, 1234567 mJ\n"
    )
    assert read_telemetry(path)["energy_j"].to_pylist() == [1234.567]
    path.write_text(path.read_text().replace("[mJ]", "[Wh]"))
    with pytest.raises(BadInputError, match=r"header, column total_energy_consumption \[Wh\]"):
        read_telemetry(path)


# --- DCGM exporter ----------------------------------------------------------------------------


def test_dcgm_scrapes_and_query_json_give_equal_rows() -> None:
    scraped = read_telemetry(DATA / "dcgm_scrapes.prom")
    queried = read_telemetry(DATA / "dcgm_query_range.json")
    assert scraped.drop_columns(["source"]).equals(queried.drop_columns(["source"]))
    assert scraped.num_rows == 6  # 3 scrapes x 2 GPUs, one row per GPU and time
    first = scraped.to_pylist()[0]
    assert first["timestamp"] == SCRAPE_TIME
    assert (first["host"], first["gpu_index"]) == ("gpu-node-01", 0)
    assert first["gpu_model"] == "NVIDIA H100 80GB HBM3"
    assert first["gpu_util_pct"] == 97.0
    assert first["engine_active_pct"] == pytest.approx(87.3451)  # ratio 0.873451 x 100
    assert first["mem_used_mib"] == 51460.0
    assert first["mem_total_mib"] == 51460.0 + 29561.0 + 538.0  # used + free + reserved
    assert first["power_w"] == 612.347
    assert first["energy_j"] == 184529.113  # 184529113 mJ
    idle = scraped.to_pylist()[3:]
    assert {row["gpu_index"] for row in idle} == {1}
    assert {row["engine_active_pct"] for row in idle} == {0.0}


def test_dcgm_scrape_without_timestamps_uses_default_time_or_mtime(tmp_path: Path) -> None:
    lines = (DATA / "dcgm_scrapes.prom").read_text().splitlines()
    one = [line.rsplit(" ", 1)[0] for line in lines if line.endswith(" 1795830960000")]
    comments = [line for line in lines[:18] if line.startswith("#")]
    path = tmp_path / "node-7.prom"
    path.write_text("\n".join(comments + one) + "\n")
    when = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    table = read_telemetry(path, default_time=when)
    assert table.num_rows == 2
    assert set(_column(table, "timestamp")) == {when}
    os.utime(path, (1795830000, 1795830000))
    from_mtime = read_telemetry(path)
    assert set(_column(from_mtime, "timestamp")) == {datetime.fromtimestamp(1795830000, UTC)}


def test_dcgm_instance_label_names_the_host_and_blanks_are_null(tmp_path: Path) -> None:
    path = tmp_path / "instant.json"
    labels = '"gpu":"0","UUID":"GPU-1","instance":"10.0.3.17:9400","job":"dcgm"'
    path.write_text(
        '{"status":"success","data":{"resultType":"vector","result":['
        f'{{"metric":{{"__name__":"DCGM_FI_DEV_GPU_UTIL",{labels}}},"value":[1795830960.5,"NaN"]}},'
        f'{{"metric":{{"__name__":"DCGM_FI_DEV_FB_USED",{labels}}},"value":[1795830960.5,"2147483632"]}},'
        f'{{"metric":{{"__name__":"DCGM_FI_DEV_POWER_USAGE",{labels}}},"value":[1795830960.5,"88.5"]}}'
        "]}}"
    )
    rows = read_telemetry(path, resource_id="i-0abc").to_pylist()
    assert len(rows) == 1
    row = rows[0]
    assert (row["host"], row["resource_id"], row["gpu_uuid"]) == ("10.0.3.17", "i-0abc", "GPU-1")
    assert row["timestamp"] == SCRAPE_TIME + timedelta(milliseconds=500)
    assert (row["gpu_util_pct"], row["mem_used_mib"], row["power_w"]) == (None, None, 88.5)


def test_prometheus_error_response_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "error.json"
    path.write_text(
        '{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\""}'
    )
    with pytest.raises(BadInputError, match=r"error\.json: Prometheus answered.*bad_data"):
        read_query_json(path)


def test_json_without_dcgm_series_says_which_it_wants(tmp_path: Path) -> None:
    path = tmp_path / "up.json"
    path.write_text(
        '{"status":"success","data":{"resultType":"vector","result":['
        '{"metric":{"__name__":"up","job":"node"},"value":[1795830960,"1"]}]}}'
    )
    with pytest.raises(BadInputError, match="no DCGM exporter series.*DCGM_FI_DEV_GPU_UTIL"):
        read_telemetry(path)


def test_parse_exposition_escapes_special_values_and_timestamps() -> None:
    text = (
        "# HELP up Whether the target is up.\n"
        "# TYPE up gauge\n"
        'msg{path="C:\\\\gpu",say="a \\"b\\"\\nc",} NaN 1795830960123\n'
        'msg{say="x"} +Inf\n'
        'msg{ say = "x" } -Inf 1795830961.5\n'
    )
    default = datetime(2026, 1, 1, tzinfo=UTC)
    first, second = parse_exposition(text, default_time=default)
    assert first.labels == {"__name__": "msg", "path": "C:\\gpu", "say": 'a "b"\nc'}
    assert first.points[0][0] == SCRAPE_TIME + timedelta(milliseconds=123)
    assert first.points[0][1] != first.points[0][1]  # NaN
    assert second.labels == {"__name__": "msg", "say": "x"}  # spacing does not split series
    assert second.points == [
        (default, float("inf")),
        (SCRAPE_TIME + timedelta(seconds=1.5), float("-inf")),
    ]


def test_exposition_bad_line_is_named() -> None:
    with pytest.raises(BadInputError, match=r"scrape\.prom: line 3: .*not a number"):
        parse_exposition(
            '# TYPE x gauge\nx 1\nx{gpu="0"} twelve\n',
            default_time=SCRAPE_TIME,
            source="scrape.prom",
        )


# --- our own table and the demo ---------------------------------------------------------------


def test_demo_gpu_csv_keeps_its_hosts_and_resources(tmp_path: Path) -> None:
    path = tmp_path / "gpu.csv"
    path.write_text(
        ",".join(TELEMETRY_HEADER) + "\n"
        "2026-11-01T00:00:00Z,i-0a1b2c3d,train-01,1,93.4,74112,81559,637.1,11467800\n"
        "2026-11-01T00:00:00Z,i-0a1b2c3d,train-01,0,95.2,72004,81559,649.3,11687400\n"
        '2026-11-01T06:00:00Z,"/subscriptions/s/vm,1",nb-zombie,0,0.0,63980,81559,84.0,453600\n'
    )
    rows = read_telemetry(path, resource_id="ignored-when-the-file-has-one").to_pylist()
    assert [(r["host"], r["gpu_index"]) for r in rows] == [
        ("nb-zombie", 0),
        ("train-01", 0),
        ("train-01", 1),
    ]
    assert rows[0]["resource_id"] == "/subscriptions/s/vm,1"
    assert rows[1] == {
        "timestamp": datetime(2026, 11, 1, tzinfo=UTC),
        "host": "train-01",
        "resource_id": "i-0a1b2c3d",
        "gpu_index": 0,
        "gpu_uuid": None,
        "gpu_model": None,
        "gpu_util_pct": 95.2,
        "engine_active_pct": None,
        "mem_used_mib": 72004.0,
        "mem_total_mib": 81559.0,
        "power_w": 649.3,
        "energy_j": 11687400.0,
        "source": "gpu.csv",
    }


def test_own_schema_parquet_round_trips(tmp_path: Path) -> None:
    table = read_telemetry(DATA / "dcgm_scrapes.prom", resource_id="i-0abc")
    path = tmp_path / "telemetry.parquet"
    pq.write_table(table, path)
    assert detect_format(path) == "aifinops"
    assert read_telemetry(path).equals(table)


def test_own_csv_reads_null_markers_and_mixed_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "node-9.csv"
    path.write_text(
        "timestamp,gpu_index,gpu_util_pct,power_w,host,extra\n"
        "2026-11-01T00:00:00+01:00,0,NULL,N/A,,whatever\n"
        "1795830955.5,0,NaN,,box-2,\n"
        "2026-11-01T00:00:00,1,12.5,70,,\n"
    )
    rows = read_telemetry(path).to_pylist()
    assert [(r["host"], r["gpu_index"], r["timestamp"]) for r in rows] == [
        ("box-2", 0, datetime(2026, 11, 28, 1, 55, 55, 500000, tzinfo=UTC)),
        ("node-9", 0, datetime(2026, 10, 31, 23, 0, tzinfo=UTC)),  # +01:00
        ("node-9", 1, datetime(2026, 11, 1, 0, 0, tzinfo=UTC)),  # no offset: UTC
    ]
    assert [(r["gpu_util_pct"], r["power_w"]) for r in rows] == [
        (None, None),
        (None, None),
        (12.5, 70.0),
    ]


# --- bad files --------------------------------------------------------------------------------

HEADER = "timestamp,host,gpu_index,gpu_util_pct,power_w\n"


@pytest.mark.parametrize(
    ("body", "where", "what"),
    [
        (
            "2026-11-01T00:00:00Z,a,0,50,100\n2026-11-01T01:00:00Z,a,0,lots,100\n",
            "row 2, column gpu_util_pct",
            "'lots' is not a number",
        ),
        (
            "2026-11-01T00:00:00Z,a,0,140,100\n",
            "row 1, column gpu_util_pct",
            "140 is out of range Expected: 0 to 100.",
        ),
        ("2026-11-01T00:00:00Z,a,0,50,-3\n", "row 1, column power_w", "-3 is out of range"),
        (
            "2026-11-01T00:00:00Z,a,0,50,1\nyesterday,a,0,50,1\n",
            "row 2, column timestamp",
            "'yesterday' is not a time",
        ),
        (
            "2026-11-01T00:00:00Z,a,0,50,1\n,a,0,50,1\n",
            "row 2, column timestamp",
            "the timestamp is empty",
        ),
        ("2026-11-01T00:00:00Z,a,0.5,50,1\n", "row 1, column gpu_index", "is not a GPU index"),
        ("2026-11-01T00:00:00Z,a,,50,1\n", "row 1, column gpu_index", "the row names no GPU"),
    ],
)
def test_bad_values_name_file_row_and_column(
    tmp_path: Path, body: str, where: str, what: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + body)
    with pytest.raises(BadInputError) as caught:
        read_telemetry(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, {where}: ")
    assert what in message
    assert "To fix:" in message


def test_unknown_format_names_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "weird.csv"
    path.write_text("when,card,busy\n2026-11-01,0,50\n")
    with pytest.raises(BadInputError) as caught:
        read_telemetry(path)
    message = str(caught.value)
    assert "not a telemetry format" in message and "when, card, busy" in message
    assert all(name in message for name in FORMATS)
    with pytest.raises(BadInputError, match="unknown telemetry format 'csv'"):
        read_telemetry(DATA / "smi_loop.csv", fmt="csv")


def test_bad_time_zone_and_missing_file_are_explained() -> None:
    with pytest.raises(BadInputError, match="unknown time zone 'Mars/Olympus'"):
        read_telemetry(DATA / "smi_loop.csv", local_tz="Mars/Olympus")
    with pytest.raises(BadInputError, match="no such file"):
        read_telemetry(DATA / "absent.csv")
