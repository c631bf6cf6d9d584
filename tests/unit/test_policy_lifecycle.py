"""The trust model and the transition table: every cell of the contract's table as a case."""

import datetime as dt
from decimal import Decimal

import pytest
from credits.policy.lifecycle import Report, Role, authorize, decide, is_stuck, role_of
from credits.vocab.activity import ActivityState
from credits.vocab.errors import InvalidTransition, NotAllowed, NotOwner

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def activity(status: str = "pending", charged: int = 10, unit: str = "10", kind: str = "image", **extra: object) -> ActivityState:
    return ActivityState(
        id="a1",
        user_id="owner",
        type=kind,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        credits_charged=charged,
        unit_cost=Decimal(unit),
        created_at=T0,
        updated_at=extra.get("updated_at", T0),  # type: ignore[arg-type]
        started_at=extra.get("started_at"),  # type: ignore[arg-type]
        device_id=None,
        ip=None,
        last_update=None,
        data={},
    )


# ------------------------------------------------------------------ who is who


def test_roles() -> None:
    assert role_of("x", is_admin=True, is_generator=False, owner_uid="owner") is Role.ADMIN
    assert role_of("x", is_admin=False, is_generator=True, owner_uid="owner") is Role.GENERATOR
    assert role_of("owner", is_admin=False, is_generator=False, owner_uid="owner") is Role.OWNER
    assert role_of("owner", is_admin=False, is_generator=True, owner_uid="owner") is Role.GENERATOR
    with pytest.raises(NotOwner):
        role_of("stranger", is_admin=False, is_generator=False, owner_uid="owner")


# ------------------------------------------------------------------ the table

TRUSTED = [Role.GENERATOR, Role.ADMIN, Role.SYSTEM]
EVERY_REPORT = [
    Report("processing", progress=Decimal(40)),
    Report("completed"),
    Report("completed", actual_quantity=Decimal(1)),
    Report("failed"),
    Report("failed", error="model crashed"),
]


@pytest.mark.parametrize("role", TRUSTED)
@pytest.mark.parametrize("current", ["pending", "processing"])
@pytest.mark.parametrize(
    "report", EVERY_REPORT, ids=lambda r: f"{r.status}{'+q' if r.actual_quantity is not None else ''}{'+e' if r.error else ''}"
)
def test_trusted_reporters_may_report_every_transition(role: Role, current: str, report: Report) -> None:
    authorize(role, current, report, owner_reports_outcome=False)  # type: ignore[arg-type]


@pytest.mark.parametrize("current", ["pending", "processing"])
def test_the_owner_reports_progress(current: str) -> None:
    authorize(Role.OWNER, current, Report("processing", progress=Decimal(50)), owner_reports_outcome=False)  # type: ignore[arg-type]


@pytest.mark.parametrize("current", ["pending", "processing"])
def test_the_owner_may_complete_keeping_the_full_charge(current: str) -> None:
    authorize(Role.OWNER, current, Report("completed"), owner_reports_outcome=False)  # type: ignore[arg-type]


def test_the_owner_may_not_say_how_much_was_produced() -> None:
    with pytest.raises(NotAllowed) as info:
        authorize(Role.OWNER, "processing", Report("completed", actual_quantity=Decimal(0)), owner_reports_outcome=False)
    assert info.value.details["action"] == "actualQuantity"


def test_the_owner_may_cancel_before_work_started() -> None:
    authorize(Role.OWNER, "pending", Report("failed"), owner_reports_outcome=False)


def test_a_cancel_once_work_started_is_an_invalid_transition() -> None:
    with pytest.raises(InvalidTransition) as info:
        authorize(Role.OWNER, "processing", Report("failed"), owner_reports_outcome=False)
    assert info.value.details == {"from": "processing", "to": "failed"}


def test_the_owner_may_not_give_a_failure_reason() -> None:
    with pytest.raises(NotAllowed) as info:
        authorize(Role.OWNER, "pending", Report("failed", error="changed my mind"), owner_reports_outcome=False)
    assert info.value.details["action"] == "error"


@pytest.mark.parametrize("report", EVERY_REPORT, ids=lambda r: r.status)
def test_with_owner_reports_on_the_owner_reports_like_the_generator(report: Report) -> None:
    authorize(Role.OWNER, "processing", report, owner_reports_outcome=True)


