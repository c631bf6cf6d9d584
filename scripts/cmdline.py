"""What the operator commands in scripts/ share: where they point, and how they fail.

Every command takes ``--emulators`` (the local Emulator Suite: default ports shifted by
``CREDITS_EMULATOR_PORT_OFFSET``, or the hosts already in ``FIRESTORE_EMULATOR_HOST``,
``FIREBASE_AUTH_EMULATOR_HOST`` and ``CREDITS_FUNCTIONS_HOST``) or ``--project P`` (a real
project, with Application Default Credentials). A ``demo-`` project exists only on the
emulators, as in every Firebase SDK, so ``--project demo-...`` needs the emulator hosts set.

An expected mistake (an unknown user, emulators not running, no credentials, a project
that refuses) ends in one line on stderr and exit status 1; a usage error in exit status
2; only a bug shows a traceback. The commands run as ``.venv/bin/python scripts/<name>.py``:
``credits`` comes from functions/ through the ``.pth`` file that scripts/setup.sh writes.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parents[1]
EXIT_FAILURE = 1
EXIT_USAGE = 2
DEFAULT_PROJECT = "demo-credits"

# name -> (environment variable, default port, what to call it)
EMULATORS = {
    "auth": ("FIREBASE_AUTH_EMULATOR_HOST", 9099, "Auth"),
    "firestore": ("FIRESTORE_EMULATOR_HOST", 8080, "Firestore"),
    "functions": ("CREDITS_FUNCTIONS_HOST", 5001, "Functions"),
}


_project: str | None = None  # the target, for the messages of failures


class Failure(Exception):
    """An expected failure; its message is the one line the user sees."""

    code = EXIT_FAILURE


class UsageError(Failure):
    """The command line asks for something impossible."""

    code = EXIT_USAGE


def offset() -> int:
    value = os.environ.get("CREDITS_EMULATOR_PORT_OFFSET", "0") or "0"
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"CREDITS_EMULATOR_PORT_OFFSET={value!r} is not a number") from None


def emulator_host(name: str) -> str:
    """The host:port of an emulator: its environment variable, else the default port + offset."""
    variable, port, _ = EMULATORS[name]
    return os.environ.get(variable) or f"127.0.0.1:{port + offset()}"


def emulator_log() -> Path:
    """The emulators' log of scripts/start.sh (same rule as emulator_log in scripts/emulators.sh)."""
    suffix = f"-offset{offset()}" if offset() else ""
    return ROOT / ".tools" / "logs" / f"emulators-start{suffix}.log"


def reachable(host: str) -> bool:
    name, _, port = host.rpartition(":")
    try:
        with socket.create_connection((name.strip("[]") or "127.0.0.1", int(port)), timeout=2):
            return True
    except (OSError, ValueError):
        return False


def use_emulators(*names: str) -> None:
    """Point the SDKs at the emulators ``names`` and check that each one answers."""
    for name in names:
        variable, _, label = EMULATORS[name]
        host = emulator_host(name)
        os.environ[variable] = host
        if not reachable(host):
            raise Failure(f"cannot reach the {label} emulator at {host}; start it with scripts/start.sh")


def add_target(parser: argparse.ArgumentParser) -> None:
    """``--emulators`` or ``--project P``, exactly one."""
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--emulators", action="store_true", help="the local emulators (scripts/start.sh)")
    target.add_argument("--project", metavar="P", help="a real Firebase project, with Application Default Credentials")


def target_project(args: argparse.Namespace, *emulators: str) -> str:
    """The project the command works on, with the SDKs pointed where ``args`` says."""
    global _project
    if args.emulators:
        use_emulators(*emulators)
        _project = os.environ.get("CREDITS_PROJECT_ID") or os.environ.get("GCLOUD_PROJECT") or DEFAULT_PROJECT
        return _project
    project = _project = str(args.project)
    set_hosts = [EMULATORS[name][0] for name in emulators if os.environ.get(EMULATORS[name][0])]
    if project.startswith("demo-"):
        if len(set_hosts) < len(emulators):
            raise UsageError(f"{project} is a demo project, which exists only on the emulators: use --emulators")
        for name in emulators:
            use_emulators(name)
    elif set_hosts:
        raise UsageError(
            f"the environment points the SDKs at the emulators ({', '.join(set_hosts)}), not at {project}:"
            " unset those, or use --emulators"
        )
    os.environ["CREDITS_PROJECT_ID"] = project
    return project


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:300]


def explain(err: BaseException) -> Failure | None:
    """The one line for an expected failure from the Google and Firebase libraries, if it is one."""
    where = f" for project {_project}" if _project else ""
    try:
        from google.api_core import exceptions as gexc
        from google.auth import exceptions as auth_exc
    except ImportError:
        return None
    if isinstance(err, auth_exc.DefaultCredentialsError):
        return Failure(
            f"no Google credentials{where}: set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file"
            f" or run `gcloud auth application-default login` ({_first_line(err)})"
        )
    if isinstance(err, auth_exc.GoogleAuthError):
        return Failure(f"the Google credentials{where} were refused: {_first_line(err)}")
    if isinstance(err, gexc.PermissionDenied | gexc.Unauthenticated):
        return Failure(f"permission denied{where}: {_first_line(err)}")
    if isinstance(err, gexc.ServiceUnavailable | gexc.DeadlineExceeded | gexc.RetryError):
        return Failure(f"Firestore did not answer{where}: {_first_line(err)}")
    if isinstance(err, gexc.GoogleAPICallError):
        return Failure(f"Firestore refused{where}: {_first_line(err)}")
    try:
        import requests
        from firebase_admin import exceptions as fb_exc
    except ImportError:
        return None
    if isinstance(err, fb_exc.FirebaseError):
        return Failure(f"Firebase Auth refused{where}: {_first_line(err)}")
    if isinstance(err, requests.RequestException):
        return Failure(f"an HTTP request failed: {_first_line(err)}")
    return None


def run(main: Callable[[], int]) -> NoReturn:
    """Run ``main`` and exit with its status; expected failures become one line on stderr."""
    prog = Path(sys.argv[0]).name
    try:
        status = main()
    except Failure as err:
        print(f"{prog}: {err}", file=sys.stderr)
        sys.exit(err.code)
    except ModuleNotFoundError as err:
        print(f"{prog}: cannot import {err.name}: run it with .venv/bin/python (scripts/setup.sh creates .venv)", file=sys.stderr)
        sys.exit(EXIT_FAILURE)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as err:
        failure = explain(err)
        if failure is None:
            raise
        print(f"{prog}: {failure}", file=sys.stderr)
        sys.exit(failure.code)
    sys.exit(status)
