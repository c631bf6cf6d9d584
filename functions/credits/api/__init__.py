"""The transport: Firebase callables and schedules around the domain.

Every callable has the same three steps: parse the request (``X.parse(data)``), one
domain call, return the contract's response. No business rule lives here.
"""
