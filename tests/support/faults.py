"""Fault injection for the reliability tests: a TCP proxy with a kill switch, and a way to
find (and kill) the Functions emulator's Python workers that belong to *this* test run.

``TcpProxy`` sits between a client (a ``google.cloud.firestore`` client, whose emulator host
is the proxy) and the Firestore emulator. It forwards bytes both ways until told otherwise:

* ``reset()``: every open connection is torn down with a TCP RST (``SO_LINGER`` 0), so
  whatever RPCs were in flight die with it; new connections are forwarded again at once.
* ``refuse(seconds)``: for a while, new connections are accepted and reset immediately
  (the database is "down"); open ones are reset too.
* ``swallow(hold)``: requests keep flowing to the server, answers are dropped, and after
  ``hold`` seconds every connection is reset. An RPC sent meanwhile *is applied* by the
  server but its client never learns it: the commit outcome is unknown (ambiguous).

``FaultyClient`` is a ``firestore.Client`` that talks to the emulator through a proxy and,
optionally, calls a hook right before each batch commit goes out (to cut the connection
"after the commit was sent"). Nothing of the product is patched: the product's code runs
unchanged on top of a real client whose network misbehaves.
"""

from __future__ import annotations

import contextlib
import os
import random
import selectors
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

_RST = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST, not FIN


def _hard_close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RST)
    with contextlib.suppress(OSError):
        sock.close()


