"""Optimistic atomic commits: the one way this backend changes money.

A *step* reads what it needs with one batched read, decides, and returns a ``Plan``: the
writes to commit and the outcome to report. The engine commits the writes as one atomic
batch in which every document the decision depended on carries a precondition: its
``update_time`` as read (or "must not exist" for a document read as missing). If any of
those documents changed in between, Firestore rejects the whole batch and the engine runs
the step again on fresh reads. So a step behaves as a serializable transaction over the
documents it guards, and may run several times: it must have no side effect of its own.

Why not ``client.transaction()``? Server-SDK transactions take pessimistic locks on every
document they read. Same-user bursts (several tabs, client retries, scripts) then queue on
one lock; on the Firestore emulator, which does not queue lock waiters fairly, 50 parallel
calls for one user gave 47 failures. Preconditions never hold a lock: a loser learns it lost
at commit time, backs off with full jitter, and retries, so a burst of N same-user calls
finishes in O(N) commits instead of timing out. Production Firestore enforces the
preconditions atomically across the batch, so the same code is correct with any number of
instances. Within one process a per-key lock additionally serialises same-user steps, in arrival order, which
removes most wasted attempts when an instance serves concurrent requests.

A step's outcome may be an error to raise *after* its writes commit: a refused call that
must still record something (a rate-limit count, an abuse record) commits those records and
then raises the refusal.

Past ``deadline_seconds`` of losing, the engine raises ``Contention`` (``aborted``): nothing
from this call was committed, so the client may retry.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_document import DocumentSnapshot
from google.cloud.firestore_v1.document import DocumentReference

from .errors import BackendUnavailable, Contention, CreditsError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Commits that lost a precondition race: safe to retry, the batch did not apply.
# NotFound: a guarded document was deleted (an expired rate-limit log swept) after the read.
_CONFLICTS: tuple[type[Exception], ...] = (gexc.FailedPrecondition, gexc.Conflict, gexc.Aborted, gexc.NotFound)
# The commit's fate is unknown: it may or may not have applied. The step is told, so it can
# look for its own writes before writing again (see ``Attempt.ambiguous``).
_AMBIGUOUS: tuple[type[Exception], ...] = (
    gexc.DeadlineExceeded,
    gexc.ServiceUnavailable,
    gexc.InternalServerError,
    gexc.Unknown,
)


@dataclass
class Write:
    """One write of a plan. Build them with ``Plan.create/put/merge``."""

    kind: str  # "create" | "put" | "merge"
    ref: DocumentReference
    data: dict[str, Any]
    expected: DocumentSnapshot | None = None


@dataclass
class Plan(Generic[T]):
    """What a step decided: writes to commit atomically, then a result or an error."""

    result: T | None = None
    error: CreditsError | None = None
    writes: list[Write] = field(default_factory=list)

    def create(self, ref: DocumentReference, data: dict[str, Any]) -> None:
        """Create a document that must not exist yet (a new ledger entry, activity, ...)."""
        self.writes.append(Write("create", ref, data))

    def put(self, snapshot: DocumentSnapshot, data: dict[str, Any]) -> None:
        """Write top-level fields of a document the step read, guarded by what it read.

        If the snapshot existed, the fields are updated only if the document is unchanged
        since; if it did not exist, ``data`` becomes the whole new document, created only if
        it still does not exist.
        """
        self.writes.append(Write("put", snapshot.reference, data, snapshot))

    def merge(self, ref: DocumentReference, data: dict[str, Any]) -> None:
        """Merge fields without a guard: for commutative updates such as ``Increment``."""
        self.writes.append(Write("merge", ref, data))


@dataclass
class Attempt:
    """Handed to a step on every run."""

    client: firestore.Client
    number: int
    ambiguous: bool  # an earlier commit of this call may have applied
    reads: int = 0

    def get(self, refs: Sequence[DocumentReference]) -> dict[str, DocumentSnapshot]:
        """Read documents in one round trip; the result is keyed by document path."""
        unique = list({ref.path: ref for ref in refs}.values())
        self.reads += len(unique)
        snapshots = {snap.reference.path: snap for snap in self.client.get_all(unique)}
        return snapshots


@dataclass
class Stats:
    """What one ``run`` cost: for benchmarks and the per-call cost accounting."""

    attempts: int = 0
    reads: int = 0
    writes: int = 0


COMMIT_TIMEOUT_SECONDS = 20.0


class FairLock:
    """A lock granted in arrival order.

    ``threading.Lock`` makes no promise of order, so under a sustained same-user burst one
    unlucky request could wait until its deadline while later ones overtake it. Here each
    waiter gets its own event in a queue, and a release hands the lock to the oldest one.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held = False
        self._waiters: collections.deque[threading.Event] = collections.deque()

    def acquire(self, timeout: float) -> bool:
        with self._guard:
            if not self._held and not self._waiters:
                self._held = True
                return True
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout):
            return True  # handed over by release(): we hold it now
        with self._guard:
            if turn.is_set():  # handed over just as we timed out
                return True
            self._waiters.remove(turn)
            return False

    def release(self) -> None:
        with self._guard:
            if self._waiters:
                self._waiters.popleft().set()  # ownership passes on; _held stays True
            else:
                self._held = False


