"""Decisions as pure functions of plain state and a clock: no Firestore, no I/O.

Each module here answers one question the contract asks, from values the Firestore code has
already read and parsed; the Firestore code (``charging``, ``lifecycle``, ``status``,
``accounts``, ``abuse``) reads, calls the decision, and turns it into a ``Plan``. The unit tests
in ``tests/unit/test_policy_*.py`` read like the contract's worked examples.

* ``charge``: the order of a charge's checks and what a refusal records;
* ``lifecycle``: the transition table and who may report what;
* ``settlement``: settlement and refund arithmetic;
* ``abuse``: the sliding abuse score, escalation, suspension, refusal milestones, refund rate;
* ``signup``: who receives the sign-up grant.
"""
