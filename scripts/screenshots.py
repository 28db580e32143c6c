"""Take docs/screenshots/*.png of each dashboard page (run: python scripts/screenshots.py).

Serves the dashboard over a lake (default: the demo lake `make demo` builds, ``.demo/lake``)
on loopback, opens each page in Debian's Chromium (``/usr/bin/chromium``, installed by
``make install``) and saves a 1200×800 screenshot once the page has drawn its charts.
"""

from __future__ import annotations

import argparse
import re
import socket
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import uvicorn
from playwright.sync_api import expect, sync_playwright

from aifinops.lake.store import Lake
from aifinops.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
#: The zombie notebook of the demo: its timeline shows work, then a GPU held but idle.
NOTEBOOK = "arn:aws:sagemaker:us-east-1:271650389412:notebook-instance/nb-priya-finetune"
#: File name, path (with the state shown), the element marked once drawn, and the height
#: taken when not the viewport's 800 pixels.
SHOTS: tuple[tuple[str, str, str] | tuple[str, str, str, int], ...] = (
    ("overview.png", "/", "#chart-trend"),
    (
        "explore.png",
        "/explore?by=team,workload&filter=provider:AWS&filter=provider:Microsoft",
        "#chart-explore",
    ),
    ("gpus.png", "/gpus", "#chart-gpu-rate"),
    ("teams.png", "/teams?by=team", "#chart-teams"),
    ("data.png", "/data", "#data-partitions"),
    ("units.png", "/units?figure=usd_per_1m_tokens_out", "#chart-units"),
    ("runs.png", "/runs", "#chart-runs"),
    ("waste.png", "/waste?resource=" + quote(NOTEBOOK, safe=""), "#chart-timeline", 1060),
)
MAX_BYTES = 200_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, default=ROOT / ".demo" / "lake")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    if not (args.lake / "costs").is_dir():
        print(f"no lake at {args.lake}: run `make demo` first, or pass --lake", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(Lake.open(args.lake)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=args.chromium, headless=True, args=["--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.set_default_timeout(120_000)
            for name, path, drawn, *tall in SHOTS:
                page.set_viewport_size({"width": 1200, "height": tall[0] if tall else 800})
                page.goto(base + path)
                expect(page.locator(drawn)).to_have_attribute(
                    "data-query", re.compile(".+"), timeout=120_000
                )
                page.wait_for_timeout(800)  # let Plotly finish its layout
                target = args.out / name
                page.screenshot(path=str(target), full_page=False)
                size = target.stat().st_size
                print(f"{target.relative_to(ROOT)}: {size // 1024} KB")
                if size > MAX_BYTES:
                    print(f"  larger than {MAX_BYTES // 1000} KB", file=sys.stderr)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
