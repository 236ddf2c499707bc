"""`python -m devserver [--port N] [--data-dir DIR] [--seed-demo]`: the local runtime."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import uvicorn

from devserver.runtime import discover, exclusive_data_dir, start_workers, stop_workers

SHUTDOWN_GRACE_SECONDS = 2


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devserver", description=__doc__)
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--data-dir", type=Path, default=Path(".data"))
    parser.add_argument("--seed-demo", action="store_true", help="load the demo configuration")
    parser.add_argument(
        "--consumers-per-queue", type=int, default=2, help="concurrent handlers per queue"
    )
    return parser.parse_args(argv)


def point_settings_at(data_dir: Path, port: int) -> None:
    """The runtime's folder and port become settings defaults; explicit env still wins."""
    os.environ.setdefault("SQLITE_PATH", str(data_dir / "omnichannel.db"))
    os.environ.setdefault("DEV_AUTH_KEY_FILE", str(data_dir / "dev-signing-key.pem"))
    os.environ.setdefault("CHAT_TOKEN_KEY_FILE", str(data_dir / "chat-token.key"))
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://localhost:{port}")


async def serve(args: argparse.Namespace) -> None:
    # Imported only now: the settings it reads must see the runtime's defaults first.
    from devserver.banner import banner
    from devserver.seed import seed_demo
    from shared.bootstrap import close_container, get_container
    from shared.telemetry_setup import configure_telemetry

    # As function_app does in Azure (it calls it too, which then changes nothing): spans and
    # metrics go where OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER say, else nowhere.
    configure_telemetry()
    function_app = importlib.import_module("function_app")
    catalog = discover(function_app.app)
    services = await get_container()
    if services.local_bus is None:
        raise SystemExit("the local runtime needs QUEUE_BACKEND=local")
    released = await services.local_bus.release_all_leases()
    if released:
        logging.getLogger("devserver").info("resuming %d unfinished queue messages", released)
    if args.seed_demo:
        await seed_demo(services.store, twilio_auth_token=services.settings.twilio_auth_token)
    workers = start_workers(catalog, services.local_bus, args.consumers_per_queue)
    server = AnnouncingServer(
        lambda: print(banner(services, catalog), flush=True),
        uvicorn.Config(
            function_app.api,
            host=args.host,
            port=args.port,
            log_level="warning",
            # Chat long-polls and event streams stay open for seconds: Ctrl-C must not wait
            # for them, their clients reconnect.
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        ),
    )
    try:
        await server.serve()
    finally:
        await stop_workers(workers)
        await close_container()


class AnnouncingServer(uvicorn.Server):
    """Announces itself (the banner) once its port accepts connections, so the URLs it prints
    work as soon as they are read."""

    def __init__(self, announce: Callable[[], None], config: uvicorn.Config) -> None:
        super().__init__(config)
        self._announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._announce()


def check_settings() -> None:
    """Exit naming each setting that is missing or wrong, rather than with a traceback."""
    from pydantic import ValidationError

    from shared.settings import Settings, get_settings, setting_name

    try:
        get_settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            known = Settings.model_fields.get(field)
            name = setting_name(field, known) if known else field.upper()
            problems.append(f"  {name}: {error['msg']}")
        raise SystemExit(
            "The settings (environment, or local.settings.json's Values) are not usable:\n"
            + "\n".join(problems)
        ) from None


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    data_dir = args.data_dir.resolve()
    point_settings_at(data_dir, args.port)
    check_settings()
    sys.path.insert(0, os.getcwd())
    with exclusive_data_dir(data_dir), contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
