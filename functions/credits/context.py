"""Who is calling and from where: plain data the transport extracts and the domain reads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """The verified identity behind a call (from the Firebase Auth ID token)."""

    uid: str
    email: str | None = None
    name: str | None = None
    is_admin: bool = False


@dataclass(frozen=True)
class ClientContext:
    """Network facts about the request. ``ip`` is None only when it truly cannot be known."""

    ip: str | None = None
    country: str | None = None
    user_agent: str | None = None

    def as_fields(self) -> dict[str, str | None]:
        return {"ip": self.ip, "country": self.country, "userAgent": self.user_agent}


SYSTEM = Caller(uid="system", email=None, name="system", is_admin=True)
