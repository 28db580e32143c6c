"""Serve the latest sample on ``/metrics`` the way NVIDIA's dcgm-exporter does.

The names, units and labels are dcgm-exporter's, so the same Grafana dashboards, alerts and
our own importer (``aifinops import telemetry``, :mod:`aifinops.signals.dcgm`) read it::

    DCGM_FI_DEV_GPU_UTIL                  gauge    %     GPU utilisation
    DCGM_FI_DEV_FB_USED                   gauge    MiB   framebuffer memory used
    DCGM_FI_DEV_FB_FREE                   gauge    MiB   framebuffer memory free
    DCGM_FI_DEV_POWER_USAGE               gauge    W     power draw
    DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION  counter  mJ    energy since the driver loaded

with the labels ``gpu`` (index), ``UUID``, ``device`` (``nvidia<index>``), ``modelName`` and
``Hostname``. A reading the GPU does not support is left out, as dcgm-exporter does. The
text is the Prometheus exposition format 0.0.4; the server is the standard library's, in a
daemon thread, bound to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pyarrow as pa

from aifinops.errors import AifinopsError

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Metric:
    """One exported field: its DCGM name, type, help text and how to read it from a row."""

    name: str
    kind: str
    help: str
    column: str
    scale: float = 1.0


METRICS = (
    Metric("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", "gpu_util_pct"),
    Metric("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", "mem_used_mib"),
    Metric("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).", "mem_free_mib"),
    Metric("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", "power_w"),
    Metric(
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "counter",
        "Total energy consumption since boot (in mJ).",
        "energy_j",
        1000.0,
    ),
)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(row: dict[str, Any]) -> str:
    pairs = {
        "gpu": str(row["gpu_index"]),
        "UUID": row["gpu_uuid"] or "",
        "device": f"nvidia{row['gpu_index']}",
        "modelName": row["gpu_model"] or "",
        "Hostname": row["host"] or "",
    }
    return ",".join(f'{k}="{_escape(v)}"' for k, v in pairs.items())


def _number(value: float) -> str:
    # NOTE: whole numbers print without ".0" (dcgm-exporter prints integers); repr keeps
    # every digit of the others, so a reading survives the round trip exactly.
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _free(row: dict[str, Any]) -> float | None:
    used, total = row.get("mem_used_mib"), row.get("mem_total_mib")
    return None if used is None or total is None else float(total - used)


def render(rows: list[dict[str, Any]]) -> str:
    """Return the exposition text of one sample's TELEMETRY rows (as Python dicts)."""
    rows = [{**row, "mem_free_mib": _free(row)} for row in rows]
    lines = []
    for metric in METRICS:
        lines += [f"# HELP {metric.name} {metric.help}", f"# TYPE {metric.name} {metric.kind}"]
        for row in rows:
            value = row.get(metric.column)
            if value is not None:
                lines.append(f"{metric.name}{{{_labels(row)}}} {_number(value * metric.scale)}")
    return "\n".join(lines) + "\n"


class Exposition:
    """The latest sample's exposition text, updated by the sampling loop, read by the server."""

    def __init__(self) -> None:
        self._text = ""
        self._lock = threading.Lock()

    def update(self, rows: pa.Table) -> None:
        """Replace the text with that of ``rows`` (one sample)."""
        text = render(rows.to_pylist())
        with self._lock:
            self._text = text

    @property
    def text(self) -> str:
        """Return the current exposition text (empty before the first sample)."""
        with self._lock:
            return self._text


class _Handler(BaseHTTPRequestHandler):
    exposition: Exposition  # set on the subclass made by serve()

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, CONTENT_TYPE, self.exposition.text)
        elif path == "/":
            self._send(200, "text/html; charset=utf-8", '<a href="/metrics">/metrics</a>\n')
        else:
            self._send(404, "text/plain; charset=utf-8", "not found: try /metrics\n")

    def _send(self, status: int, content_type: str, body: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class MetricsServer:
    """``/metrics`` served from a daemon thread; :meth:`close` stops it."""

    def __init__(self, exposition: Exposition, *, port: int, bind: str = "127.0.0.1") -> None:
        handler = type("Handler", (_Handler,), {"exposition": exposition})
        server_class = _Server6 if ":" in bind else ThreadingHTTPServer
        self._server = server_class((bind, port), handler)
        self._server.daemon_threads = True
        # NOTE: a short poll interval: close() waits for the loop's next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="aifinops-metrics",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """Return the endpoint's URL (with the real port when 0 asked for any free one)."""
        address = self._server.server_address
        host, port = str(address[0]), int(address[1])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/metrics"

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve(exposition: Exposition, *, port: int, bind: str = "127.0.0.1") -> MetricsServer:
    """Serve ``exposition`` on ``http://bind:port/metrics`` until closed.

    Raises:
        AifinopsError: when the address cannot be bound (port in use, no permission).
    """
    try:
        return MetricsServer(exposition, port=port, bind=bind)
    except OSError as exc:
        raise AifinopsError(
            f"cannot serve /metrics on {bind}:{port}: {exc.strerror or exc}; to fix: pick a "
            "free port with --prometheus PORT (dcgm-exporter's is 9400), or stop what holds it"
        ) from None
