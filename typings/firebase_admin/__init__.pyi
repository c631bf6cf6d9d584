# Stubs for the parts of firebase_admin the functions use (the package ships no types).
from typing import Any

class App:
    name: str
    project_id: str | None

_apps: dict[str, App]

def initialize_app(credential: Any = ..., options: dict[str, Any] | None = ..., name: str = ...) -> App: ...
def get_app(name: str = ...) -> App: ...
def delete_app(app: App) -> None: ...
