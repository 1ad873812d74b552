"""`flask live relay`: the process that holds the streams behind nginx."""

import asyncio
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

import click
from flask import current_app
from flask.cli import AppGroup

cli = AppGroup("live", help="Live updates: the stream relay behind nginx.")


@cli.command("relay")
@click.option(
    "--bind",
    envvar="MYAPP_LIVE_RELAY_BIND",
    default="127.0.0.1:8001",
    show_default=True,
    help="host:port, or unix:/path for a socket nginx reaches.",
)
def relay(bind):
    """Serve GET /api/v1/stream for nginx until SIGTERM (needs REDIS_URL)."""
    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        raise click.ClickException("the relay reads the replay store: set REDIS_URL")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log = logging.getLogger("myapp.live")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    asyncio.run(_serve(app, bind))


async def _serve(app, bind):
    from myapp.live.hub import Hub
    from myapp.live.relay import Relay
    from myapp.live.sessions import Sessions

    loop = asyncio.get_running_loop()
    # Asking the app (token, session, lease) and session checks run here.
    loop.set_default_executor(ThreadPoolExecutor(app.config["LIVE_RELAY_THREADS"]))
    hub = Hub(app.config["REDIS_URL"], app.extensions["live"].store.limits)
    await hub.start()
    sessions = Sessions(app, app.config["LIVE_SESSION_CHECK_SECONDS"])
    relay = Relay(app, hub, sessions)
    if bind.startswith("unix:"):
        path = bind[len("unix:") :]
        if os.path.exists(path):
            os.unlink(path)  # a socket left by a relay killed with SIGKILL
        server = await asyncio.start_unix_server(relay.handle, path, backlog=1024)
        os.chmod(path, 0o660)  # nginx reaches it through group myapp
    else:
        host, _, port = bind.rpartition(":")
        server = await asyncio.start_server(relay.handle, host, int(port), backlog=1024)
    counting = asyncio.ensure_future(_say_streams(hub))
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    listening = asyncio.ensure_future(hub.run())
    checking = asyncio.ensure_future(sessions.run())
    live = app.extensions["live"]
    # Leases last two heartbeats, as the app's own streams keep them.
    renewing = asyncio.ensure_future(
        hub.renewing(app.config["LIVE_HEARTBEAT_SECONDS"], live.lease_seconds)
    )
    logging.getLogger("myapp.live").info("live relay: serving streams on %s", bind)
    async with server:
        await stopping.wait()
    # Clients reconnect with Last-Event-ID (to a relay up again) and miss nothing.
    listening.cancel()
    renewing.cancel()
    checking.cancel()
    counting.cancel()
    await hub.close()


async def _say_streams(hub, every=60):
    """One journal line a minute: how many streams this relay holds."""
    log = logging.getLogger("myapp.live")
    while True:
        await asyncio.sleep(every)
        log.info("live relay: %d streams open", hub.open_streams)
