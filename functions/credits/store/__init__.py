"""The store: Firestore documents, atomic plans, the ledger, the audit log, the applied
configuration. Decides nothing; reads, builds plans and commits them.
"""
