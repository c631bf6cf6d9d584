"""Real clients of the Emulator Suite: Auth accounts and ID tokens, callables over HTTP,
Firestore REST as a signed-in user, and the emulator's reset endpoints.

Nothing here bypasses the product: callables are called exactly as the Firebase JS SDK's
``httpsCallable`` does (``POST {"data": ...}`` with ``Authorization: Bearer <ID token>``),
and rules-facing requests carry a real user's ID token, never the ``owner`` bypass.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

PROJECT = os.environ.get("GCLOUD_PROJECT") or os.environ.get("CREDITS_PROJECT_ID") or "demo-credits"
AUTH_HOST = os.environ.get("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
FIRESTORE_HOST = os.environ.get("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8080")
FUNCTIONS_HOST = os.environ.get("CREDITS_FUNCTIONS_HOST", "127.0.0.1:5001")
PUBSUB_HOST = os.environ.get("PUBSUB_EMULATOR_HOST", "127.0.0.1:8085")
REGION = "us-central1"
FUNCTIONS_URL = f"http://{FUNCTIONS_HOST}/{PROJECT}/{REGION}"
IDENTITY = f"http://{AUTH_HOST}/identitytoolkit.googleapis.com/v1"
SECURETOKEN = f"http://{AUTH_HOST}/securetoken.googleapis.com/v1"

_local = threading.local()
_ip_counter = itertools.count(random.randrange(1, 50_000))


def session() -> requests.Session:
    """One HTTP session per thread (connection reuse, thread-safe)."""
    s = getattr(_local, "session", None)
    if s is None:
        s = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=64)
        s.mount("http://", adapter)
        _local.session = s
    return s


def _identity_post(url: str, **kwargs: Any) -> requests.Response:
    """A request to the Auth emulator on a connection of its own (``Connection: close``).

    The emulator closes an idle kept-alive connection after a few seconds; a request sent on
    one just as it closes fails with ``RemoteDisconnected`` (seen in the browser tier, whose
    tests pause between sign-ups). Set-up calls are few, so none is kept alive.
    """
    headers = {**kwargs.pop("headers", {}), "Connection": "close"}
    return session().post(url, headers=headers, **kwargs)


def fresh_ip() -> str:
    """A distinct client address per test user, each in a /24 of its own (the shared address
    space 100.64.0.0/10: 16,384 /24s, cycled), so neither the IP rate limits nor the sign-up
    grant caps (an address and its /24) of one test leak into another."""
    n = next(_ip_counter)
    network = n % (64 * 256)
    host = 1 + (n // (64 * 256)) % 254
    return f"100.{64 + (network >> 8)}.{network & 255}.{host}"


def fresh_ipv6_allocation() -> str:
    """The first three groups of a /48 no other test uses (within 2001:db8::/32)."""
    return f"2001:db8:{random.getrandbits(16):x}"


def fresh_ipv6_prefix() -> str:
    """The first four groups of a /64 no other test uses (2001:db8::/32 is reserved for
    documentation): ``prefix + "::1"`` and ``prefix + ":a:b:c:d"`` are two addresses of one
    subscriber's network."""
    n = random.getrandbits(32)
    return f"2001:db8:{n >> 16:x}:{n & 0xFFFF:x}"


@dataclass
class User:
    uid: str
    email: str
    password: str
    id_token: str
    refresh_token: str
    ip: str = field(default_factory=fresh_ip)

    def refresh(self) -> User:
        """A new ID token (custom claims set after sign-up appear only in new tokens)."""
        self.id_token = sign_in(self.email, self.password)
        return self


def sign_up(email: str | None = None, password: str = "correct-horse-battery", display_name: str | None = None) -> User:
    email = email or f"user-{uuid.uuid4().hex[:12]}@example.com"
    r = _identity_post(
        f"{IDENTITY}/accounts:signUp?key=any", json={"email": email, "password": password, "returnSecureToken": True}, timeout=30
    )
    r.raise_for_status()
    body = r.json()
    user = User(uid=body["localId"], email=email, password=password, id_token=body["idToken"], refresh_token=body["refreshToken"])
    if display_name:
        _identity_post(
            f"{IDENTITY}/accounts:update?key=any",
            json={"idToken": user.id_token, "displayName": display_name, "returnSecureToken": True},
            timeout=30,
        ).raise_for_status()
        user.refresh()
    return user


