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

Everything a call does runs within one ``Deadline`` (the transport's budget, below the
function's timeout). Past it the engine raises ``Contention`` (``aborted``) after lost races or
``BackendUnavailable`` (``unavailable``) when the database did not answer: nothing from this
call was committed, so the client may retry with the same ``requestId``.
"""

from __future__ import annotations

import collections
import logging
import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.document import DocumentReference

from credits.store import wire
from credits.store.db import USERS as USERS_COLLECTION, Snapshot
from credits.store.wire import MapPatch as MapPatch  # defined with the encoding that writes it
from credits.vocab.errors import BackendUnavailable, Contention, CreditsError, DataInvalid

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


WriteKind = Literal["create", "put", "merge", "delete"]


@dataclass(frozen=True)
class Write:
    """One write of a plan. Build them with ``Plan.create/put/merge``."""

    kind: WriteKind
    ref: DocumentReference
    data: dict[str, Any]
    expected: Snapshot | None = None


class StaleRead(Exception):
    """Raised by a step whose reads cannot all be true at once: a batched read outside a
    transaction is not one snapshot, so a step may see a user's document after a commit and
    that commit's other document (a ledger entry) before it. The plan it would build fails its
    preconditions anyway; the engine treats this as a lost race and reads again.
    """


class PlanError(AssertionError):
    """A step built a plan the engine refuses: a programming error, never a client's."""


BALANCE_FIELD = "credits"
"""The balance on ``users/{uid}``: written only through ``ledger.post`` (see ``Plan``)."""


@dataclass
class Plan(Generic[T]):
    """What a step decided: writes to commit atomically, then a result or an error.

    Two rules keep money in one place: a plan never writes one document twice (a step
    merges its fields first), and only the ledger's posting function may write a user's
    balance (``credits``): ``put``, ``create`` and ``merge`` refuse it, so no code path can
    change a balance without its ledger entry.
    """

    result: T | None = None
    error: CreditsError | None = None
    writes: list[Write] = field(default_factory=list)

    def create(self, ref: DocumentReference, data: dict[str, Any]) -> None:
        """Create a document that must not exist yet (a new ledger entry, activity, ...)."""
        self._add(Write("create", ref, data))

    def put(self, snapshot: Snapshot, data: dict[str, Any]) -> None:
        """Write top-level fields of a document the step read, guarded by what it read.

        If the snapshot existed, the fields are updated only if the document is unchanged
        since; if it did not exist, ``data`` becomes the whole new document, created only if
        it still does not exist.
        """
        self._add(Write("put", snapshot.reference, data, snapshot))

    def merge(self, ref: DocumentReference, data: dict[str, Any]) -> None:
        """Merge fields without a guard: for commutative updates such as ``Increment``."""
        self._add(Write("merge", ref, data))

    def delete(self, snapshot: Snapshot) -> None:
        """Delete a document the step read, only if it is unchanged since (no-op if missing)."""
        if snapshot.exists:
            self._add(Write("delete", snapshot.reference, {}, snapshot))

    def writes_to(self, ref: DocumentReference) -> bool:
        """Whether the plan already writes ``ref``."""
        return any(write.ref.path == ref.path for write in self.writes)

    def _add(self, write: Write, *, balance: bool = False) -> None:
        if self.writes_to(write.ref):
            raise PlanError(f"a plan writes {write.ref.path} twice")
        if not balance and BALANCE_FIELD in write.data and write.ref.parent.id == USERS_COLLECTION:
            raise PlanError(f"{write.ref.path}.{BALANCE_FIELD} is written only by ledger.post")
        self.writes.append(write)

    def _post_balance(self, write: Write) -> None:
        """The ledger's door: a user write that carries the balance (see ``ledger.post``)."""
        self._add(write, balance=True)


class Deadline:
    """One time budget for a whole call: lock wait, reads, retries and commits.

    Created once per call (the transport sets it below the function's timeout), so a
    client always gets an answer (``aborted``/``contention`` or ``unavailable``, both with
    nothing written) before the platform would cut the call off with an unknown outcome.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self._end - time.monotonic())

    def expired(self) -> bool:
        """Whether the budget is spent."""
        return self.remaining() <= 0.0


DEFAULT_BUDGET_SECONDS = 30.0
# Below this, a round trip is not worth starting: the answer would come too late.
_MIN_ROUND_TRIP_SECONDS = 0.05


@dataclass
class Attempt:
    """Handed to a step on every run."""

    client: firestore.Client
    number: int
    ambiguous: bool  # an earlier commit of this call may have applied
    deadline: Deadline = field(default_factory=lambda: Deadline(DEFAULT_BUDGET_SECONDS))
    reads: int = 0

    def get(self, refs: Sequence[DocumentReference]) -> dict[str, Snapshot]:
        """Read documents in one round trip; the result is keyed by document path."""
        unique = list({ref.path: ref for ref in refs}.values())
        self.reads += len(unique)
        timeout = self.deadline.remaining()
        if timeout < _MIN_ROUND_TRIP_SECONDS:
            raise _budget_spent()
        # No retry inside the client: its default policy retries for minutes, past any
        # budget; the engine retries a failed read itself, within the call's deadline.
        return wire.get_all(self.client, unique, timeout)


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
        """Wait at most ``timeout`` seconds for the lock; whether it was acquired."""
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
        """Hand the lock to the oldest waiter, or free it."""
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
    deadline: Deadline | None = None,
    stats: Stats | None = None,
) -> T:
    """Run ``step`` until its plan commits; return its result or raise its error.

    Everything (waiting for the per-key lock, reads, backoff, commits) happens within
    ``deadline``; past it the call raises ``Contention`` (lost races) or
    ``BackendUnavailable`` (an unreachable database), and nothing it tried was committed,
    except possibly a commit whose answer was lost, which every step recognises as its own
    on a retry (``Attempt.ambiguous``).
    """
    deadline = deadline or Deadline(DEFAULT_BUDGET_SECONDS)
    lock = _lock_for(lock_key) if lock_key else None
    if lock is not None:
        # Holding the lock object keeps the weak dictionary entry alive for the call.
        if not lock.acquire(timeout=deadline.remaining()):
            raise Contention(0)
    try:
        return _run(client, step, deadline, stats)
    finally:
        if lock is not None:
            lock.release()


def _run(
    client: firestore.Client,
    step: Callable[[Attempt], Plan[T]],
    deadline: Deadline,
    stats: Stats | None,
) -> T:
    ambiguous = False
    number = 0
    lost_races = 0
    backoff = 0.008
    while True:
        number += 1
        attempt = Attempt(client=client, number=number, ambiguous=ambiguous, deadline=deadline)
        try:
            plan = step(attempt)
        except StaleRead:
            _count(stats, attempt, 0)
            lost_races += 1
            backoff = _pause(deadline, backoff, 0.25, Contention(number), None)
            continue
        except (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.InternalServerError, gexc.Unknown, gexc.RetryError) as err:
            # A read that failed changed nothing: retry while the budget lasts. If the budget
            # ran out after lost races, they are the story: contention, not an outage.
            _count(stats, attempt, 0)
            give_up: CreditsError = Contention(number) if lost_races else BackendUnavailable()
            backoff = _pause(deadline, backoff, 0.5, give_up, err)
            continue
        if plan.writes:
            try:
                _commit(client, plan.writes, deadline)
            except BudgetSpent as err:
                # Not sent, so nothing applied (not ambiguous). If races were lost on the way,
                # they are why the budget ran out: contention, not an outage.
                _count(stats, attempt, 0)
                if lost_races:
                    log.warning("optimistic commit gave up after %s attempts", number)
                    raise Contention(number) from err
                raise BackendUnavailable() from err
            except _CONFLICTS:
                _count(stats, attempt, 0)
                lost_races += 1
                # Full jitter: contenders spread out instead of colliding again in lockstep.
                backoff = _pause(deadline, backoff, 0.25, Contention(number), None)
                continue
            except _AMBIGUOUS as err:
                _count(stats, attempt, 0)
                ambiguous = True
                backoff = _pause(deadline, backoff, 0.5, BackendUnavailable(), err)
                continue
            except gexc.InvalidArgument as err:
                # The one way valid writes are refused: a stored document (grown by hand in the
                # console) would pass Firestore's 1 MiB limit. That document is damaged.
                oversized = _oversized_document(str(err), plan.writes)
                if oversized is None:
                    raise
                raise DataInvalid(oversized, {"size": "too large to update (Firestore's limit is 1 MiB)"}) from None
        _count(stats, attempt, len(plan.writes))
        if plan.error is not None:
            raise plan.error
        return plan.result  # type: ignore[return-value]  # Plan.result is typed T | None; every step sets it


def _pause(deadline: Deadline, backoff: float, cap: float, give_up: CreditsError, cause: Exception | None) -> float:
    """Sleep a full-jitter backoff before the next attempt, or raise ``give_up`` if the
    budget cannot cover another attempt. Returns the next backoff.
    """
    delay = random.uniform(0, backoff)
    if deadline.remaining() - delay < _MIN_ROUND_TRIP_SECONDS:
        if isinstance(give_up, Contention):
            log.warning("optimistic commit gave up after %s attempts", give_up.details.get("attempts"))
        raise give_up from cause
    time.sleep(delay)
    return min(backoff * 2, cap)


_OVERSIZED = re.compile(r"documents/([^' ]+)' cannot be written because its size")
_TOO_LARGE = ("cannot be written because its size", "maximum entity size")


def _oversized_document(message: str, writes: list[Write]) -> str | None:
    """The document a commit refused as too large: named by Firestore's message where it
    names one (production does), else the largest document the plan updates (the emulator
    says only "maximum entity size").
    """
    if not any(marker in message for marker in _TOO_LARGE):
        return None
    match = _OVERSIZED.search(message)
    if match:
        return match.group(1)
    updated = [w for w in writes if w.expected is not None and w.expected.exists]
    if not updated:
        return None
    largest = max(updated, key=lambda w: len(repr(w.expected.to_dict() if w.expected else None)))
    path: str = largest.ref.path
    return path


class BudgetSpent(gexc.DeadlineExceeded):
    """A round trip not sent because the call's time budget is spent: nothing was applied."""


def _budget_spent() -> BudgetSpent:
    """The error of a round trip not sent because the call's time budget is spent."""
    return BudgetSpent("the call's time budget is spent")  # type: ignore[no-untyped-call]  # api_core's __init__ is unannotated


def _count(stats: Stats | None, attempt: Attempt, writes: int) -> None:
    if stats is not None:
        stats.attempts += 1
        stats.reads += attempt.reads
        stats.writes += writes


def _commit(client: firestore.Client, writes: list[Write], deadline: Deadline) -> None:
    pbs = []
    for write in writes:
        path = write.ref._document_path
        if write.kind == "create":
            pbs.append(wire.create_pb(path, write.data))
        elif write.kind == "delete":
            assert write.expected is not None and write.expected.update_time is not None
            pbs.append(wire.delete_pb(path, write.expected.update_time))
        elif write.kind == "merge":
            pbs.append(wire.merge_pb(path, write.data))
        elif write.expected is not None and write.expected.exists:
            assert write.expected.update_time is not None
            pbs.append(wire.update_pb(path, write.data, write.expected.update_time))
        else:
            if any(isinstance(value, MapPatch) for value in write.data.values()):
                raise PlanError(f"a map patch needs an existing {write.ref.path}")
            pbs.append(wire.create_pb(path, write.data))
    timeout = min(COMMIT_TIMEOUT_SECONDS, deadline.remaining())
    if timeout < _MIN_ROUND_TRIP_SECONDS:
        raise _budget_spent()  # not sent: nothing applied
    # No automatic re-send: a commit whose answer was lost may have applied, and a blind
    # re-send would then fail its preconditions and look like an ordinary conflict. The
    # engine treats the lost answer as ambiguous instead (see ``Attempt.ambiguous``).
    wire.commit(client, pbs, timeout)