_key_locks: weakref.WeakValueDictionary[str, FairLock] = weakref.WeakValueDictionary()
_key_locks_guard = threading.Lock()


def _lock_for(key: str) -> FairLock:
    with _key_locks_guard:
        lock = _key_locks.get(key)
        if lock is None:
            lock = FairLock()
            _key_locks[key] = lock
        return lock


def run(
    client: firestore.Client,
    step: Callable[[Attempt], Plan[T]],
    *,
    lock_key: str | None = None,
    deadline_seconds: float = 30.0,
    stats: Stats | None = None,
) -> T:
    """Run ``step`` until its plan commits; return its result or raise its error."""
    lock = _lock_for(lock_key) if lock_key else None
    if lock is not None:
        # Holding the lock object keeps the weak dictionary entry alive for the call.
        if not lock.acquire(timeout=deadline_seconds):
            raise Contention(0)
    try:
        return _run(client, step, deadline_seconds, stats)
    finally:
        if lock is not None:
            lock.release()


def _run(
    client: firestore.Client,
    step: Callable[[Attempt], Plan[T]],
    deadline_seconds: float,
    stats: Stats | None,
) -> T:
    started = time.monotonic()
    ambiguous = False
    number = 0
    backoff = 0.008
    while True:
        number += 1
        attempt = Attempt(client=client, number=number, ambiguous=ambiguous)
        try:
            plan = step(attempt)
        except (gexc.ServiceUnavailable, gexc.DeadlineExceeded) as err:
            _count(stats, attempt, 0)
            if time.monotonic() - started > deadline_seconds:
                raise BackendUnavailable() from err
            time.sleep(random.uniform(0, backoff))
            backoff = min(backoff * 2, 0.5)
            continue
        if plan.writes:
            try:
                _commit(client, plan.writes)
            except _CONFLICTS:
                _count(stats, attempt, 0)
                if time.monotonic() - started > deadline_seconds:
                    log.warning("optimistic commit gave up after %d attempts", number)
                    raise Contention(number) from None
                # Full jitter: contenders spread out instead of colliding again in lockstep.
                time.sleep(random.uniform(0, backoff))
                backoff = min(backoff * 2, 0.25)
                continue
            except _AMBIGUOUS as err:
                _count(stats, attempt, 0)
                if time.monotonic() - started > deadline_seconds:
                    raise BackendUnavailable() from err
                ambiguous = True
                time.sleep(random.uniform(0, backoff))
                backoff = min(backoff * 2, 0.5)
                continue
        _count(stats, attempt, len(plan.writes))
        if plan.error is not None:
            raise plan.error
        return plan.result  # type: ignore[return-value]


def _count(stats: Stats | None, attempt: Attempt, writes: int) -> None:
    if stats is not None:
        stats.attempts += 1
        stats.reads += attempt.reads
        stats.writes += writes


def _commit(client: firestore.Client, writes: list[Write]) -> None:
    batch = client.batch()
    for write in writes:
        if write.kind == "create":
            batch.create(write.ref, write.data)
        elif write.kind == "merge":
            batch.set(write.ref, write.data, merge=True)
        elif write.expected is not None and write.expected.exists:
            option = client.write_option(last_update_time=write.expected.update_time)
            batch.update(write.ref, _top_level(write.data), option=option)
        else:
            batch.create(write.ref, write.data)
    # No automatic re-send: a commit whose answer was lost may have applied, and a blind
    # re-send would then fail its preconditions and look like an ordinary conflict. The
    # engine treats the lost answer as ambiguous instead (see ``Attempt.ambiguous``).
    batch.commit(retry=None, timeout=COMMIT_TIMEOUT_SECONDS)


def _top_level(data: dict[str, Any]) -> dict[str, Any]:
    """``update`` reads dots in keys as field paths; quote keys so they stay top-level names."""
    return {firestore.Client.field_path(key): value for key, value in data.items()}