def sign_in(email: str, password: str) -> str:
    r = _identity_post(
        f"{IDENTITY}/accounts:signInWithPassword?key=any",
        json={"email": email, "password": password, "returnSecureToken": True},
        timeout=30,
    )
    r.raise_for_status()
    return str(r.json()["idToken"])


def set_claims(uid: str, claims: dict[str, Any]) -> None:
    """Custom claims through the Auth emulator's admin endpoint (what the Admin SDK does)."""
    r = _identity_post(
        f"{IDENTITY}/projects/{PROJECT}/accounts:update",
        json={"localId": uid, "customAttributes": json.dumps(claims)},
        headers={"Authorization": "Bearer owner"},
        timeout=30,
    )
    r.raise_for_status()


def make_admin(email: str | None = None) -> User:
    user = sign_up(email)
    set_claims(user.uid, {"admin": True})
    return user.refresh()


def make_generator(email: str | None = None) -> User:
    """A service identity of the generation pipeline (custom claim ``generator: true``)."""
    user = sign_up(email or f"generator-{uuid.uuid4().hex[:12]}@example.com")
    set_claims(user.uid, {"generator": True})
    return user.refresh()


def sign_up_anonymously() -> User:
    """An anonymous Firebase Auth account (``signInAnonymously``)."""
    r = _identity_post(f"{IDENTITY}/accounts:signUp?key=any", json={"returnSecureToken": True}, timeout=30)
    r.raise_for_status()
    body = r.json()
    return User(uid=body["localId"], email="", password="", id_token=body["idToken"], refresh_token=body["refreshToken"])


def verify_email(user: User) -> User:
    """Mark the user's email verified (what the Admin SDK's update_user does) and refresh."""
    r = _identity_post(
        f"{IDENTITY}/projects/{PROJECT}/accounts:update",
        json={"localId": user.uid, "emailVerified": True},
        headers={"Authorization": "Bearer owner"},
        timeout=30,
    )
    r.raise_for_status()
    return user.refresh()


@dataclass
class CallResult:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status == 200 and "result" in self.body

    @property
    def result(self) -> dict[str, Any]:
        assert self.ok, f"expected success, got {self.status}: {self.body}"
        return self.body["result"]

    @property
    def error(self) -> dict[str, Any]:
        assert "error" in self.body, f"expected an error, got {self.status}: {self.body}"
        return self.body["error"]

    @property
    def dropped(self) -> bool:
        """The Functions emulator lost the request between itself and its worker ("socket
        hang up"): an HTTP 500 whose body is the proxy's error, not a callable answer. Our
        own ``internal`` always has the callable shape ``{"error": {"status": ...}}``."""
        return self.status == 500 and "error" not in self.body

    @property
    def code(self) -> str | None:
        """The callable error status (``INVALID_ARGUMENT``...), None on success."""
        return self.body.get("error", {}).get("status") if "error" in self.body else None

    @property
    def reason(self) -> str | None:
        return (self.body.get("error", {}).get("details") or {}).get("reason") if "error" in self.body else None

    @property
    def details(self) -> dict[str, Any]:
        return self.error.get("details") or {}


def call(
    name: str,
    data: Any = None,
    user: User | None = None,
    *,
    token: str | None = None,
    ip: str | None = None,
    headers: dict[str, str] | None = None,
    raw_body: bytes | str | None = None,
    timeout: float = 120,
) -> CallResult:
    """Call a callable as ``httpsCallable`` would; ``raw_body`` sends bytes as they are."""
    h = {"Content-Type": "application/json"}
    bearer = token or (user.id_token if user else None)
    if bearer:
        h["Authorization"] = f"Bearer {bearer}"
    client_ip = ip or (user.ip if user else None)
    if client_ip:
        h["X-Forwarded-For"] = client_ip
    if headers:
        h.update(headers)
    body = raw_body if raw_body is not None else json.dumps({"data": data})
    r = session().post(f"{FUNCTIONS_URL}/{name}", data=body, headers=h, timeout=timeout)
    try:
        payload = r.json()
    except ValueError:
        payload = {"raw": r.text}
    result = CallResult(r.status_code, payload if isinstance(payload, dict) else {"raw": payload})
    check_against_contract(name, result)
    return result


