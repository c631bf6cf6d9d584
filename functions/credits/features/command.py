"""The one shape of every callable: parse, authorise, read, decide, plan, commit, answer.

The transport (``credits.api.transport``) verifies the identity, builds a ``Command`` (who
calls, from where, against which database, by which clock, within which time budget) and
parses the request into its model; the feature then runs one step through
``Command.commit``: the step reads everything it needs, asks a pure policy for the decision,
and returns an ``atomic.Plan`` (the writes, the answer or the refusal) that is committed as
one guarded transaction, retried whole on a lost race. The answer is the contract's response
model (``credits.vocab.contract``); the transport turns it into the wire's JSON.

Idempotency, for every callable that takes a ``requestId``, is ``credits.vocab.idempotency``:
one record (key, fingerprint, first response) written in the same commit as the effect, and
one replay ("seen before: answer the first response; other parameters: ``invalid_request``").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from google.cloud import firestore

from credits.store import notifications
from credits.store.atomic import Attempt, Deadline, Plan, Stats, run
from credits.vocab.clock import Clock
from credits.vocab.context import Caller, ClientContext

T = TypeVar("T")


@dataclass(frozen=True)
class Command:
    """One call of the backend: who, from where, by which clock, on which database, in what time."""

    client: firestore.Client
    clock: Clock
    caller: Caller
    ctx: ClientContext = field(default_factory=ClientContext)
    deadline: Deadline | None = None
    stats: Stats | None = None

    @property
    def uid(self) -> str:
        """The caller's uid."""
        return self.caller.uid

    def commit(self, name: str, step: Callable[[Attempt], Plan[T]], *, lock_key: str | None = None) -> T:
        """Run ``step`` until its plan commits (``atomic.run``) within the call's budget; a
        damaged document met on the way is reported to the admins under the callable's ``name``.
        """
        with notifications.reporting(self.client, self.clock, name):
            return run(self.client, step, lock_key=lock_key, deadline=self.deadline, stats=self.stats)
