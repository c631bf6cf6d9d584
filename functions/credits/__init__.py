"""The credit backend's domain: pricing, the ledger, generations and their protection.

Nothing in this package imports ``firebase_functions``; the transport lives in
``credits.api``. Invariants the package keeps, for every user at every moment:

* ``users/{uid}.credits`` is a non-negative integer;
* the ``delta`` of the user's ``credit_logs`` entries sums to that balance;
* every balance change and its ledger entry land in the same atomic commit.
"""
