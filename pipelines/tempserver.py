"""Prefect's temporary server for a run of the command line, started before anything heavy is imported.

Without PREFECT_API_URL, a Prefect flow run starts a temporary server itself: Prefect's
`SubprocessASGIServer` runs uvicorn with Prefect's server app in a process of its own and waits
for its health check. Doing that in this process costs twice: the class is in
`prefect.server.api.server`, whose import (FastAPI, SQLAlchemy, alembic: about 2 s) runs in this
process, competing for its interpreter with the run's own imports; and the server's own start-up
(its imports and migrations, about 3 s) only begins after that. So the command line starts the
same command itself, first thing and without importing Prefect, and hands its address to the
flow runs as PREFECT_API_URL (`settings`); the start-up runs on the other core while this process
imports and works. The server lives as long as this process (stopped at exit, as Prefect stops
its own); a server that does not come up leaves the run to Prefect's own temporary server.

Nothing is started when PREFECT_API_URL is set (a real server), and a server started before the
flow found a server configured in Prefect's profile is stopped unused.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from importlib.util import find_spec
from pathlib import Path

STARTUP_TIMEOUT = 60.0  # seconds, as Prefect's PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS
_STATE: dict = {}  # "process", "port", "url" (once healthy), "failed"


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _configured_elsewhere() -> bool:
    """Whether a server is configured: PREFECT_API_URL in the environment, or in Prefect's settings
    when something (a test's harness) has imported them already."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    settings = sys.modules.get("prefect.settings")
    return bool(settings is not None and settings.PREFECT_API_URL.value())


def start() -> None:
    """Start the server (once per process) unless one is configured."""
    if _STATE or _configured_elsewhere():
        return
    spec = find_spec("prefect")
    if spec is None or spec.origin is None:
        _STATE["failed"] = True
        return
    port = _free_port()
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # as pipelines/flow.py
    # the command Prefect's SubprocessASGIServer runs (prefect/server/api/server.py)
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(spec.origin).parent.parent), "--factory",
         "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "error",
         "--lifespan", "on"], env=env, stdin=subprocess.DEVNULL)
    _STATE.update(process=process, port=port)
    atexit.register(stop)


def started() -> bool:
    return "process" in _STATE


def api_url(timeout: float = STARTUP_TIMEOUT) -> str | None:
    """The server's API address once it answers its health check; None when none was started, or
    it died or did not answer within `timeout` (then it is stopped)."""
    if "url" in _STATE:
        return str(_STATE["url"])
    if "process" not in _STATE:
        return None
    url = f"http://127.0.0.1:{_STATE['port']}/api"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _STATE["process"].poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:  # noqa: S310 (our own loopback URL)
                if response.status == 200:
                    _STATE["url"] = url
                    return url
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.05)
    stop()
    _STATE["failed"] = True
    return None


def stop() -> None:
    """Stop the server (terminate, then kill after 5 s, as Prefect stops its own)."""
    process = _STATE.pop("process", None)
    _STATE.pop("url", None)
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def settings():
    """Prefect settings for a flow run of this process: on this server (when it came up and no
    server is configured), or else on Prefect's own temporary server, with
      * no flow-run heartbeats: the server dies with the process, so nothing would read them to find
        a crashed run, and Prefect's heartbeat thread, which sleeps in whole seconds, held up the end
        of every flow run by up to 1 s;
      * the run's log lines on the terminal only, not also sent to the server: no one can read them
        there while it runs, and the thread that sends them took 1.5 CPU s of the demo from the run
        (1.0 s of its 32 s). Flow and task runs and their states are recorded as always;
    against a configured server as configured."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_LOGGING_TO_API_ENABLED,
        temporary_settings,
    )

    if PREFECT_API_URL.value():
        stop()  # configured in Prefect's profile: ours is not needed
        with temporary_settings(updates={}):
            yield
        return
    url = api_url()
    updates = {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None, PREFECT_LOGGING_TO_API_ENABLED: False}
    if url is not None:
        updates[PREFECT_API_URL] = url
    with temporary_settings(updates=updates):
        yield


__all__ = ["start", "started", "api_url", "stop", "settings"]
