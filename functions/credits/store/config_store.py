"""The configuration in force: the last valid one, where every instance reads it.

Admins change the configuration in two ways: ``updateCreditConfiguration`` (validated, then
applied at once) and by hand in the Firestore console, which accepts anything. So what charges
use is never the editable documents themselves but the *applied* configuration:

* ``applied_config/current``: the last valid public configuration, the abuse thresholds and the
  versions (small: read in every charge's one batched read);
* ``applied_config/terms``: the last valid moderation terms (up to 1,000), read by an instance
  only when ``moderationVersion`` changes; the moderation policy (categories' actions, the
  operator's terms compiled, the provider's settings) is cached per version.

Only this module writes them, always in the same commit as the editable documents and an
audit entry. The rules let no client write them (admins included); the console can (the Admin
SDK's authority is above the rules), so each carries a ``seal``, the SHA-256 of its content,
and a copy whose seal does not match is never used: charges read the editable documents,
checked, instead, and the ``onAppliedConfigWritten`` trigger (``check_applied``) puts the copy
back from them within seconds, with an audit entry (actor ``console``) and an admin
notification (issue 20, hole 4: an image cost of 0 written there used to be charged at once,
silently). The seal is no secret: it stops silent and accidental edits, not someone who
recomputes it on purpose, who could as well write any balance with the same authority.

* the callable (``update``) merges a patch onto the stored settings (or, where a stored
  document does not validate, onto the applied ones), so a repair keeps every setting it does
  not name and drops a stray key;
* a hand edit fires a Firestore trigger (``check_edit``) within about a second: a valid edit
  gets its ``version`` bumped, is applied and audited with actor ``console`` and the real
  before and after; an invalid one (a wrong type, a stray key, a deleted document) is put back
  to the applied configuration, audited, and an admin notification names the bad fields.
  Until the trigger has run, charges use the applied configuration: a hand edit never stops
  charging and never lets a bad value be used;
* ``migrate`` moves the older single-document shape (``moderation`` and ``abuse`` inside
  ``system_config/credits``) into the two documents, and bootstraps the applied copy.

Versions: ``version`` counts accepted changes of the whole configuration; each editable
document carries the version at which it last changed (``creditsVersion``,
``moderationVersion`` on the applied copy), which is how the trigger recognises its own
writes and does nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

from google.cloud import firestore
from pydantic import ValidationError

from credits.moderation import CategoryRule, Policy, ProviderSettings, superseded
from credits.store import audit, db, notifications
from credits.store.atomic import Attempt, Deadline, Plan, run
from credits.store.db import Snapshot
from credits.vocab.clock import Clock
from credits.vocab.config import (
    SERVER_FIELDS,
    Abuse,
    ConfigProblems,
    CreditConfig,
    DocumentName,
    Moderation,
    PrivateConfig,
    Settings,
    field_errors,
    merge_patch,
    parse_credits,
    parse_private,
    split_legacy,
)
from credits.vocab.context import Caller, ClientContext
from credits.vocab.contract.callables import ConfigurationResponse
from credits.vocab.errors import ConfigurationInvalid

log = logging.getLogger(__name__)

CURRENT_DOC = "current"
TERMS_DOC = "terms"
CONSOLE = Caller(uid="console", name="console")
MIGRATION = Caller(uid="migration", name="migration")
_AUDIT_VALUE_LIMIT = 200_000  # bytes of JSON kept of a damaged document in its audit entry


def editable_ref(client: firestore.Client, name: DocumentName) -> firestore.DocumentReference:
    """``system_config/credits`` or ``system_config/moderation``."""
    return client.collection(db.SYSTEM_CONFIG).document(name)


def applied_ref(client: firestore.Client) -> firestore.DocumentReference:
    """``applied_config/current``: what every charge reads."""
    return client.collection(db.APPLIED_CONFIG).document(CURRENT_DOC)


def terms_ref(client: firestore.Client) -> firestore.DocumentReference:
    """``applied_config/terms``: the applied moderation terms."""
    return client.collection(db.APPLIED_CONFIG).document(TERMS_DOC)


@dataclass(frozen=True)
class Applied:
    """The configuration in force."""

    credits: CreditConfig
    private: PrivateConfig  # its ``moderation`` is the defaults: the terms live apart
    version: int = 0
    # Set when the applied copy could not be used and the editable documents were read
    # instead (before the first migration): their terms, so no second read is needed.
    terms: Moderation | None = None

    @property
    def abuse(self) -> Abuse:
        """The abuse thresholds in force."""
        return self.private.abuse

    @property
    def moderation_version(self) -> int:
        """The version at which the moderation terms last changed."""
        return self.private.version


def parse_applied(data: dict[str, Any] | None) -> Applied | None:
    """The applied copy as stored; None when missing or unreadable (callers fall back)."""
    if not data:
        return None
    return _parse_applied(data)


# Every charge reads the applied copy; it changes only with the configuration, so the last one
# parsed is kept by its full path and update time: a document's update time changes with every
# write to it, so an unchanged time means unchanged content, and the charge neither decodes
# nor validates it again.
_applied_by_time: tuple[tuple[str, dt.datetime, int], Applied | None] | None = None


def _parse_snapshot(snapshot: Snapshot) -> Applied | None:
    """``parse_applied`` of a read applied copy, kept while its update time is unchanged."""
    global _applied_by_time
    if not snapshot.exists:
        return None
    stamp = snapshot.update_time
    if stamp is None:
        return parse_applied(snapshot.to_dict())
    key = (snapshot.reference._document_path, stamp, getattr(stamp, "nanosecond", 0))
    last = _applied_by_time
    if last is not None and last[0] == key:
        return last[1]
    applied = parse_applied(snapshot.to_dict())
    _applied_by_time = (key, applied)
    return applied


def seal(data: dict[str, Any]) -> str:
    """The seal of an applied document: the SHA-256 of its content (``seal`` itself left out)."""
    content = {k: v for k, v in data.items() if k != "seal"}
    text = json.dumps(content, sort_keys=True, default=_sealed_value, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _sealed_value(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return str(value)


def sealed(data: dict[str, Any] | None) -> bool:
    """Whether a stored applied document is exactly what this module wrote."""
    return bool(data) and isinstance(data, dict) and data.get("seal") == seal(data)


def _parse_applied(data: dict[str, Any]) -> Applied | None:
    if not sealed(data):
        return None
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        return None
    try:
        credits = CreditConfig.model_validate(data.get("public") or {})
        private = PrivateConfig.model_validate(data.get("private") or {})
    except ValidationError:
        return None
    return Applied(credits, private, version)


def load(attempt: Attempt, snapshot: Snapshot) -> Applied:
    """The configuration in force, from the applied copy read in the caller's batched read.

    Before the first migration (no applied copy yet) or if someone damaged it by hand, the
    editable documents are read and validated instead (one more round trip); if those do
    not validate either, nothing trustworthy is left and the call fails closed with
    ``config_invalid`` (and the admins are told).
    """
    applied = _parse_snapshot(snapshot)
    if applied is not None:
        return applied
    client = attempt.client
    refs = [editable_ref(client, "credits"), editable_ref(client, "moderation")]
    got = attempt.get(refs)
    try:
        settings = _stored_settings(got[refs[0].path], got[refs[1].path])
    except ConfigProblems as err:
        raise ConfigurationInvalid(err.errors) from None
    return Applied(settings.credits, settings.private, settings.version, terms=settings.private.moderation)


_policies: dict[int, Policy] = {}
_policies_guard = threading.Lock()


def moderation_policy(attempt: Attempt, applied: Applied) -> Policy:
    """The moderation policy in force: cached per ``moderationVersion``, so a charge reads the
    terms (up to 1,000) only on the first call after they change.
    """
    if applied.terms is not None:
        return policy_of(applied.private, applied.terms)
    with _policies_guard:
        cached = _policies.get(applied.moderation_version)
    if cached is not None:
        return cached
    snap = attempt.get([terms_ref(attempt.client)])[terms_ref(attempt.client).path]
    if not sealed(snap.to_dict() if snap.exists else None):
        # Edited by hand (or missing): the checked editable document's terms instead, not
        # cached; the trigger puts the applied copy back.
        private_ref = editable_ref(attempt.client, "moderation")
        private_snap = attempt.get([private_ref])[private_ref.path]
        try:
            terms = parse_private(private_snap.to_dict() if private_snap.exists else None).moderation
        except ConfigProblems:
            terms = Moderation()
        return policy_of(applied.private, terms)
    policy = policy_of(applied.private, _applied_terms(snap))
    with _policies_guard:
        if len(_policies) >= 8:
            _policies.clear()
        _policies[applied.moderation_version] = policy
    return policy


def policy_of(private: PrivateConfig, terms: Moderation) -> Policy:
    """The verdict's view of the private configuration: each category's action and severity,
    the operator's own terms (the former built-in ones are superseded by the categories), and
    the provider's settings.
    """
    categories = private.categories
    rules = {
        name: CategoryRule(setting.action, setting.severity)
        for name in type(categories).model_fields
        if (setting := categories.of(name)) is not None
    }
    provider = private.provider
    settings = ProviderSettings(
        provider.enabled, provider.failMode, provider.timeoutMs, {str(k): v for k, v in provider.thresholds.items()}
    )
    own = tuple(term for term in terms.terms if not superseded(term))
    return Policy(rules, own, settings)


def _applied_terms(snapshot: Snapshot) -> Moderation:
    data = snapshot.to_dict() if snapshot.exists else None
    if data:
        try:
            return Moderation.model_validate({"terms": data.get("terms")})
        except ValidationError:
            log.warning("applied_config/terms is unreadable; using the default terms until the next change")
    return Moderation()


def _stored_settings(credits_snap: Snapshot, private_snap: Snapshot) -> Settings:
    """The editable documents, validated (older shape accepted); ``ConfigProblems``."""
    credits_data = credits_snap.to_dict() if credits_snap.exists else None
    private_data = private_snap.to_dict() if private_snap.exists else None
    legacy_private = None
    if credits_data:
        credits_data, legacy_private = split_legacy(credits_data)
    errors: dict[str, str] = {}
    credits = private = None
    try:
        credits = parse_credits(credits_data)
    except ConfigProblems as err:
        errors.update(err.errors)
    try:
        source = private_data if private_data else legacy_private
        private = parse_private(source)
        if not private_data and legacy_private:
            private = private.model_copy(update={"version": credits.version if credits else 0})
    except ConfigProblems as err:
        errors.update({f"moderation:{k}": v for k, v in err.errors.items()})
    if errors or credits is None or private is None:
        raise ConfigProblems(errors)
    return Settings(credits, private, max(credits.version, private.version))


# ------------------------------------------------------------------ writing


def _applied_document(settings: Settings) -> dict[str, Any]:
    private = settings.private.to_firestore()
    private.pop("moderation")
    document = {"public": settings.credits.to_firestore(), "private": private, "version": settings.version}
    return {**document, "seal": seal(document)}


def _terms_document(settings: Settings) -> dict[str, Any]:
    document = {"terms": settings.private.content()["moderation"]["terms"], "version": settings.private.version}
    return {**document, "seal": seal(document)}


@dataclass
class _Read:
    """The documents every configuration write reads first."""

    credits: Snapshot
    private: Snapshot
    current: Snapshot
    terms: Snapshot

    @classmethod
    def of(cls, attempt: Attempt) -> _Read:
        client = attempt.client
        refs = [editable_ref(client, "credits"), editable_ref(client, "moderation"), applied_ref(client), terms_ref(client)]
        got = attempt.get(refs)
        return cls(*(got[r.path] for r in refs))

    def applied_settings(self) -> Settings | None:
        """The applied configuration as ``Settings`` (terms included); None when absent."""
        applied = parse_applied(self.current.to_dict() if self.current.exists else None)
        if applied is None or not sealed(self.terms.to_dict() if self.terms.exists else None):
            return None
        private = applied.private.model_copy(update={"moderation": _applied_terms(self.terms)})
        return Settings(applied.credits, private, applied.version)


@dataclass(frozen=True)
class _Stamp:
    """Who writes the configuration, and when: the documents a write touches carry both."""

    now: dt.datetime
    actor: Caller


def _write(
    plan: Plan[Any],
    read: _Read,
    settings: Settings,
    touched: frozenset[DocumentName],
    stamp: _Stamp,
    *,
    rewrite: frozenset[DocumentName] = frozenset(),
) -> Settings:
    """Stamp and store ``settings``: the touched editable documents get the new version, the
    applied copy follows. ``rewrite`` names documents to write back unchanged (a revert).
    """
    version = settings.version + (1 if touched else 0)
    credits, private = settings.credits, settings.private
    stamped = {"updatedAt": stamp.now, "updatedBy": stamp.actor.uid}
    if "credits" in touched:
        credits = credits.model_copy(update={"version": version, **stamped})
    if "moderation" in touched:
        private = private.model_copy(update={"version": version, **stamped})
    final = Settings(credits, private, version)
    if "credits" in touched | rewrite:
        _replace(plan, read.credits, credits.to_firestore())
    if "moderation" in touched | rewrite:
        _replace(plan, read.private, private.to_firestore())
    applied = _applied_document(final)
    if not read.current.exists or read.current.to_dict() != applied:
        _replace(plan, read.current, applied)
    terms = _terms_document(final)
    if not read.terms.exists or read.terms.to_dict() != terms:
        # Whenever the terms in force differ, a rewrite (a migration, a revert) included:
        # comparing is free, the document was read anyway.
        _replace(plan, read.terms, terms)
    return final


def _replace(plan: Plan[Any], snapshot: Snapshot, data: dict[str, Any]) -> None:
    """The whole document becomes ``data`` (stray fields removed), guarded by what was read."""
    if snapshot.exists:
        stale = {k: firestore.DELETE_FIELD for k in (snapshot.to_dict() or {}) if k not in data}
        plan.put(snapshot, {**stale, **data})
    else:
        plan.put(snapshot, data)


def update(
    client: firestore.Client,
    clock: Clock,
    actor: Caller,
    ctx: ClientContext,
    patch: Any,
    *,
    deadline: Deadline | None = None,
) -> ConfigurationResponse:
    """``updateCreditConfiguration``: validate and merge a patch of either document, apply it,
    audit before and after. Answers the new version and both documents merged (a retried
    call, its first answer as its audit entry keeps it).
    """
    audit_ref = audit.new_ref(client)

    def step(attempt: Attempt) -> Plan[dict[str, Any]]:
        now = clock.now()
        replayed = audit.replay(attempt, audit_ref)
        if replayed is not None:
            return Plan(result=replayed)
        read = _Read.of(attempt)
        base = _base_settings(read)
        merged, touched = merge_patch(base, patch)
        plan: Plan[dict[str, Any]] = Plan()
        final = _write(plan, read, merged, touched, _Stamp(now, actor))
        plan.result = {"version": final.version, "config": final.to_json()}
        audit.add(
            plan,
            client,
            audit.entry(
                actor,
                ctx,
                audit.Change(
                    "update_configuration", f"{db.SYSTEM_CONFIG}/" + "+".join(sorted(touched)), base.to_json(), final.to_json()
                ),
                now,
            ),
            ref=audit_ref,
            result=plan.result,
        )
        return plan

    return ConfigurationResponse.model_validate(run(client, step, lock_key="config", deadline=deadline))


def _base_settings(read: _Read) -> Settings:
    """What a patch applies to: each stored document where it validates, else the applied
    copy (so a repair keeps every valid setting and drops what does not validate).
    """
    applied = read.applied_settings() or Settings(CreditConfig(), PrivateConfig(), 0)
    credits_data = read.credits.to_dict() if read.credits.exists else None
    legacy_private = None
    if credits_data:
        credits_data, legacy_private = split_legacy(credits_data)
    try:
        credits = parse_credits(credits_data) if read.credits.exists else applied.credits
    except ConfigProblems:
        credits = applied.credits
    try:
        private_data = read.private.to_dict() if read.private.exists else legacy_private
        private = parse_private(private_data) if private_data is not None else applied.private
    except ConfigProblems:
        private = applied.private
    return Settings(credits, private, max(applied.version, credits.version, private.version))


def current_settings(client: firestore.Client) -> Settings:
    """The configuration in force, for admin tools and tests (one read, no plan)."""
    attempt = Attempt(client=client, number=1, ambiguous=False)
    read = _Read.of(attempt)
    return read.applied_settings() or _base_settings(read)


# ------------------------------------------------------------------ hand edits


def check_edit(client: firestore.Client, clock: Clock, name: str) -> str:
    """Check ``system_config/{name}`` after a write (the trigger). Returns what it did:
    ``ignored``, ``unchanged``, ``accepted``, ``reverted`` or ``migrated``.
    """
    if name not in ("credits", "moderation"):
        return "ignored"
    doc_name: DocumentName = "credits" if name == "credits" else "moderation"

    def step(attempt: Attempt) -> Plan[str]:
        now = clock.now()
        read = _Read.of(attempt)
        snap = read.credits if doc_name == "credits" else read.private
        applied = read.applied_settings()
        data = snap.to_dict() if snap.exists else None
        if doc_name == "credits" and data and split_legacy(data)[1] is not None:
            # The older shape, or an admin's paste of it: either way what it holds is the
            # newest word, even where an applied copy exists (see ``_migration_plan``).
            return _migration_plan(client, read, now)
        base = applied or _base_or_defaults(read)
        expected = base.credits if doc_name == "credits" else base.private
        if data is not None and _same(data, expected):
            return Plan(result="unchanged")
        plan: Plan[str] = Plan()
        try:
            edited = _validate_edit(doc_name, data)
        except ConfigProblems as err:
            _write(plan, read, base, frozenset(), _Stamp(now, CONSOLE), rewrite=frozenset({doc_name}))
            edit = _ConsoleEdit("revert_configuration", doc_name, _bounded(data), expected.to_firestore(), err.errors)
            _audit_console(plan, client, edit, now)
            path = f"{db.SYSTEM_CONFIG}/{doc_name}"
            message = f"a hand edit of {path} was invalid and was put back ({', '.join(sorted(err.errors))})"
            _notify_reverted(plan, client, path, message, now, fields=err.errors)
            plan.result = "reverted"
            return plan
        if doc_name == "credits":
            assert isinstance(edited, CreditConfig)
            candidate = Settings(edited.model_copy(update={"version": base.credits.version}), base.private, base.version)
        else:
            assert isinstance(edited, PrivateConfig)
            candidate = Settings(base.credits, edited.model_copy(update={"version": base.private.version}), base.version)
        if _same_content(candidate, base, doc_name):
            # Only server fields (version, updatedAt, updatedBy) were touched: put them back.
            _write(plan, read, base, frozenset(), _Stamp(now, CONSOLE), rewrite=frozenset({doc_name}))
            plan.result = "unchanged"
            return plan
        final = _write(plan, read, candidate, frozenset({doc_name}), _Stamp(now, CONSOLE))
        after = final.credits if doc_name == "credits" else final.private
        edit = _ConsoleEdit("console_update_configuration", doc_name, expected.to_firestore(), after.to_firestore())
        _audit_console(plan, client, edit, now)
        plan.result = "accepted"
        return plan

    return run(client, step, lock_key="config")


def _validate_edit(name: DocumentName, data: dict[str, Any] | None) -> CreditConfig | PrivateConfig:
    if data is None:
        raise ConfigProblems({name: "the document was deleted"})
    return parse_credits(data) if name == "credits" else parse_private(data)


def _same(data: dict[str, Any], expected: CreditConfig | PrivateConfig) -> bool:
    """Whether a stored document is exactly what the applied configuration says it is."""
    return data == expected.to_firestore()


def _same_content(candidate: Settings, base: Settings, name: DocumentName) -> bool:
    if name == "credits":
        return candidate.credits.content() == base.credits.content()
    return candidate.private.content() == base.private.content()


def _base_or_defaults(read: _Read) -> Settings:
    try:
        return _stored_settings(read.credits, read.private)
    except ConfigProblems:
        return Settings(CreditConfig(), PrivateConfig(), 0)


def _bounded(data: dict[str, Any] | None) -> Any:
    """A damaged document as an audit entry can hold it (a huge one is summarised)."""
    if data is None:
        return None
    try:
        text = json.dumps(data, default=str)
    except (TypeError, ValueError):
        return {"omitted": "not representable"}
    if len(text) > _AUDIT_VALUE_LIMIT:
        return {"omitted": f"{len(text)} bytes", "keys": sorted(str(k) for k in data)[:100]}
    return json.loads(text)


@dataclass(frozen=True)
class _ConsoleEdit:
    """A hand edit of ``system_config/{name}`` as the audit trail records it: what the backend
    did about it, the document before and after, and the invalid fields of a reverted one.
    """

    action: str
    name: DocumentName
    before: Any
    after: Any
    errors: dict[str, str] | None = None


def _audit_console(plan: Plan[Any], client: firestore.Client, edit: _ConsoleEdit, now: dt.datetime) -> None:
    errors = edit.errors
    entry = audit.entry(
        CONSOLE,
        ClientContext(user_agent="firestore-trigger"),
        audit.Change(
            edit.action,
            f"{db.SYSTEM_CONFIG}/{edit.name}",
            edit.before,
            edit.after,
            note=None if errors is None else "invalid fields: " + ", ".join(f"{k} ({v})" for k, v in sorted(errors.items())),
        ),
        now,
    )
    if errors is not None:
        entry["errors"] = errors
    audit.add(plan, client, entry)


def _notify_reverted(
    plan: Plan[Any], client: firestore.Client, document: str, message: str, now: dt.datetime, **extra: Any
) -> None:
    """Tell the admins a configuration document that was edited by hand was put back."""
    notifications.add(plan, client, notifications.document("config_reverted", "high", message, now, document=document, **extra))


def check_applied(client: firestore.Client, clock: Clock, name: str) -> str:
    """Check ``applied_config/{name}`` after a write (the trigger). Returns ``ignored``,
    ``unchanged`` (this module's own write: the seal matches) or ``reverted`` (a hand edit or
    a deletion, rebuilt from the checked editable documents, audited and notified).
    """
    if name not in (CURRENT_DOC, TERMS_DOC):
        return "ignored"

    def step(attempt: Attempt) -> Plan[str]:
        now = clock.now()
        read = _Read.of(attempt)
        snap = read.current if name == CURRENT_DOC else read.terms
        data = snap.to_dict() if snap.exists else None
        if sealed(data) and read.applied_settings() is not None:
            return Plan(result="unchanged")
        # Name the document that was edited (either trigger may be the first to see it).
        edited = name
        if name == TERMS_DOC and not sealed(read.current.to_dict() if read.current.exists else None):
            edited, data = CURRENT_DOC, read.current.to_dict() if read.current.exists else None
        base = _base_or_defaults(read)
        plan: Plan[str] = Plan()
        _write(plan, read, base, frozenset(), _Stamp(now, CONSOLE))
        after = _applied_document(base) if edited == CURRENT_DOC else _terms_document(base)
        path = f"{db.APPLIED_CONFIG}/{edited}"
        entry = audit.entry(
            CONSOLE,
            ClientContext(user_agent="firestore-trigger"),
            audit.Change(
                "revert_applied_configuration",
                path,
                _bounded(data),
                after,
                note="the applied configuration is written by the backend only; rebuilt from system_config",
            ),
            now,
        )
        audit.add(plan, client, entry)
        message = (
            f"{path} was {'deleted' if data is None else 'edited by hand'}; it is written by the backend "
            "only and was rebuilt from system_config (change the configuration there)"
        )
        _notify_reverted(plan, client, path, message, now)
        plan.result = "reverted"
        return plan

    return run(client, step, lock_key="config")


# ------------------------------------------------------------------ migration


def migrate(client: firestore.Client, clock: Clock) -> str:
    """Move an older configuration into the two documents and bootstrap the applied copy.

    Idempotent: returns ``migrated``, ``bootstrapped`` or ``current`` (nothing to do).
    """

    def step(attempt: Attempt) -> Plan[str]:
        now = clock.now()
        read = _Read.of(attempt)
        data = read.credits.to_dict() if read.credits.exists else None
        legacy = data is not None and split_legacy(data)[1] is not None
        if legacy:
            return _migration_plan(client, read, now)
        editable: tuple[tuple[DocumentName, Snapshot], ...] = (("credits", read.credits), ("moderation", read.private))
        missing: frozenset[DocumentName] = frozenset(name for name, snap in editable if not snap.exists)
        if read.current.exists and read.applied_settings() is not None and not missing:
            return Plan(result="current")
        plan: Plan[str] = Plan()
        base = read.applied_settings() or _base_or_defaults(read)
        # The editable documents are created too, so an admin finds them in the console.
        _write(plan, read, base, frozenset(), _Stamp(now, MIGRATION), rewrite=missing)
        audit.add(
            plan,
            client,
            audit.entry(
                MIGRATION, ClientContext(), audit.Change("bootstrap_configuration", db.APPLIED_CONFIG, None, base.to_json()), now
            ),
        )
        plan.result = "bootstrapped"
        return plan

    return run(client, step, lock_key="config")


def _migration_plan(client: firestore.Client, read: _Read, now: dt.datetime) -> Plan[str]:
    data = read.credits.to_dict() or {}
    public, private_part = split_legacy(data)
    errors: dict[str, str] = {}
    try:
        credits = parse_credits(public)
    except ConfigProblems as err:
        errors.update(err.errors)
        credits = CreditConfig()
    # The embedded part wins over an existing system_config/moderation: the migration removes
    # the embedded part in the same commit that writes the separate document, so both exist
    # only when the older shape was written again (an admin's paste, an old deployment's
    # script), and that write is the newest word. Preferring the separate document made the
    # outcome depend on a race: a trigger that had just restored system_config/moderation
    # (from the applied copy, or the defaults) beat the migration, and the migrated settings
    # lost to what it restored.
    existing_private = read.private.to_dict() if read.private.exists else None
    try:
        private = parse_private(private_part if private_part else existing_private)
    except ConfigProblems as err:
        errors.update({f"moderation:{k}": v for k, v in err.errors.items()})
        try:
            private = parse_private(existing_private) if existing_private else PrivateConfig()
        except ConfigProblems:
            private = PrivateConfig()
    version = max(credits.version, private.version)
    settings = Settings(credits.model_copy(update={"version": version}), private.model_copy(update={"version": version}), version)
    plan: Plan[str] = Plan()
    _write(plan, read, settings, frozenset(), _Stamp(now, MIGRATION), rewrite=frozenset({"credits", "moderation"}))
    audit.add(
        plan,
        client,
        audit.entry(
            MIGRATION,
            ClientContext(),
            audit.Change(
                "migrate_configuration",
                f"{db.SYSTEM_CONFIG}/credits",
                _bounded(data),
                settings.to_json(),
                note="moderation and abuse moved to system_config/moderation"
                + ("; invalid parts replaced by defaults: " + ", ".join(sorted(errors)) if errors else ""),
            ),
            now,
        ),
    )
    plan.result = "migrated"
    return plan


__all__ = [
    "SERVER_FIELDS",
    "Applied",
    "applied_ref",
    "check_applied",
    "check_edit",
    "current_settings",
    "editable_ref",
    "field_errors",
    "load",
    "migrate",
    "moderation_policy",
    "policy_of",
    "terms_ref",
    "update",
]
