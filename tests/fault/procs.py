"""Processes the fault suite starts (workers, the API) as an operator runs them: real
subprocesses in their own process groups, so SIGKILL is real, each logging to its own file,
and every one of them ended by ``Processes.close`` whatever happened."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], object], timeout: float, what: str,
               interval: float = 0.2) -> object:
    """Poll ``condition`` until it returns something truthy; AssertionError naming ``what``
    after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


@dataclass
class Proc:
    """One `loyalty` subprocess."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    health_port: int | None = None
    port: int | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def full_log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def signal(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self.popen.pid, sig)  # its own session: the group id is its pid
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL, no warning, no cleanup: what a crash or the OOM killer does."""
        self.signal(signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self, grace: float = 15.0) -> int | None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; returns the exit code."""
        if self.alive():
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.popen.returncode

    def health(self, timeout: float = 2.0) -> tuple[int, dict[str, object]] | None:
        """(status code, JSON body) of the worker's ``GET /healthz``; None when it does not
        answer."""
        if self.health_port is None:
            raise AssertionError(f"{self.name} was started without --health-port")
        try:
            answer = httpx.get(f"http://127.0.0.1:{self.health_port}/healthz", timeout=timeout)
        except httpx.HTTPError:
            return None
        try:
            body = answer.json()
        except ValueError:
            body = {"raw": answer.text}
        return answer.status_code, body if isinstance(body, dict) else {"raw": body}


@dataclass
class Processes:
    """Starts `loyalty` subprocesses with a base environment and ends all of them on close."""

    workdir: Path
    env: Mapping[str, str]
    started: list[Proc] = field(default_factory=list)
    counter: int = 0

    def spawn(self, name: str, args: list[str], extra_env: Mapping[str, str] | None = None,
              **attrs: int | None) -> Proc:
        self.counter += 1
        log_path = self.workdir / f"{self.counter:03d}-{name}.log"
        env = {**os.environ, **self.env, **(extra_env or {})}
        with open(log_path, "wb") as log:
            popen = subprocess.Popen(
                [sys.executable, "-m", "engine.cli.main", *args], cwd=ROOT, env=env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = Proc(name, popen, log_path, **attrs)  # type: ignore[arg-type]
        self.started.append(proc)
        return proc

    def worker(self, name: str = "worker", *, health: bool = True,
               extra_env: Mapping[str, str] | None = None) -> Proc:
        port = free_port() if health else None
        args = ["worker"] + (["--health-port", str(port)] if port else [])
        return self.spawn(name, args, extra_env, health_port=port)

    def api(self, name: str = "api", extra_env: Mapping[str, str] | None = None) -> Proc:
        port = free_port()
        proc = self.spawn(name, ["api", "--port", str(port)], extra_env, port=port)
        wait_until(lambda: _answers(port) or not proc.alive(), 30, f"the API on port {port}")
        if not proc.alive():
            raise AssertionError(f"the API exited at start:\n{proc.log()}")
        return proc

    def close(self) -> None:
        for proc in reversed(self.started):
            try:
                proc.stop(grace=10)
            except Exception:  # noqa: BLE001  (keep ending the others)
                proc.signal(signal.SIGKILL)


def _answers(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    except httpx.HTTPError:
        return False
    return True