def check_against_contract(name: str, result: CallResult) -> None:
    """Every answer a test receives must be what the contract's models say (credits.vocab.contract):
    a success validates against the callable's response model, an error's ``details`` against
    its reason's model. A field the backend sends and the contract does not name fails the test
    that received it, whatever that test asserts. Callables the contract does not list are
    caught by tests/unit/test_contract.py instead."""
    from credits.vocab.contract import CALLABLES, ERROR_DETAILS
    from pydantic import ValidationError

    spec = CALLABLES.get(name)
    if spec is None:
        return
    try:
        if result.ok:
            spec.response.model_validate(result.body["result"])
        elif "error" in result.body and isinstance(result.body["error"], dict) and result.body["error"].get("details"):
            details = result.body["error"]["details"]
            model = ERROR_DETAILS.get(details.get("reason"))
            assert model is not None, f"{name}: details.reason {details.get('reason')!r} is not in the contract"
            model.model_validate(details)
    except ValidationError as exc:
        raise AssertionError(f"{name} answered outside the contract: {exc}") from exc


def run_scheduled(name: str, timeout: float = 300) -> requests.Response:
    """Run a scheduled function now, as its schedule would. With the Pub/Sub emulator running,
    the Functions emulator registers each scheduled function as a Pub/Sub function and runs it
    when its trigger URL is POSTed an (empty) event; publishing to the topic does not run a
    Python function there."""
    url = f"http://{FUNCTIONS_HOST}/functions/projects/{PROJECT}/triggers/{REGION}-{name}-0"
    return session().post(url, json={}, timeout=timeout)


def clear_firestore() -> None:
    r = session().delete(f"http://{FIRESTORE_HOST}/emulator/v1/projects/{PROJECT}/databases/(default)/documents", timeout=60)
    r.raise_for_status()


def clear_auth() -> None:
    r = session().delete(f"http://{AUTH_HOST}/emulator/v1/projects/{PROJECT}/accounts", timeout=60)
    r.raise_for_status()


def emulators_running() -> bool:
    try:
        session().get(f"http://{FIRESTORE_HOST}/", timeout=2)
        session().get(f"http://{AUTH_HOST}/", timeout=2)
        return True
    except requests.RequestException:
        return False


def functions_running() -> bool:
    try:
        session().get(f"http://{FUNCTIONS_HOST}/", timeout=2)
        return True
    except requests.RequestException:
        return False


def set_clock_offset(seconds: float) -> None:
    """Move the functions' clock (emulator only; see functions/credits/vocab/clock.py)."""
    path = os.environ.get("CREDITS_CLOCK_OFFSET_FILE")
    if not path:
        raise RuntimeError("CREDITS_CLOCK_OFFSET_FILE is not set: run the suite with scripts/test.sh")
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(str(seconds))
    os.replace(tmp, path)


def warm_workers(name: str, count: int) -> None:
    """Start ``count`` Functions-emulator workers for ``name`` before a parallel burst.

    The emulator starts one Python process per concurrent request; while dozens start at
    once it occasionally drops a request before any worker sees it ("socket hang up", an
    HTTP 500 that never reached the function). Bursts in tests measure the backend, not
    process start-up, so they run on warm workers. The warm-up calls carry no token and an
    empty body, which every callable refuses before touching Firestore.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=count) as pool:
        list(pool.map(lambda _: call(name, None), range(count)))


def call_retrying_drops(name: str, data: Any, user: User | None = None, *, attempts: int = 3, **kwargs: Any) -> CallResult:
    """``call``, sent again (as a client would) while the emulator drops it before any answer.

    Only for requests that are safe to repeat: ones with a ``requestId``, or whose repeat
    the test accounts for."""
    result = call(name, data, user, **kwargs)
    for _ in range(attempts - 1):
        if not result.dropped:
            break
        result = call(name, data, user, **kwargs)
    return result
