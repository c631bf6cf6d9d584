"""The base of every contract model and the shared enumerations of the wire."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

GenerationType = Literal["image", "video", "voice", "chat"]
ActivityStatus = Literal["pending", "processing", "completed", "failed"]
AccountStatus = Literal["active", "suspended"]
SignupGrant = Literal["granted", "withheld", "pending"]
# The sign-up policy's rule that withheld a grant (``credits.policy.signup`` decides it).
SignupGrantRule = Literal[
    "anonymous",
    "email_unverified",
    "ip_unknown",
    "ip_blocked",
    "ip_limit",
    "network_limit",
    "allocation_limit",
    "global_limit",
]


class Wire(BaseModel):
    """A contract model: field names are the wire's (camelCase); unknown fields are refused, so
    that a field the code sends and the contract does not name is found by the tests.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class Open(BaseModel):
    """A contract model whose further fields are allowed (a document's or a configuration's
    extension points): the named fields are checked, others pass.
    """

    model_config = ConfigDict(extra="allow", frozen=True)
