"""``aifinops serve``: the dashboard and JSON API over an existing lake.

Thin over :func:`aifinops.web.app.serve_lake`. ``cli.py`` registers it::

    app.command("serve")(cli_serve.serve)
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from aifinops.cli_options import EngineOpt, LakeOpt
from aifinops.cli_output import err, errors, out

HostOpt = Annotated[
    str,
    typer.Option(
        "--host",
        help="Address to bind. Anything but 127.0.0.1/localhost/::1 needs --token.",
    ),
]
PortOpt = Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="AIFINOPS_TOKEN",
        help="Secret every route then requires (Authorization: Bearer, or ?token= once in "
        "the browser). Default: $AIFINOPS_TOKEN.",
        show_default=False,
    ),
]


def serve(
    lake: LakeOpt = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8765,
    token: TokenOpt = None,
    engine: EngineOpt = None,
) -> None:
    """Serve the dashboard and the JSON API (/api/v1, OpenAPI at /docs) over a lake, read-only."""
    from aifinops.lake import Lake
    from aifinops.settings import load_settings
    from aifinops.web.app import serve_lake
    from aifinops.web.security import check_bind

    def ready(url: str) -> None:
        out.print(f"Dashboard at [bold]{escape(url)}[/]  (Ctrl-C to stop)", soft_wrap=True)

    with errors():
        check_bind(host, token)
        settings = load_settings(lake=lake, engine=engine)
        target = Lake.open(settings.lake, create=False)
        err.print(escape(f"serving {target.root} with {settings.engine}"), highlight=False)
        serve_lake(
            target,
            host=host,
            port=port,
            token=token,
            engine=settings.engine,
            ready=ready,
            settings=settings,
            progress=lambda line: err.print(escape(line), highlight=False),
        )
