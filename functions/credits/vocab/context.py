"""Who is calling and from where: plain data the transport extracts and the domain reads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """The verified identity behind a call (from the Firebase Auth ID token).

    ``is_admin`` and ``is_generator`` are the token's custom claims ``admin == true`` and
    ``generator == true``: an admin runs the product, a generator is the server-side
    pipeline that runs the models and reports how each generation ended. Neither implies
    the other. ``anonymous`` and ``email_verified`` feed the sign-up grant policy.
    """

    uid: str
    email: str | None = None
    name: str | None = None
    is_admin: bool = False
    is_generator: bool = False
    email_verified: bool = False
    anonymous: bool = False


@dataclass(frozen=True)
class ClientContext:
    """Network facts about the request. ``ip`` is None only when it truly cannot be known."""

    ip: str | None = None
    country: str | None = None
    user_agent: str | None = None

    def as_fields(self) -> dict[str, str | None]:
        """The context as the fields stored on activities and abuse records."""
        return {"ip": self.ip, "country": self.country, "userAgent": self.user_agent}


SYSTEM = Caller(uid="system", email=None, name="system", is_admin=True)
"""The scheduled jobs' identity: acts with admin authority, reported as ``system``."""