class _Pipe:
    """One client connection and its upstream twin, pumped by one thread."""

    def __init__(self, proxy: TcpProxy, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._pump, name="faults-pipe", daemon=True)

    def _pump(self) -> None:
        sel = selectors.DefaultSelector()
        try:
            try:
                sel.register(self.client, selectors.EVENT_READ, self.upstream)
                sel.register(self.upstream, selectors.EVENT_READ, self.client)
            except (ValueError, OSError):  # reset before this thread started
                return
            while not self.closed.is_set():
                for key, _ in sel.select(timeout=0.05):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    dst: socket.socket = key.data
                    try:
                        data = src.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        self.close()
                        return
                    if src is self.upstream:
                        self.proxy.bytes_down += len(data)
                        if self.proxy.swallowing:
                            continue  # the answer is lost on the way back
                    else:
                        self.proxy.bytes_up += len(data)
                    try:
                        dst.sendall(data)
                    except OSError:
                        self.close()
                        return
        finally:
            sel.close()
            self.close()

    def close(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            _hard_close(self.client)
            _hard_close(self.upstream)


class TcpProxy:
    """A threaded TCP forwarder on 127.0.0.1 with switches to cut, refuse and swallow."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host or "127.0.0.1", int(port))
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.1)
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._pipes: set[_Pipe] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._refuse_until = 0.0
        self.swallowing = False
        self.bytes_up = 0
        self.bytes_down = 0
        self.resets = 0  # times every connection was cut
        self.refused = 0  # connections refused while "down"
        self.connections = 0
        self._thread = threading.Thread(target=self._accept_loop, name="faults-proxy", daemon=True)
        self._thread.start()

    # -- lifecycle

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if time.monotonic() < self._refuse_until:
                self.refused += 1
                _hard_close(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _hard_close(client)
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pipe = _Pipe(self, client, upstream)
            with self._lock:
                self._pipes = {p for p in self._pipes if not p.closed.is_set()}
                self._pipes.add(pipe)
                self.connections += 1
            pipe.thread.start()

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self._thread.join(timeout=5)
        self.reset()
        with self._lock:
            pipes = list(self._pipes)
        for pipe in pipes:
            pipe.thread.join(timeout=5)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults

    def reset(self) -> None:
        """Tear down every open connection with a RST (in-flight RPCs die)."""
        with self._lock:
            pipes = list(self._pipes)
            self._pipes.clear()
        for pipe in pipes:
            pipe.close()
        self.resets += 1

    def refuse(self, seconds: float) -> None:
        """The database goes away for ``seconds``: open connections reset, new ones refused."""
        self._refuse_until = time.monotonic() + seconds
        self.reset()

    def swallow(self, hold: float) -> None:
        """Forward requests but drop answers for ``hold`` seconds, then reset everything.

        Whatever the client sent meanwhile reaches the server (and is applied); the client
        only sees its connection die.
        """
        self.swallowing = True
        try:
            time.sleep(hold)
        finally:
            self.reset()
            self.swallowing = False

    def swallow_async(self, hold: float) -> threading.Thread:
        self.swallowing = True  # before the caller's next bytes go out
        thread = threading.Thread(target=self.swallow, args=(hold,), name="faults-swallow", daemon=True)
        thread.start()
        return thread


# ---------------------------------------------------------------- a client behind the proxy

# Quick reconnects: after a cut the channel comes back in tens of milliseconds, not the
# default second, so a test can inject hundreds of faults in a few seconds. Only timing
# changes; gRPC's behaviour (statuses, retries of the generated client) is the default.
_FAST_RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 20),
    ("grpc.min_reconnect_backoff_ms", 20),
    ("grpc.max_reconnect_backoff_ms", 200),
]


class _HookedApi:
    """The generated client, with ``before_commit`` run right before each ``Commit`` is sent
    (the engine's commits and the library's batches alike)."""

    def __init__(self, owner: FaultyClient, api: Any) -> None:
        self._owner = owner
        self._api = api

    def commit(self, *args: Any, **kwargs: Any) -> Any:
        hook = self._owner.before_commit
        if hook is not None:
            hook()
        return self._api.commit(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)


class FaultyClient(firestore.Client):
    """A Firestore client whose emulator connection goes through ``proxy``.

    ``before_commit`` (settable) runs right before each ``Commit`` is sent: the test's
    chance to make that very commit's answer go missing.
    """

    def __init__(self, project: str, proxy: TcpProxy) -> None:
        with _env("FIRESTORE_EMULATOR_HOST", proxy.address):
            super().__init__(project=project, credentials=AnonymousCredentials())
        self.before_commit: Callable[[], None] | None = None

    @property
    def _firestore_api(self) -> Any:
        return _HookedApi(self, super()._firestore_api)

    def _emulator_channel(self, transport: Any) -> Any:
        import grpc

        options = [("Authorization", "Bearer owner"), *_FAST_RECONNECT]
        from google.cloud.firestore_v1.base_client import _GRPC_MSG_SIZE_OPTIONS  # type: ignore[attr-defined]

        options += list(_GRPC_MSG_SIZE_OPTIONS)
        return grpc.insecure_channel(self._emulator_host, options=options)


_env_lock = threading.Lock()


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    """Set an environment variable for the duration (the client reads it in ``__init__``)."""
    with _env_lock:
        old = os.environ.get(name)
        os.environ[name] = value
        try:
            yield
        finally:
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


# ---------------------------------------------------------------- the emulator's workers


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _ppid(pid: int) -> int:
    stat = _read(f"/proc/{pid}/stat").decode(errors="replace")
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses
    try:
        return int(stat[stat.rindex(")") + 2 :].split()[1])
    except (ValueError, IndexError):
        return 0


def _environ(pid: int) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in _read(f"/proc/{pid}/environ").split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            env[key.decode(errors="replace")] = value.decode(errors="replace")
    return env


def ancestors(pid: int) -> list[int]:
    chain = []
    seen = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        pid = _ppid(pid)
        if pid > 1:
            chain.append(pid)
    return chain


def emulator_pid() -> int | None:
    """The ``firebase emulators:exec`` process that runs this test session (our ancestor).

    ``CREDITS_FAULTS_EMULATOR_PID`` names it instead, for a session run beside an emulator
    started by hand (``firebase emulators:start``), which is then not our ancestor.
    """
    override = os.environ.get("CREDITS_FAULTS_EMULATOR_PID")
    if override:
        return int(override)
    for pid in ancestors(os.getpid()):
        cmdline = _read(f"/proc/{pid}/cmdline").replace(b"\0", b" ")
        if b"emulators:exec" in cmdline or b"emulators:start" in cmdline:
            return pid
    return None


def function_workers(target: str | None = None) -> list[int]:
    """PIDs of this run's Functions-emulator Python workers (``functions-framework``).

    A process qualifies only if all of these hold, so that suites of other engineers on the
    same machine (other ports) and leftovers of earlier runs are never touched:
    its command line runs ``functions-framework``; its environment names *this* run's
    Firestore emulator (``FIRESTORE_EMULATOR_HOST``) and, if given, ``FUNCTION_TARGET``;
    and it descends from the emulator process that is this test session's ancestor.
    Children come before their parents in the result.
    """
    firestore_host = os.environ.get("FIRESTORE_EMULATOR_HOST")
    root = emulator_pid()
    if not firestore_host or root is None:
        return []
    found: list[tuple[int, int]] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if b"functions-framework" not in _read(f"/proc/{pid}/cmdline"):
            continue
        env = _environ(pid)
        if env.get("FIRESTORE_EMULATOR_HOST") != firestore_host:
            continue
        if target is not None and env.get("FUNCTION_TARGET") != target:
            continue
        chain = ancestors(pid)
        if root not in chain:
            continue
        found.append((len(chain), pid))
    return [pid for _, pid in sorted(found, reverse=True)]


def kill_workers(target: str | None = None, only: set[int] | None = None) -> list[int]:
    """SIGKILL this run's workers (for ``target``, or all); returns the PIDs killed.

    ``only`` limits the kill to workers seen before (e.g. the warm ones, not one the emulator
    is still starting: the emulator waits for a killed starting worker until its load
    timeout, which only slows a test down). Each PID is re-checked right before the kill.
    """
    killed = []
    for pid in function_workers(target):
        if only is not None and pid not in only:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed


def jitter(low: float, high: float) -> float:
    return random.uniform(low, high)
