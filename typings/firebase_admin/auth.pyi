# Stubs for the parts of firebase_admin.auth the functions use.
from typing import Any

from firebase_admin import App

class UserRecord:
    uid: str
    email: str | None
    email_verified: bool
    custom_claims: dict[str, Any] | None

class UserNotFoundError(Exception): ...

def get_user(uid: str, app: App | None = ...) -> UserRecord: ...
def get_user_by_email(email: str, app: App | None = ...) -> UserRecord: ...
def set_custom_user_claims(uid: str, custom_claims: dict[str, Any] | None, app: App | None = ...) -> None: ...
