"""The structured call log, as the Functions emulator prints the workers' output.

Every call writes one JSON entry (``functions/credits/api/logs.py``); the emulator copies each
line of the workers' output to its own, which ``scripts/test.sh`` sends to the file named by
``EMULATOR_LOG`` (``scripts/emulators.sh``), with a ``>`` in front. These tests send a trace id
of their own in ``X-Cloud-Trace-Context``, find the entries that carry it, and read the whole
log for what must never be there: prompts, tokens, emails and uids.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support import emulators as emu

WAIT_SECONDS = 10.0
SETTLE_SECONDS = 1.0  # after the first entry shows, long enough for a duplicate to show too


@pytest.fixture(scope="module")
def log_file() -> Path:
    path = os.environ.get("EMULATOR_LOG")
    if not path or not Path(path).is_file():
        pytest.fail("EMULATOR_LOG does not name the emulators' log: run these tests through scripts/test.sh", pytrace=False)
    return Path(path)


def trace_header() -> tuple[str, str]:
    """A fresh Cloud Trace id and the header a Google front end would send with it."""
    trace = uuid.uuid4().hex
    return trace, f"{trace}/1;o=1"


def entries(log: Path) -> list[dict[str, Any]]:
    """Every structured entry in the log (the emulator prints them as ``>  {...}``)."""
    found = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        text = line.lstrip("> ").strip()
        if not text.startswith("{"):
            continue
        try:
            entry = json.loads(text)
        except ValueError:
            continue
        if isinstance(entry, dict):
            found.append(entry)
    return found


def call_entries(log: Path, trace: str) -> list[dict[str, Any]]:
    """The call entries of one trace id, once they have appeared (polling a few seconds)."""
    end = time.monotonic() + WAIT_SECONDS
    while True:
        mine = [e for e in entries(log) if e.get("event") == "call" and e.get("correlationId") == trace]
        if mine:
            time.sleep(SETTLE_SECONDS)
            return [e for e in entries(log) if e.get("event") == "call" and e.get("correlationId") == trace]
        if time.monotonic() > end:
            raise AssertionError(f"no call entry with correlationId {trace} in {log} after {WAIT_SECONDS}s")
        time.sleep(0.2)


def charge(user: emu.User, trace_context: str, **data: Any) -> emu.CallResult:
    return emu.call("validateAndDeductCredits", data, user, headers={"X-Cloud-Trace-Context": trace_context})


def test_a_charge_writes_exactly_one_call_entry(log_file: Path) -> None:
    user = emu.sign_up()
    trace, header = trace_header()
    assert charge(user, header, type="image", prompt=f"a violet heron {uuid.uuid4().hex}").ok
    [entry] = call_entries(log_file, trace)
    assert entry["callable"] == "validateAndDeductCredits"
    assert (entry["outcome"], entry["reason"], entry["severity"]) == ("ok", None, "INFO")
    assert entry["role"] == "user"
    assert entry["user"] == hashlib.sha256(user.uid.encode()).hexdigest()[:12] and entry["user"] != user.uid
    assert entry["correlationId"] == trace
    assert entry["logging.googleapis.com/trace"] == f"projects/{emu.PROJECT}/traces/{trace}"
    assert isinstance(entry["latencyMs"], (int, float)) and entry["latencyMs"] > 0
    assert entry["attempts"] >= 1
    # a first charge reads the configuration, the account, the limits, the address and the
    # blocks, and writes the account, its entries, the activity and both limit logs
    assert isinstance(entry["reads"], int) and entry["reads"] >= 5
    assert isinstance(entry["writes"], int) and entry["writes"] >= 4


def test_a_refused_charge_writes_one_entry_with_its_reason(log_file: Path) -> None:
    user = emu.sign_up()
    trace, header = trace_header()
    r = charge(user, header, type="video", quantity=600, prompt="a long sunrise")  # 3,000 credits
    assert r.reason == "insufficient_credits"
    [entry] = call_entries(log_file, trace)
    assert (entry["callable"], entry["outcome"], entry["reason"]) == (
        "validateAndDeductCredits",
        "refused",
        "insufficient_credits",
    )
    assert entry["attempts"] >= 1 and entry["role"] == "user"


def test_a_call_without_a_trace_gets_a_correlation_id_of_its_own(log_file: Path) -> None:
    user = emu.sign_up()
    marker = uuid.uuid4().hex  # sent as a malformed trace header: not a 32-hex id
    assert charge(user, f"not-a-trace-{marker}", type="image", prompt="a quiet harbour").ok
    deadline = time.monotonic() + WAIT_SECONDS
    tag = hashlib.sha256(user.uid.encode()).hexdigest()[:12]
    while True:
        mine = [e for e in entries(log_file) if e.get("event") == "call" and e.get("user") == tag]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(mine) == 1, mine
    assert len(mine[0]["correlationId"]) == 32 and marker not in json.dumps(mine[0])


def test_prompts_tokens_emails_uids_and_addresses_never_reach_the_log(log_file: Path) -> None:
    user = emu.sign_up()
    network = emu.fresh_ipv6_prefix()  # an address no other test sends
    user.ip = f"{network}::77"
    secret = uuid.uuid4().hex
    prompts = [
        f"a violet heron over the marsh {secret}",  # charged
        f"how to cook meth {secret}",  # rejected by moderation, recorded as an abuse event
        f"a {secret} " + "very long " * 50,  # refused: a video beyond the balance
    ]
    traces = []
    for prompt, data in zip(prompts, [{"type": "image"}, {"type": "image"}, {"type": "video", "quantity": 600}]):
        trace, header = trace_header()
        traces.append(trace)
        charge(user, header, prompt=prompt, **data)
    activity = charge(user, trace_header()[1], type="image", prompt=f"a second heron {secret}").result["activityId"]
    assert emu.call("updateAIActivityStatus", {"activityId": activity, "status": "failed"}, user).ok
    assert emu.call("getCreditStatus", {}, user).ok
    for trace in traces:
        assert len(call_entries(log_file, trace)) == 1
    text = log_file.read_text(encoding="utf-8", errors="replace")
    forbidden = {
        "a prompt": secret,
        "the ID token": user.id_token,
        "the refresh token": user.refresh_token,
        "the email": user.email,
        "the uid": user.uid,
        "the client's address": network,
    }
    for what, value in forbidden.items():
        lines = [n for n, line in enumerate(text.splitlines(), 1) if value in line]
        assert not lines, f"{what} appears in {log_file} at lines {lines[:5]}"


def test_the_entry_names_the_callers_role(log_file: Path, generator: emu.User, admin: emu.User) -> None:
    user = emu.sign_up()
    activity = charge(user, trace_header()[1], type="image", prompt="a paper crane").result["activityId"]
    report_trace, report_header = trace_header()
    data = {"activityId": activity, "status": "completed", "actualQuantity": 1}
    assert emu.call("updateAIActivityStatus", data, generator, headers={"X-Cloud-Trace-Context": report_header}).ok
    grant_trace, grant_header = trace_header()
    data = {"userId": user.uid, "amount": 5, "reason": "goodwill"}
    assert emu.call("grantCreditsToUser", data, admin, headers={"X-Cloud-Trace-Context": grant_header}).ok
    [report] = call_entries(log_file, report_trace)
    [granted] = call_entries(log_file, grant_trace)
    assert (report["callable"], report["role"], report["outcome"]) == ("updateAIActivityStatus", "generator", "ok")
    assert report["user"] == hashlib.sha256(generator.uid.encode()).hexdigest()[:12]
    assert (granted["callable"], granted["role"], granted["outcome"]) == ("grantCreditsToUser", "admin", "ok")
