"""`plaudit serve`: the API, with the embedded database when MONGODB_URI is unset."""

from __future__ import annotations

import logging
import os

import click

from app.cli.common import settings_from_env
from app.cli.serve_process import SERVE_PID, exit_cleanly_on_signals
from app.settings import SettingsError
from app.store.database import database
from app.store.embedded.server import EmbeddedStartError


@click.command()
@click.option("--host", default=None, help="Default: PLAUDIT_HOST or 127.0.0.1")
@click.option("--port", type=int, default=None, help="Default: PLAUDIT_PORT or 8000")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the API, starting the embedded database when MONGODB_URI is unset."""
    import uvicorn

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = settings_from_env()
    host = host or settings.host
    port = port if port is not None else settings.port
    exit_cleanly_on_signals(workers)
    try:
        with database(settings, share=True, create=True) as resolved:
            assert resolved.mongodb_uri is not None
            if resolved.embedded:
                click.echo(f"embedded database: {resolved.data_dir / 'db'}", err=True)
            # Workers are separate processes: they read their settings from the
            # environment, so hand them the resolved database and keys that way.
            os.environ["MONGODB_URI"] = resolved.mongodb_uri
            os.environ["PLAUDIT_SECRET_KEYS"] = ",".join(resolved.secret_keys)
            os.environ["PLAUDIT_EMBEDDED"] = "1" if resolved.embedded else "0"
            os.environ[SERVE_PID] = str(os.getpid())
            click.echo(f"Plaudit on http://{host}:{port}  (GraphiQL at /graphql)", err=True)
            uvicorn.run(
                "app.cli.serve_process:app_factory",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="info",
                access_log=False,
                timeout_keep_alive=settings.keep_alive_seconds,
            )
    except (SettingsError, EmbeddedStartError) as exc:
        raise click.ClickException(str(exc)) from None
