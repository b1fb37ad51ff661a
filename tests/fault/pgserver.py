"""A private PostgreSQL server for the tests that stop and restart the database: initdb into a
temporary folder, pg_ctl on a free loopback port, run as the ``postgres`` system user when this
process is root. The machine's shared server (port 5432) is never touched."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg

from tests.fault.procs import free_port


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine, or the private server would not start."""


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        found = [p for p in [shutil.which(name)] if p]
    if not found:
        raise PostgresUnavailable(f"no {name} under /usr/lib/postgresql/*/bin or on PATH")
    return found[-1]


class PrivatePostgres:
    """``with PrivatePostgres() as pg:`` gives ``pg.url``; ``pg.stop()``/``pg.start()`` in
    between restart the same server (its data survive)."""

    def __init__(self, base: Path | None = None) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="loyalty-pg-", dir=base))
        self.data = self.home / "data"
        self.log = self.home / "server.log"
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres"  # initdb refuses to run as root
            entry = pwd.getpwnam(self.user)
            os.chmod(self.home, 0o700)
            os.chown(self.home, entry.pw_uid, entry.pw_gid)
        self._initialised = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/loyalty"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                                user=self.user, cwd=self.home, check=False)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(args)} failed ({result.returncode}): "
                                      f"{result.stderr.strip()}\n{self.log_tail()}")
        return result

    def start(self) -> PrivatePostgres:
        if not self._initialised:
            self._run(_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--no-sync", timeout=120)
            self._initialised = True
            starting_first_time = True
        else:
            starting_first_time = False
        options = (f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=100")
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start", timeout=90)
        self._wait_ready()
        if starting_first_time:
            with psycopg.connect(self._admin_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute("CREATE DATABASE loyalty")
        return self

    @property
    def _admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self._admin_url, connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PostgresUnavailable(f"private PostgreSQL not ready: {exc}") from exc
                time.sleep(0.1)

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every session and shuts down cleanly; ``immediate`` is a crash."""
        if self.running():
            self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60",
                      "stop", timeout=90)

    def running(self) -> bool:
        if not self._initialised:
            return False
        result = subprocess.run([_bin("pg_ctl"), "-D", str(self.data), "status"],
                                capture_output=True, text=True, timeout=30, user=self.user,
                                check=False)
        return result.returncode == 0

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def close(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
            return self
        except BaseException:
            self.close()
            raise

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