@pytest.mark.parametrize("role", [Role.OWNER, *TRUSTED])
@pytest.mark.parametrize("final", ["completed", "failed"])
@pytest.mark.parametrize("to", ["processing", "completed", "failed"])
def test_final_states_are_final_for_everyone(role: Role, final: str, to: str) -> None:
    with pytest.raises(InvalidTransition):
        authorize(role, final, Report(to), owner_reports_outcome=True)  # type: ignore[arg-type]


# ------------------------------------------------------------------ what an ending does


def test_progress_moves_nothing() -> None:
    outcome = decide(
        activity(), Report("processing", progress=Decimal(40)), Role.OWNER, balance=90, owner_reports_outcome=False, now=T0
    )
    assert outcome.settlement is None and outcome.delta == 0
    assert outcome.activity_fields["startedAt"] == T0 and outcome.activity_fields["progress"] == 40


def test_a_generator_completion_with_fewer_units_refunds_and_is_not_the_owners_doing() -> None:
    act = activity(kind="chat", charged=10, unit="0.01", started_at=T0)
    now = T0 + dt.timedelta(seconds=3)
    outcome = decide(
        act, Report("completed", actual_quantity=Decimal(600)), Role.GENERATOR, balance=90, owner_reports_outcome=False, now=now
    )
    assert outcome.settlement is not None and outcome.delta == 4
    assert outcome.entry is not None and outcome.entry[0].value == "settle"
    assert outcome.owner_refund is False and outcome.usage.owner_refunds == 0
    assert outcome.usage.credits_used == -4 and outcome.usage.refunds == 1
    assert outcome.processing_ms == 3000 and outcome.activity_fields["endedBy"] == "generator"


def test_an_owner_cancel_is_an_owner_refund() -> None:
    outcome = decide(activity(), Report("failed"), Role.OWNER, balance=90, owner_reports_outcome=False, now=T0)
    assert outcome.delta == 10 and outcome.owner_refund
    assert outcome.usage.owner_refunds == 1 and outcome.usage.owner_refunded_credits == 10
    assert outcome.activity_fields["failureSource"] == "owner"


def test_an_owner_settlement_below_the_charge_is_an_owner_refund() -> None:
    outcome = decide(
        activity(status="processing", kind="video", charged=50, unit="5"),
        Report("completed", actual_quantity=Decimal(0)),
        Role.OWNER,
        balance=50,
        owner_reports_outcome=True,
        now=T0,
    )
    assert outcome.delta == 50 and outcome.owner_refund


def test_the_sweep_refunds_an_abandoned_generation_against_the_owner_only_when_owners_report() -> None:
    stuck = activity(status="processing")
    assert decide(stuck, Report("failed"), Role.SYSTEM, balance=0, owner_reports_outcome=False, now=T0).owner_refund is False
    assert decide(stuck, Report("failed"), Role.SYSTEM, balance=0, owner_reports_outcome=True, now=T0).owner_refund is True


def test_a_free_generation_failing_refunds_nothing_and_counts_no_refund() -> None:
    outcome = decide(activity(charged=0), Report("failed"), Role.OWNER, balance=0, owner_reports_outcome=False, now=T0)
    assert outcome.delta == 0 and outcome.entry is None and not outcome.owner_refund
    assert outcome.usage.failures == 1 and outcome.usage.refunds == 0


def test_stuck_means_unfinished_and_untouched_for_thirty_minutes() -> None:
    old = activity(updated_at=T0 - dt.timedelta(minutes=31))
    assert is_stuck(old, T0)
    assert not is_stuck(activity(updated_at=T0 - dt.timedelta(minutes=29)), T0)
    assert not is_stuck(activity(status="completed", updated_at=T0 - dt.timedelta(hours=2)), T0)


def test_progress_without_a_figure_keeps_the_stored_one_and_the_first_start() -> None:
    started = T0 - dt.timedelta(seconds=20)
    outcome = decide(
        activity(status="processing", started_at=started),
        Report("processing"),
        Role.GENERATOR,
        balance=90,
        owner_reports_outcome=False,
        now=T0,
    )
    assert outcome.status == "processing" and outcome.settlement is None
    assert "progress" not in outcome.activity_fields and "startedAt" not in outcome.activity_fields


