"""Hostile input, generated: every callable gets more than a thousand payloads over HTTP.

Each callable is driven by a Hypothesis strategy that mixes valid payloads, valid payloads
with one or more fields broken (wrong types, missing, extra, huge, NaN and infinities,
negative and enormous numbers, lone surrogates, NUL, emoji, right-to-left overrides),
arbitrary JSON values, raw JSON tokens that ``json.dumps`` cannot produce (``1e999``, a
5,000-digit integer, deep nesting) and transport-level damage (truncated bodies, invalid
UTF-8, a BOM, UTF-16, extra top-level keys, wrong content types, junk in forwarding and
App Check headers).

Every answer must be one the contract lists for that callable, in the callable protocol's
shape, and never ``internal`` (HTTP 500). And a rejected call writes nothing but the abuse
and rate-limit records the contract names: after each run the fuzz user's balance, ledger,
activities and usage entries (or, for admin callables, the fuzz admin's audit entries, the
configuration version, the target user) are accounted for by the *successful* answers alone.

The runs are deterministic (``derandomize``); ``CREDITS_FUZZ_EXAMPLES`` sets how many
payloads each callable gets (default 1,100). The regression tests at the end pin the three
``internal`` answers these runs first found (Firestore-reserved document ids, nesting near
the parser's recursion limit, IPv6 zone ids in the client address); see docs/reliability.md.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from credits.features.charging import activity_id_for
from credits.store.ip_blocks import parse_target
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from tests.support import emulators as emu
from tests.support.ledger import balance, ledger_sum

EXAMPLES = int(os.environ.get("CREDITS_FUZZ_EXAMPLES", "1100"))
MIN_PAYLOADS = min(1000, EXAMPLES)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=list(HealthCheck),
)

# ------------------------------------------------------------------ building blocks

OK = None  # an allowed outcome: success
INVALID = ("INVALID_ARGUMENT", "invalid_request")


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """``one_of`` with weights (Hypothesis picks branches about evenly otherwise)."""
    table: list[st.SearchStrategy[Any]] = []
    for weight, strategy in choices:
        table += [strategy] * weight
    return st.integers(0, len(table) - 1).flatmap(lambda i: table[i])


SPECIAL_TEXT = [
    "",
    " ",
    "   \n\t ",
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff",
    "x\ud83dy",
    "\ud83d",
    "🙂",
    "👨‍👩‍👧‍👦",
    "\u202eevil\u202c",
    "\u200f\u200e\u061c",
    "שלום עולם",
    "مرحبا بالعالم",
    "\ufeff",
    "\uffff",
    "\U0010ffff",
    "e\u0301\u0301\u0301",
    "\u3000",
    "\u2028\u2029",
    "\t\r\n",
    "null",
    "true",
    "0",
    "-1",
    "NaN",
    "Infinity",
    "a/b",
    "users/x",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "${jndi:ldap://x/a}",
    "%s%n%x",
    "{{7*7}}",
    "\\",
    '"',
    "image",
    "chat",
    "processing",
    "completed",
    "failed",
    "active",
    "suspended",
    "Ａ",  # fullwidth
    "ﬀ",  # ligature: NFKC changes it
    "İ",  # case mapping grows it
]

EDGE_NUMBERS: list[Any] = [
    0,
    -0.0,
    1,
    -1,
    0.5,
    1.5,
    2.0,
    3,
    10,
    10.0,
    11,
    60,
    60.000001,
    100,
    100.5,
    101,
    600,
    600.0001,
    599.999999,
    1e-7,
    0.1 + 0.2,
    5e-324,
    2.2250738585072014e-308,
    1e308,
    -1e308,
    1.7976931348623157e308,
    2**31,
    2**31 - 1,
    2**53,
    2**53 + 1,
    2**63,
    -(2**63) - 1,
    2**64,
    10**30,
    10**300,
    -(10**300),
    10**4200,  # JSON allows it; Python parses up to 4,300 digits
    999_999,
    1_000_000,
    1_000_001,
    -1_000_000,
    -1_000_001,
    float("nan"),
    float("inf"),
    float("-inf"),
]

# JSON text that json.dumps never writes; each replaces one value in a payload.
RAW_TOKENS = [
    "NaN",
    "-NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "1E400",
    "1e-400",
    "-0",
    "0e0",
    "-0.0e-0",
    "1" + "0" * 5000,  # past Python's 4,300-digit limit: not valid JSON to the server
    "00",
    "+1",
    ".5",
    "0x10",
    "nan",
    "inf",
    "undefined",
    "true false",
    '"\\ud800"',
    '"\\udc00\\ud800"',
    '"\\u0000"',
    '"\\x41"',
    "'single'",
    "[1,]",
    "{,}",
    '{"a":1,"a":2}',
]


def _nest(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


# Nesting depths: around the transport's limit (32 levels of data), around the JSON parser's
# recursion limit (~970 levels, where the SDK's second parse used to overflow), and far past.
NEST_DEPTHS = [2, 10, 30, 31, 32, 33, 64, 100, 500, 900, 960, 968, 972, 975, 990, 1100, 5000, 100_000]

any_char = st.one_of(
    st.characters(),
    st.characters(categories=["Cs"]),  # lone surrogates
    st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Mn"]),
    st.sampled_from(["\x00", "\u202e", "\u200f", "\ufeff", "🙂", "/", ".", "_"]),
)
valid_char = st.characters(exclude_categories=["Cs"])

huge_text = st.builds(
    lambda unit, n: unit * n,
    st.sampled_from(["x", "🙂", " ", "\u202e", "\x00", "é", "ab"]),
    st.sampled_from([65, 101, 129, 501, 1001, 20_001, 65_537, 300_000]),
)
small_text = st.text(any_char, max_size=30)
texts = weighted((5, small_text), (3, st.sampled_from(SPECIAL_TEXT)), (1, huge_text))

numbers = weighted(
    (2, st.integers()),
    (2, st.floats()),
    (3, st.sampled_from(EDGE_NUMBERS)),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(small_text, children, max_size=4),
    ),
    max_leaves=10,
)

# Field values that are wrong for most fields; mutations draw from these.
hostile = weighted(
    (3, scalars),
    (2, json_values),
    (1, st.sampled_from([[], {}, [None], {"": None}, [[[]]], {"$gt": ""}, {"__proto__": {"admin": True}}])),
)

header_junk = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=","), max_size=40)


def request_ids() -> st.SearchStrategy[str]:
    return weighted(
        (3, st.from_regex(r"[A-Za-z0-9_.:-]{1,40}", fullmatch=True)),
        (2, st.sampled_from([f"fuzz-{i}" for i in range(6)])),  # reused keys: replays
        (1, st.sampled_from(["a" * 128, ":", ".", "..", "-", "_" * 128])),
    )


# ------------------------------------------------------------------ payload -> HTTP probe


@dataclass
class Probe:
    body: bytes
    headers: dict[str, str]
    kind: str
    data: Any
    must_be_invalid: bool = False  # broken at the transport level, whatever the data

    def describe(self) -> str:
        text = self.body[:300].decode("utf-8", "backslashreplace")
        return f"{self.kind}: {text}{'...' if len(self.body) > 300 else ''} headers={self.headers}"


_SENTINEL = "\u0001RAW-TOKEN\u0001"


def _dumps(data: Any) -> str:
    return json.dumps({"data": data})  # allow_nan: NaN/Infinity literals; ensure_ascii: "\ud800"


def _with_raw_token(data: Any, key: str, token: str) -> str:
    mutated = dict(data) if isinstance(data, dict) else {}
    mutated[key] = _SENTINEL
    return _dumps(mutated).replace(json.dumps(_SENTINEL), token, 1)


@st.composite
def probes(draw: st.DrawFn, data_strategy: st.SearchStrategy[Any], known_fields: list[str]) -> Probe:
    data = draw(data_strategy)
    headers: dict[str, str] = {}
    if draw(st.integers(0, 9)) == 0:
        headers["X-Forwarded-For"] = draw(header_junk) + ", {ip}"  # the client part is never trusted
    if draw(st.integers(0, 9)) == 0:
        headers["User-Agent"] = draw(st.sampled_from(["", "x" * 5000, "Mozilla/5.0 🙂".encode().decode("latin-1")]))
    if draw(st.integers(0, 14)) == 0:
        headers[draw(st.sampled_from(["CF-IPCountry", "X-Appengine-Country"]))] = draw(header_junk)
    if draw(st.integers(0, 14)) == 0:
        headers["X-Firebase-AppCheck"] = draw(header_junk)

    kind = draw(
        st.sampled_from(
            ["plain"] * 12
            + ["raw_token"] * 3
            + ["nested"] * 2
            + ["content_type_ok", "bom", "utf16", "dup_data"]
            + ["truncated", "extra_key", "no_data", "not_object", "bad_utf8", "content_type_bad"]
        )
    )
    text = _dumps(data)
    must_be_invalid = False
    body: bytes
    if kind == "raw_token":
        key = draw(st.sampled_from([*known_fields, "zz"]))
        body = _with_raw_token(data, key, draw(st.sampled_from(RAW_TOKENS))).encode()
    elif kind == "nested":
        key = draw(st.sampled_from([*known_fields, "zz"]))
        token = _nest(draw(st.sampled_from(NEST_DEPTHS)), draw(st.sampled_from(["list", "dict"])))
        body = _with_raw_token(data, key, token).encode()
    elif kind == "content_type_ok":
        body = text.encode()
        headers["Content-Type"] = draw(
            st.sampled_from(["application/json; charset=utf-8", "APPLICATION/JSON", "application/json ;x=y"])
        )
    elif kind == "bom":
        body = b"\xef\xbb\xbf" + text.encode()
    elif kind == "utf16":
        body = text.encode("utf-16")
    elif kind == "dup_data":
        body = ('{"data": ' + json.dumps(draw(json_values)) + ", " + text[1:]).encode()
    elif kind == "truncated":
        body = text.encode()[: draw(st.integers(0, max(0, len(text) - 1)))]
        must_be_invalid = True
    elif kind == "extra_key":
        body = (text[:-1] + ", " + json.dumps(draw(st.sampled_from(["extra", "auth", "context", ""]))) + ": 1}").encode()
        must_be_invalid = True
    elif kind == "no_data":
        body = text.replace('{"data"', '{"dat"', 1).encode()
        must_be_invalid = True
    elif kind == "not_object":
        body = draw(st.sampled_from([f"[{text}]", "null", "1", '"data"', "true", ""])).encode()
        must_be_invalid = True
    elif kind == "bad_utf8":
        raw = text.encode()
        cut = draw(st.integers(0, len(raw)))
        body = raw[:cut] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"])) + raw[cut:]
        must_be_invalid = True
    elif kind == "content_type_bad":
        body = text.encode()
        headers["Content-Type"] = draw(
            st.sampled_from(
                ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonp", ""]
            )
        )
        must_be_invalid = True
    else:
        body = text.encode()
    return Probe(body=body, headers=headers, kind=kind, data=data, must_be_invalid=must_be_invalid)


# ------------------------------------------------------------------ sending and checking


@dataclass
class Run:
    """What one fuzz run sent and got back."""

    name: str
    allowed: set[Any]
    sent: int = 0
    outcomes: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)
    successes: list[tuple[Probe, dict[str, Any]]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.name}: {self.sent} payloads in {self.seconds:.1f}s of HTTP, outcomes {dict(self.outcomes.most_common())}, "
            f"bodies {dict(self.kinds.most_common())}"
        )


def send(run: Run, probe: Probe, who: emu.User) -> emu.CallResult:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {who.id_token}", "X-Forwarded-For": who.ip}
    headers.update({k: v.replace("{ip}", who.ip) for k, v in probe.headers.items()})
    started = time.monotonic()
    response = emu.session().post(f"{emu.FUNCTIONS_URL}/{run.name}", data=probe.body, headers=headers, timeout=120)
    run.seconds += time.monotonic() - started
    run.sent += 1
    run.kinds[probe.kind] += 1
    assert response.status_code != 500, f"{run.name} answered 500 to {probe.describe()}: {response.text[:500]}"
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(
            f"{run.name} answered non-JSON {response.status_code} to {probe.describe()}: {response.text[:300]}"
        ) from None
    assert isinstance(body, dict), body
    result = emu.CallResult(response.status_code, body)
    if result.ok:
        outcome = OK
        assert set(body) == {"result"}, body
    else:
        error = body.get("error")
        assert isinstance(error, dict) and isinstance(error.get("status"), str), f"not a callable error: {body}"
        assert error["status"] != "INTERNAL", f"{run.name}: internal for {probe.describe()}"
        assert isinstance(error.get("message"), str)
        outcome = (result.code, result.reason)
        if outcome == INVALID:
            errors = result.details.get("errors")
            assert isinstance(errors, dict) and errors, body
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in errors.items()), body
    run.outcomes["ok" if outcome is OK else f"{outcome[0]}/{outcome[1]}"] += 1
    assert outcome in run.allowed, f"{run.name}: {outcome} is not a contract outcome here; payload {probe.describe()}"
    if probe.must_be_invalid:
        assert outcome == INVALID, f"{run.name}: transport garbage got {outcome}: {probe.describe()}"
    if outcome is OK:
        run.successes.append((probe, result.result))
    return result


def fuzz(
    run: Run, strategy: st.SearchStrategy[Probe], who: emu.User, on_answer: Callable[[Probe, emu.CallResult], None] | None = None
) -> Run:
    @FUZZ_SETTINGS
    @given(probe=strategy)
    def one(probe: Probe) -> None:
        result = send(run, probe, who)
        if on_answer is not None:
            on_answer(probe, result)

    one()
    print(run.summary())
    assert run.sent >= MIN_PAYLOADS, run.summary()
    return run


# ------------------------------------------------------------------ payload strategies

# Ids Firestore reserves: refused as invalid_request (they once answered internal).
RESERVED_IDS = [".", "..", "__x__", "__proto__", "____", "__.__"]
_RESERVED_ID = re.compile(r"^(\.|\.\.|__.*__)$", re.DOTALL)


def _mutate(base: st.SearchStrategy[dict[str, Any]], fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """A valid payload with 1..3 fields broken: replaced by hostile values, dropped, or joined
    by unknown keys."""

    @st.composite
    def mutated(draw: st.DrawFn) -> dict[str, Any]:
        data = dict(draw(base))
        for _ in range(draw(st.integers(1, 3))):
            action = draw(st.sampled_from(["replace", "replace", "replace", "drop", "extra"]))
            name = draw(st.sampled_from(fields))
            if action == "replace":
                data[name] = draw(hostile)
            elif action == "drop":
                data.pop(name, None)
            else:
                data[
                    draw(
                        st.one_of(
                            small_text, st.sampled_from(["credits", "userId", "uid", "admin", "role", "__proto__", "constructor"])
                        )
                    )
                ] = draw(hostile)
        return data

    return mutated()


def _count(db: firestore.Client, collection: str, field_name: str, value: str) -> int:
    return len(list(db.collection(collection).where(filter=FieldFilter(field_name, "==", value)).select([]).stream()))


def _audits(db: firestore.Client, actor: str, action: str | None = None) -> int:
    query = db.collection("admin_audit_logs").where(filter=FieldFilter("actorId", "==", actor))
    if action:
        query = query.where(filter=FieldFilter("action", "==", action))
    return len(list(query.select([]).stream()))


# ------------------------------------------------------------------ validateAndDeductCredits

TYPES = ["image", "video", "voice", "chat"]
TERMS = ["gory", "kys"]  # refused on their own by the default categories: a refusal is recorded


def _quantity(kind: str) -> st.SearchStrategy[Any]:
    if kind == "image":
        return st.integers(1, 10)
    if kind == "chat":
        return st.one_of(
            st.integers(1, 1_000_000), st.sampled_from([1, 99, 100, 101, 1000, 1_000_000]), st.integers(1, 1000).map(float)
        )
    high = 600 if kind == "video" else 60
    return st.one_of(
        st.integers(1, high),
        st.floats(min_value=1e-6, max_value=high, exclude_min=False),
        st.sampled_from([high, 0.5, 0.001, 5e-324, high - 1e-9]),
    )


prompts = weighted(
    (6, st.text(valid_char, min_size=1, max_size=200)),
    (
        2,
        st.sampled_from([t for t in SPECIAL_TEXT if t.strip() and "\ud800" not in t and "\udfff" not in t and "\ud83d" not in t]),
    ),
    (1, st.builds(lambda a, b: f"{a} {b}", st.sampled_from(TERMS), st.text(valid_char, max_size=20))),
    (1, st.sampled_from(["p" * 20_000, " " * 5 + "q" * 20_000 + " " * 5, "🙂" * 20_000, "\x00" * 19_999 + "z"])),
)


@st.composite
def valid_charges(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(TYPES))
    data: dict[str, Any] = {"type": kind, "prompt": draw(prompts)}
    if kind != "image" or draw(st.booleans()):
        data["quantity"] = draw(_quantity(kind))
    if draw(st.booleans()):
        data["requestId"] = draw(request_ids())
    if draw(st.integers(0, 3)) == 0:
        data["model"] = draw(st.text(valid_char, max_size=64))
    if draw(st.integers(0, 3)) == 0:
        data["deviceId"] = draw(st.text(valid_char, max_size=128))
    return data


CHARGE_FIELDS = ["type", "prompt", "quantity", "model", "requestId", "deviceId"]
charge_data = weighted(
    (3, valid_charges()),
    (10, _mutate(valid_charges(), CHARGE_FIELDS)),
    (3, json_values),
    (1, st.sampled_from([None, [], "", 0, {"data": {"type": "image", "prompt": "x"}}])),
)

CHARGE_OUTCOMES = {
    OK,
    INVALID,
    ("INVALID_ARGUMENT", "prompt_rejected"),
    ("FAILED_PRECONDITION", "insufficient_credits"),
    ("RESOURCE_EXHAUSTED", "rate_limited"),
    ("PERMISSION_DENIED", "account_suspended"),  # moderation refusals may add up to a suspension
}


def test_charge_fuzz(db: firestore.Client, admin: emu.User) -> None:
    user = emu.sign_up()
    assert emu.call("getCreditStatus", {}, user).ok  # the account opens with its sign-up grant
    # A large balance, so valid payloads reach the deepest checks instead of stopping at the price.
    granted = emu.call("grantCreditsToUser", {"userId": user.uid, "amount": 1_000_000, "reason": "fuzz budget"}, admin)
    assert granted.ok, granted.body
    start_balance = balance(db, user.uid)
    run = Run("validateAndDeductCredits", CHARGE_OUTCOMES)
    by_activity: dict[str, dict[str, Any]] = {}

    def record(probe: Probe, result: emu.CallResult) -> None:
        if not result.ok:
            return
        response = result.result
        data = probe.data if isinstance(probe.data, dict) else {}
        assert set(response) == {"activityId", "creditsCharged", "remainingCredits", "status"}, response
        assert response["status"] == "pending"
        assert isinstance(response["creditsCharged"], int) and response["creditsCharged"] >= 0
        if isinstance(data.get("requestId"), str) and probe.kind in ("plain", "content_type_ok", "bom", "utf16"):
            assert response["activityId"] == activity_id_for(user.uid, data["requestId"])
        first = by_activity.setdefault(response["activityId"], response)
        assert first == response, "a replay must return the first call's result"

    fuzz(run, probes(charge_data, CHARGE_FIELDS), user, record)

    # Every ledger entry, activity and credit is accounted for by the successful answers.
    charged = sum(r["creditsCharged"] for r in by_activity.values())
    assert balance(db, user.uid) == start_balance - charged
    assert ledger_sum(db, user.uid) == balance(db, user.uid)
    activities = {
        s.id: s.to_dict() for s in db.collection("ai_activity").where(filter=FieldFilter("userId", "==", user.uid)).stream()
    }
    assert set(activities) == set(by_activity), "an activity without a successful answer, or the reverse"
    assert all(a["status"] == "pending" and a["response"] == by_activity[i] for i, a in activities.items())
    entries = {
        s.id: s.to_dict() for s in db.collection("credit_logs").where(filter=FieldFilter("userId", "==", user.uid)).stream()
    }
    expected = {f"charge_{i}" for i in by_activity}  # a free generation's key is recorded too
    charges = {k for k in entries if k.startswith("charge_")}
    assert charges == expected
    assert {k for k in entries if not k.startswith("charge_")} == {f"signup_{user.uid}", granted.result["ledgerEntryId"]}
    assert all(entries[f"charge_{i}"]["delta"] == -r["creditsCharged"] for i, r in by_activity.items())
    assert _count(db, "usage_logs", "userId", user.uid) == 0
    assert run.outcomes["ok"] >= 10, run.summary()  # the valid share really charged


# ------------------------------------------------------------------ updateAIActivityStatus

STATUS_FIELDS = ["activityId", "status", "progress", "actualQuantity", "error"]
STATUS_OUTCOMES = {
    OK,
    INVALID,
    ("NOT_FOUND", "not_found"),
    ("PERMISSION_DENIED", "not_owner"),
    ("PERMISSION_DENIED", "not_allowed"),  # the owner sending what only the generator reports
    ("FAILED_PRECONDITION", "invalid_transition"),
}


def test_status_fuzz(db: firestore.Client) -> None:
    user, other = emu.sign_up(), emu.sign_up()
    own: list[str] = []
    for data in (
        [{"type": "image", "prompt": "fuzz"}] * 3
        + [{"type": "video", "prompt": "fuzz", "quantity": 2.5}] * 3
        + [{"type": "chat", "prompt": "fuzz", "quantity": 500}] * 3
        + [{"type": "voice", "prompt": "fuzz", "quantity": 1}] * 3
    ):
        own.append(emu.call("validateAndDeductCredits", data, user).result["activityId"])
    foreign = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "not yours"}, other).result["activityId"]
    foreign_before = db.collection("ai_activity").document(foreign).get().to_dict()
    before_balance = balance(db, user.uid)

    ids = weighted(
        (6, st.sampled_from(own)),
        (1, st.just(foreign)),
        (2, st.from_regex(r"[A-Za-z0-9_-]{1,128}", fullmatch=True).filter(lambda s: not _RESERVED_ID.match(s))),
        (1, st.sampled_from(["r_" + "0" * 40, "a" * 129, "a b", "a/b", "", " ", "🙂", *RESERVED_IDS])),
    )

    @st.composite
    def valid_updates(draw: st.DrawFn) -> dict[str, Any]:
        status = draw(st.sampled_from(["processing", "completed", "failed"]))
        data: dict[str, Any] = {"activityId": draw(ids), "status": status}
        if status == "processing" and draw(st.booleans()):
            data["progress"] = draw(st.one_of(st.integers(0, 100), st.floats(0, 100)))
        if status == "completed" and draw(st.booleans()):
            data["actualQuantity"] = draw(
                st.one_of(st.integers(0, 1_000_000), st.floats(0, 1000), st.sampled_from([0, 0.5, 5e-324]))
            )
        if status == "failed" and draw(st.booleans()):
            data["error"] = draw(st.one_of(st.text(valid_char, max_size=1000), st.just("e" * 1000)))
        return data

    status_data = weighted(
        (4, valid_updates()),
        (10, _mutate(valid_updates(), STATUS_FIELDS)),
        (3, json_values),
    )

    run = Run("updateAIActivityStatus", STATUS_OUTCOMES)
    fuzz(run, probes(status_data, STATUS_FIELDS), user)

    # Books: every balance change of the user is one of: signup, the 12 charges, at most one
    # refund or settlement per activity that reached a final state (and only those).
    entries = {
        s.id: s.to_dict() for s in db.collection("credit_logs").where(filter=FieldFilter("userId", "==", user.uid)).stream()
    }
    assert ledger_sum(db, user.uid) == balance(db, user.uid) >= 0
    expected_ids = {f"signup_{user.uid}"} | {f"charge_{a}" for a in own}
    final = 0
    for activity_id in own:
        activity = db.collection("ai_activity").document(activity_id).get().to_dict()
        usage = db.collection("usage_logs").document(activity_id).get()
        if activity["status"] == "failed":
            final += 1
            expected_ids.add(f"refund_{activity_id}")
            assert entries[f"refund_{activity_id}"]["delta"] == activity["initialCharge"]
            assert usage.exists
        elif activity["status"] == "completed":
            final += 1
            if f"settle_{activity_id}" in entries:
                expected_ids.add(f"settle_{activity_id}")
                assert entries[f"settle_{activity_id}"]["delta"] == activity["initialCharge"] - activity["creditsCharged"]
            assert usage.exists
        else:
            assert activity["status"] in ("pending", "processing")
            assert not usage.exists
    assert set(entries) == expected_ids
    assert _count(db, "ai_activity", "userId", user.uid) == len(own)  # status updates never create activities
    assert db.collection("ai_activity").document(foreign).get().to_dict() == foreign_before  # every try was not_owner
    assert balance(db, user.uid) == before_balance + sum(
        e["delta"] for k, e in entries.items() if k.startswith(("refund_", "settle_"))
    )
    assert run.outcomes["ok"] >= final, run.summary()


# ------------------------------------------------------------------ the admin callables


@pytest.fixture
def fuzz_admin() -> emu.User:
    """A fresh admin per run, so its audit entries can be counted exactly."""
    return emu.make_admin()


def _valid_doc_id(value: Any) -> bool:
    """Ids we can look up afterwards (to prove a refused call created no users document)."""
    if not isinstance(value, str) or not re.fullmatch(r"[^/]{1,128}", value) or _RESERVED_ID.match(value):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: refused as invalid_request, cannot be a path
        return False
    return True


GRANT_FIELDS = ["userId", "amount", "reason", "requestId"]
GRANT_OUTCOMES = {OK, INVALID, ("NOT_FOUND", "not_found"), ("FAILED_PRECONDITION", "insufficient_credits")}


def test_grant_fuzz(db: firestore.Client, fuzz_admin: emu.User) -> None:
    target = emu.sign_up()  # an Auth account without a users document yet
    unknown_ids = [f"nobody-{uuid.uuid4().hex[:8]}", "x" * 128, "ünïcödé", "🙂", "a\x00b", "a b", *RESERVED_IDS]

    @st.composite
    def valid_grants(draw: st.DrawFn) -> dict[str, Any]:
        data: dict[str, Any] = {
            "userId": draw(weighted((6, st.just(target.uid)), (1, st.sampled_from(unknown_ids)))),
            "amount": draw(
                weighted(
                    (4, st.integers(1, 1000)),
                    (2, st.integers(-200, -1)),
                    (1, st.sampled_from([1_000_000, -1_000_000, 999_999, 2.0, -3.0])),
                )
            ),
            "reason": draw(st.one_of(st.text(valid_char, min_size=1, max_size=60), st.just("r" * 500))),
        }
        if draw(st.booleans()):
            data["requestId"] = draw(request_ids())
        return data

    grant_data = weighted(
        (4, valid_grants()),
        (10, _mutate(valid_grants(), GRANT_FIELDS)),
        (3, json_values),
    )

    sent_ids: set[str] = set()

    def note(probe: Probe, result: emu.CallResult) -> None:
        if isinstance(probe.data, dict) and _valid_doc_id(probe.data.get("userId")):
            sent_ids.add(probe.data["userId"])

    run = Run("grantCreditsToUser", GRANT_OUTCOMES)
    fuzz(run, probes(grant_data, GRANT_FIELDS), fuzz_admin, note)

    results = {r["ledgerEntryId"]: r for _, r in run.successes}
    assert all(r["userId"] == target.uid for r in results.values())
    entries = {
        s.id: s.to_dict() for s in db.collection("credit_logs").where(filter=FieldFilter("userId", "==", target.uid)).stream()
    }
    grants = {k: v for k, v in entries.items() if not k.startswith("signup_")}
    assert set(grants) == set(results), "a ledger entry without a successful grant, or the reverse"
    assert ledger_sum(db, target.uid) == balance(db, target.uid) >= 0
    assert _audits(db, fuzz_admin.uid) == _audits(db, fuzz_admin.uid, "grant_credits") == len(results)
    # Refused grants to unknown users created nothing.
    others = sorted(sent_ids - {target.uid})
    if others:
        refs = [db.collection("users").document(uid) for uid in others]
        assert not [s.id for s in db.get_all(refs) if s.exists]
    assert run.outcomes["ok"] >= 10, run.summary()


CONFIG_OUTCOMES = {OK, INVALID}


def _valid_config_patches() -> st.SearchStrategy[dict[str, Any]]:
    term = st.fixed_dictionaries(
        {
            "term": st.text(valid_char, min_size=1, max_size=100).filter(str.strip),
            "category": st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True),
            "severity": st.sampled_from(["low", "medium", "high", "critical"]),
        }
    )
    prices = st.one_of(st.integers(0, 1000), st.sampled_from([0.01, 0.5, 1.25, 0.000001, 1_000_000]))
    return st.one_of(
        st.fixed_dictionaries({"costs": st.dictionaries(st.sampled_from(TYPES), prices, min_size=1)}),
        st.fixed_dictionaries({"defaultCredits": st.integers(0, 1_000_000)}),
        st.fixed_dictionaries(
            {"rateLimits": st.dictionaries(st.sampled_from([*TYPES, "ipRequests"]), st.integers(1, 10_000), min_size=1)}
        ),
        st.fixed_dictionaries({"retentionDays": st.integers(1, 3650)}),
        st.fixed_dictionaries({"moderation": st.fixed_dictionaries({"terms": st.lists(term, min_size=1, max_size=5)})}),
        st.fixed_dictionaries({"abuse": st.fixed_dictionaries({"refundRateThreshold": st.sampled_from([0, 0.25, 1])})}),
    )


def _broken_config_patches() -> st.SearchStrategy[dict[str, Any]]:
    section = st.sampled_from(["costs", "defaultCredits", "rateLimits", "moderation", "retentionDays", "abuse"])
    server = st.sampled_from(["version", "updatedAt", "updatedBy"])
    sub = st.sampled_from(
        [
            *TYPES,
            "windowSeconds",
            "ipRequests",
            "ipWindowSeconds",
            "terms",
            "suspendScore",
            "refundRateThreshold",
            "refundRateMinGenerations",
            "nope",
        ]
    )
    return st.one_of(
        st.dictionaries(section, hostile, min_size=1, max_size=3),
        st.dictionaries(section, st.dictionaries(sub, hostile, min_size=1, max_size=3), min_size=1, max_size=2),
        st.dictionaries(server, hostile, min_size=1, max_size=2),
        st.dictionaries(small_text, hostile, min_size=1, max_size=3),
        st.fixed_dictionaries(
            {
                "moderation": st.fixed_dictionaries(
                    {
                        "terms": st.lists(
                            st.dictionaries(st.sampled_from(["term", "category", "severity", "x"]), hostile), max_size=3
                        )
                    }
                )
            }
        ),
        _mutate(
            _valid_config_patches(), ["costs", "defaultCredits", "rateLimits", "moderation", "retentionDays", "abuse", "version"]
        ),
        st.just({}),
    )


def test_configuration_fuzz(db: firestore.Client, fuzz_admin: emu.User, config: object) -> None:
    """Mostly broken patches; what is accepted must bump the version once and audit once.
    The ``config`` fixture puts every default back before and after."""
    base = int((db.collection("applied_config").document("current").get().to_dict() or {}).get("version", 0))
    config_data = weighted((1, _valid_config_patches()), (10, _broken_config_patches()), (3, json_values))
    run = Run("updateCreditConfiguration", CONFIG_OUTCOMES)
    fuzz(run, probes(config_data, ["costs", "defaultCredits", "rateLimits", "moderation", "retentionDays", "abuse"]), fuzz_admin)

    versions = sorted(r["version"] for _, r in run.successes)
    assert versions == list(range(base + 1, base + len(versions) + 1)), "each accepted patch bumps the version exactly once"
    applied = db.collection("applied_config").document("current").get().to_dict() or {}
    assert applied["version"] == base + len(versions)
    assert _audits(db, fuzz_admin.uid) == _audits(db, fuzz_admin.uid, "update_configuration") == len(versions)
    assert run.outcomes["ok"] >= 10, run.summary()


STATUS_CHANGE_FIELDS = ["userId", "status", "reason"]
STATUS_CHANGE_OUTCOMES = {OK, INVALID, ("NOT_FOUND", "not_found")}


def test_user_status_fuzz(db: firestore.Client, fuzz_admin: emu.User) -> None:
    target = emu.sign_up()
    unknown_ids = [f"nobody-{uuid.uuid4().hex[:8]}", "ghost", "ünïcödé", *RESERVED_IDS]
    valid = st.fixed_dictionaries(
        {
            "userId": weighted((5, st.just(target.uid)), (1, st.sampled_from(unknown_ids))),
            "status": st.sampled_from(["active", "suspended"]),
            "reason": st.one_of(st.text(valid_char, min_size=1, max_size=60), st.just("r" * 500)),
        }
    )
    data = weighted((4, valid), (10, _mutate(valid, STATUS_CHANGE_FIELDS)), (3, json_values))
    sent_ids: set[str] = set()

    def note(probe: Probe, result: emu.CallResult) -> None:
        if isinstance(probe.data, dict) and _valid_doc_id(probe.data.get("userId")):
            sent_ids.add(probe.data["userId"])

    run = Run("setUserStatus", STATUS_CHANGE_OUTCOMES)
    fuzz(run, probes(data, STATUS_CHANGE_FIELDS), fuzz_admin, note)

    assert run.outcomes["ok"] >= 10, run.summary()
    assert all(r["userId"] == target.uid for _, r in run.successes)
    assert _audits(db, fuzz_admin.uid) == _audits(db, fuzz_admin.uid, "set_user_status") == len(run.successes)
    doc = db.collection("users").document(target.uid).get().to_dict()
    last = run.successes[-1][1]["status"]
    assert doc["status"] == last
    # A status change writes no ledger entry: an account it opens waits for its user's first
    # call to decide the sign-up grant.
    entries = [s.id for s in db.collection("credit_logs").where(filter=FieldFilter("userId", "==", target.uid)).stream()]
    assert entries == []
    assert doc["credits"] == ledger_sum(db, target.uid) == 0 and doc["signupGrant"] == "pending"
    others = sorted(sent_ids - {target.uid})
    if others:
        assert not [s.id for s in db.get_all([db.collection("users").document(u) for u in others]) if s.exists]


# Addresses the rest of the suite uses: never blocked by the fuzz, whatever it generates.
PROTECTED = [ipaddress.ip_network(n) for n in ("127.0.0.0/8", "198.18.0.0/15", "::1/128", "::/128", "0.0.0.0/32")]


def _protected(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    target = parse_target(value)
    if target is None:
        return False
    try:
        net = ipaddress.ip_network(target.key, strict=False)
    except ValueError:
        return True  # unparseable to us: do not risk it
    return any(net.version == p.version and net.overlaps(p) for p in PROTECTED)


IP_FIELDS = ["ip", "blocked", "reason"]
IP_OUTCOMES = {OK, INVALID}


def _block_state(db: firestore.Client) -> tuple[set[str], list[str]]:
    """Blocked address buckets (document ids) and the range index, as stored."""
    docs = {s.id for s in db.collection("ip_blocks").stream() if s.id.startswith("addr_")}
    index = db.collection("ip_blocks").document("ranges").get()
    return docs, list((index.to_dict() or {}).get("cidrs", [])) if index.exists else []


def test_ip_block_fuzz(db: firestore.Client, fuzz_admin: emu.User) -> None:
    saved_docs, saved_ranges = _block_state(db)
    v4 = st.builds(
        lambda net, host: f"{net}.{host}", st.sampled_from(["192.0.2", "198.51.100", "203.0.113"]), st.integers(0, 255)
    )
    v6 = st.builds(lambda a, b: f"2001:db8:{a:x}::{b:x}", st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
    addresses = st.one_of(
        v4,
        v6,
        st.builds(lambda a, p: f"{a}/{p}", v4, st.integers(24, 32)),
        st.builds(lambda a, p: f"{a}/{p}", v6, st.integers(32, 128)),
        st.builds(lambda a: f"::ffff:{a}", v4),
        st.builds(lambda a: f"  {a}\t", v4),
        st.builds(lambda a: f"[{a}]:443", v6),
        st.builds(lambda a: f"{a}:8080", v4),
        st.builds(lambda a: f"{a}%eth0", v6),
        st.sampled_from(
            [
                "192.0.2.256",
                "192.0.2",
                "192.0.2.1/33",
                "2001:db8::/129",
                "2001:db8:::1",
                "1.2.3.4/-1",
                "999.1.1.1",
                "::ffff:999.0.0.1",
            ]
        ),
    )
    valid = st.fixed_dictionaries(
        {
            "ip": addresses,
            "blocked": st.booleans(),
            "reason": st.one_of(st.text(valid_char, min_size=1, max_size=60), st.just("r" * 500)),
        }
    )
    data = weighted((4, valid), (10, _mutate(valid, IP_FIELDS)), (3, json_values)).filter(
        lambda d: not (isinstance(d, dict) and _protected(d.get("ip")))
    )
    run = Run("setIpBlock", IP_OUTCOMES)
    try:
        fuzz(run, probes(data, IP_FIELDS), fuzz_admin)
        assert _audits(db, fuzz_admin.uid) == _audits(db, fuzz_admin.uid, "set_ip_block") == len(run.successes)
        last: dict[tuple[str, str], bool] = {}
        for _, r in run.successes:
            last[(r["kind"], r["ip"])] = r["blocked"]
        docs, ranges = _block_state(db)
        blocked_addresses = {"addr_" + ip.replace("/", "_") for (kind, ip), b in last.items() if b and kind == "address"}
        blocked_ranges = {ip for (kind, ip), b in last.items() if b and kind == "range"}
        assert docs - saved_docs == blocked_addresses - saved_docs
        assert set(ranges) - set(saved_ranges) == blocked_ranges - set(saved_ranges)
        assert run.outcomes["ok"] >= 10, run.summary()
    finally:  # unblock everything the fuzz blocked
        for (_kind, ip), b in last.items() if "last" in locals() else []:
            if b:
                emu.call("setIpBlock", {"ip": ip, "blocked": False, "reason": "fuzz cleanup"}, fuzz_admin)


STATS_OUTCOMES = {OK, INVALID}


def test_usage_stats_fuzz(db: firestore.Client, fuzz_admin: emu.User) -> None:
    data = weighted(
        (1, st.sampled_from([None, {}])), (12, json_values), (4, st.dictionaries(small_text, hostile, min_size=1, max_size=3))
    )
    run = Run("getUsageStats", STATS_OUTCOMES)
    fuzz(run, probes(data, ["since", "limit"]), fuzz_admin)
    assert _audits(db, fuzz_admin.uid) == _audits(db, fuzz_admin.uid, "get_usage_stats") == len(run.successes)
    assert run.outcomes["ok"] >= 10, run.summary()


# ------------------------------------------------------------------ regressions
#
# Each of these answered ``internal`` when the fuzz above first ran (fixed in ce2d6bd).

RESERVED_CASES: list[tuple[str, str, dict[str, Any]]] = [
    (name, key, {**data, key: bad})
    for bad in (".", "..", "__x__")
    for name, key, data in (
        ("grantCreditsToUser", "userId", {"amount": 1, "reason": "r"}),
        ("setUserStatus", "userId", {"status": "active", "reason": "r"}),
        ("updateAIActivityStatus", "activityId", {"status": "failed"}),
    )
]


@pytest.mark.parametrize("name,key,data", RESERVED_CASES, ids=[f"{n}-{d[k]}" for n, k, d in RESERVED_CASES])
def test_reserved_document_ids_are_invalid_argument(
    name: str, key: str, data: dict[str, Any], admin: emu.User, user: emu.User
) -> None:
    r = emu.call(name, data, user if name == "updateAIActivityStatus" else admin)
    assert r.code == "INVALID_ARGUMENT" and r.reason == "invalid_request", r.body
    assert key in r.details["errors"], r.body


def test_nesting_around_the_limits_is_invalid_argument(user: emu.User) -> None:
    """32 levels of data pass the transport; deeper is refused there, including the band
    around the parser's recursion limit where the SDK's own second parse used to overflow."""
    for depth in [*range(28, 36), *range(930, 1020)]:
        body = '{"data": {"type": "image", "prompt": ' + _nest(depth, "list") + "}}"
        r = emu.call("validateAndDeductCredits", user=user, raw_body=body)
        assert r.code == "INVALID_ARGUMENT", (depth, r.status, r.body)
        field_named = "body" if depth + 1 > 32 else "prompt"
        assert field_named in r.details["errors"], (depth, r.body)


def test_ipv6_zone_in_the_client_address_is_dropped(user: emu.User, db: firestore.Client) -> None:
    r = emu.call("validateAndDeductCredits", {"type": "image", "prompt": "x"}, user, ip="fe80::1%" + "x" * 1500)
    assert r.ok, r.body
    assert db.collection("ai_activity").document(r.result["activityId"]).get().get("ip") == "fe80::1"