@pytest.mark.parametrize("current", ["pending", "processing"])
def test_with_owner_reports_off_the_owners_completion_is_only_a_confirmation(current: str) -> None:
    """Contract revision 3: the owner's ``completed`` (no units) is recorded and ends nothing;
    the generator's later ``completed`` with ``actualQuantity`` still settles."""
    started = activity(current)
    outcome = decide(started, Report("completed"), Role.OWNER, balance=90, owner_reports_outcome=False, now=T0)
    assert outcome.status == current and outcome.settlement is None and outcome.entry is None
    assert outcome.activity_fields == {"ownerConfirmedAt": T0}  # not updatedAt: the sweep still sees it stuck
    assert not outcome.usage and not outcome.owner_refund
    # the generator settles afterwards: 1,000 tokens at 0.01 on a 1-credit charge collects 9 more
    later = decide(
        activity(current, charged=1, unit="0.01", kind="chat"),
        Report("completed", actual_quantity=Decimal(1000)),
        Role.GENERATOR,
        balance=99,
        owner_reports_outcome=False,
        now=T0,
    )
    assert later.status == "completed" and later.delta == -9 and later.activity_fields["creditsCharged"] == 10


@pytest.mark.parametrize("final", ["completed", "failed"])
def test_the_owner_may_confirm_a_generation_that_already_ended(final: str) -> None:
    authorize(Role.OWNER, final, Report("completed"), owner_reports_outcome=False)  # type: ignore[arg-type]
    outcome = decide(activity(final), Report("completed"), Role.OWNER, balance=90, owner_reports_outcome=False, now=T0)
    assert outcome.status == final and outcome.settlement is None
    assert outcome.activity_fields == {}  # nothing is written after an ending


def test_with_owner_reports_on_the_owners_completion_ends_the_generation_keeping_the_charge() -> None:
    outcome = decide(activity(), Report("completed"), Role.OWNER, balance=90, owner_reports_outcome=True, now=T0)
    assert outcome.status == "completed" and outcome.settlement is not None and outcome.delta == 0
    assert outcome.activity_fields["creditsCharged"] == 10 and outcome.activity_fields["refundedCredits"] == 0
    assert not outcome.usage and not outcome.owner_refund


def test_a_generation_never_started_is_timed_from_its_creation() -> None:
    outcome = decide(
        activity(), Report("completed"), Role.GENERATOR, balance=90, owner_reports_outcome=False, now=T0 + dt.timedelta(seconds=7)
    )
    assert outcome.processing_ms == 7000 and outcome.activity_fields["processingTimeMs"] == 7000


def test_a_video_rendered_longer_collects_what_the_balance_allows_and_records_the_rest() -> None:
    # charged 50 for 10 seconds at 5; 12 rendered (60); the user has 7 left
    outcome = decide(
        activity(status="processing", kind="video", charged=50, unit="5"),
        Report("completed", actual_quantity=Decimal(12)),
        Role.GENERATOR,
        balance=7,
        owner_reports_outcome=False,
        now=T0,
    )
    assert outcome.delta == -7 and outcome.entry is not None
    assert (outcome.entry[0].value, outcome.entry[1].value) == ("settle", "settlement_charge")
    assert outcome.activity_fields["creditsCharged"] == 57 and outcome.activity_fields["uncollectedCredits"] == 3
    assert outcome.activity_fields["actualQuantity"] == 12
    assert outcome.usage.credits_used == 7 and outcome.usage.refunds == 0 and not outcome.owner_refund


def test_a_settlement_at_exactly_the_charge_moves_nothing() -> None:
    outcome = decide(
        activity(status="processing", kind="video", charged=50, unit="5"),
        Report("completed", actual_quantity=Decimal(10)),
        Role.OWNER,
        balance=0,
        owner_reports_outcome=True,
        now=T0,
    )
    assert outcome.delta == 0 and outcome.entry is None and not outcome.owner_refund
    assert "uncollectedCredits" not in outcome.activity_fields


def test_a_generator_failure_refunds_everything_and_is_the_products_failure() -> None:
    outcome = decide(
        activity(status="processing"),
        Report("failed", error="out of memory"),
        Role.GENERATOR,
        balance=0,
        owner_reports_outcome=True,
        now=T0,
    )
    assert outcome.delta == 10 and outcome.entry is not None and outcome.entry[1].value == "failure_refund"
    assert outcome.activity_fields["error"] == "out of memory" and outcome.activity_fields["failureSource"] == "generator"
    assert outcome.owner_refund is False and outcome.usage.owner_refunds == 0 and outcome.usage.failures == 1
