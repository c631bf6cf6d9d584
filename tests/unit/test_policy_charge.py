"""The charge decision, as worked examples of the contract's order of checks."""

import pytest
from credits.moderation import Verdict
from credits.policy.charge import Approval, ChargeState, Refusal, Window, decide

NOW = 10_000_000_000  # epoch ms
HOUR = 3600


def state(**changes: object) -> ChargeState:
    base = {
        "ip_blocked": False,
        "suspended": False,
        "balance": 100,
        "cost": 10,
        "user_window": Window((), 50, HOUR),
        "ip_window": Window((), 100, 600),
        "ip_share": Window((), 50, 600),
        "verdict": None,
        "now_ms": NOW,
    }
    base.update(changes)
    return ChargeState(**base)  # type: ignore[arg-type]


def full(limit: int, seconds: int, oldest_age_s: int) -> Window:
    """A window holding ``limit`` hits, the oldest ``oldest_age_s`` seconds ago."""
    start = NOW - oldest_age_s * 1000
    return Window(tuple(start + i for i in range(limit)), limit, seconds)


def test_a_user_with_credits_and_room_is_charged() -> None:
    decision = decide(state())
    assert isinstance(decision, Approval)
    assert (decision.cost, decision.remaining) == (10, 90)
    assert decision.user_hits == [NOW] and decision.ip_hits == [NOW]


def test_the_address_comes_first_a_suspended_user_behind_a_blocked_address_is_ip_blocked() -> None:
    decision = decide(state(ip_blocked=True, suspended=True, balance=0))
    assert isinstance(decision, Refusal) and decision.reason == "ip_blocked"
    assert not decision.user_refusal


def test_a_suspended_account_is_refused_before_any_limit() -> None:
    decision = decide(state(suspended=True, user_window=full(50, HOUR, 10)))
    assert isinstance(decision, Refusal) and decision.reason == "account_suspended"


def test_the_fifty_first_image_in_an_hour_waits_for_the_oldest_to_leave() -> None:
    decision = decide(state(user_window=full(50, HOUR, oldest_age_s=600)))
    assert isinstance(decision, Refusal) and decision.reason == "rate_limited"
    details = decision.error.details
    assert details["scope"] == "user" and details["limit"] == 50 and details["windowSeconds"] == HOUR
    assert details["retryAfterSeconds"] == HOUR - 600
    assert decision.user_refusal is True  # the user's own limit: counts toward abuse milestones


def test_the_users_limit_is_checked_before_the_addresss() -> None:
    decision = decide(state(user_window=full(50, HOUR, 10), ip_window=full(100, 600, 10)))
    assert isinstance(decision, Refusal) and decision.error.details["scope"] == "user"


def test_a_refusal_by_the_shared_address_limit_is_not_held_against_the_user() -> None:
    decision = decide(state(ip_window=full(100, 600, 60)))
    assert isinstance(decision, Refusal) and decision.error.details["scope"] == "ip"
    assert decision.error.details["retryAfterSeconds"] == 540
    assert decision.user_refusal is False and decision.abuse_severity is None


def test_a_rejected_prompt_is_an_abuse_event_of_its_categorys_severity() -> None:
    decision = decide(state(verdict=Verdict("refuse", "violence", "local", "high")))
    assert isinstance(decision, Refusal) and decision.reason == "prompt_rejected"
    assert decision.error.details["category"] == "violence"
    assert decision.abuse_severity == "high"


def test_moderation_comes_before_the_balance() -> None:
    decision = decide(state(balance=0, verdict=Verdict("refuse", "violence", "local", "medium")))
    assert isinstance(decision, Refusal) and decision.reason == "prompt_rejected"


def test_a_flagged_prompt_is_approved_and_carries_its_verdict() -> None:
    flag = Verdict("flag", "sexual", "local", "low")
    decision = decide(state(verdict=flag))
    assert isinstance(decision, Approval) and decision.cost == 10 and decision.flagged == flag


def test_a_flagged_prompt_still_needs_the_credits() -> None:
    decision = decide(state(balance=5, verdict=Verdict("flag", "sexual", "local", "low")))
    assert isinstance(decision, Refusal) and decision.reason == "insufficient_credits"


def test_five_credits_do_not_buy_an_image_at_ten() -> None:
    decision = decide(state(balance=5))
    assert isinstance(decision, Refusal) and decision.reason == "insufficient_credits"
    assert decision.error.details == {"required": 10, "available": 5}


def test_exactly_enough_is_enough() -> None:
    decision = decide(state(balance=10))
    assert isinstance(decision, Approval) and decision.remaining == 0


def test_an_unknown_address_has_no_address_limit() -> None:
    decision = decide(state(ip_window=None))
    assert isinstance(decision, Approval) and decision.ip_hits is None


def test_a_free_generation_is_still_a_charge() -> None:
    decision = decide(state(cost=0, balance=0))
    assert isinstance(decision, Approval) and decision.cost == 0


@pytest.mark.parametrize("count", [0, 49])
def test_the_window_admits_up_to_its_limit(count: int) -> None:
    window = Window(tuple(NOW - 1000 - i for i in range(count)), 50, HOUR)
    assert isinstance(decide(state(user_window=window)), Approval)


def test_the_users_limit_refuses_a_request_from_an_unknown_address_without_counting_an_address() -> None:
    decision = decide(state(user_window=full(50, HOUR, 10), ip_window=None))
    assert isinstance(decision, Refusal) and decision.error.details["scope"] == "user"
    assert decision.user_refusal


# ------------------------------------------------------------------ a shared address (issue 20, hole 3)


@pytest.mark.parametrize(
    "refused,reason",
    [({"balance": 5}, "insufficient_credits"), ({"verdict": Verdict("refuse", "violence", "local", "high")}, "prompt_rejected")],
)
def test_refused_attempts_do_not_count_in_the_addresss_window_but_against_the_user(refused: dict, reason: str) -> None:
    """Was: every refused attempt took a place in the address's window, so one free account
    behind a shared address locked everyone there out for ten minutes."""
    decision = decide(state(**refused))
    assert isinstance(decision, Refusal) and decision.reason == reason
    assert decision.user_refusal or decision.abuse_severity is not None  # the refused user's own record


def test_only_a_passed_charge_takes_a_place_in_the_addresss_window() -> None:
    earlier = NOW - 5_000
    decision = decide(state(ip_window=Window((earlier,), 100, 600)))
    assert isinstance(decision, Approval) and decision.ip_hits == [earlier, NOW]


def test_one_user_cannot_take_more_than_its_share_of_its_addresss_window() -> None:
    """Half the address's window by default: 50 of 100 requests in 10 minutes. The user's 51st is
    refused with scope ip and its share as the limit, and it is held against that user alone."""
    mine = tuple(NOW - 300_000 + i for i in range(50))
    decision = decide(state(ip_window=Window(mine, 100, 600), ip_share=Window(mine, 50, 600)))
    assert isinstance(decision, Refusal) and decision.reason == "rate_limited"
    details = decision.error.details
    assert (details["scope"], details["limit"], details["windowSeconds"]) == ("ip", 50, 600)
    assert details["retryAfterSeconds"] == 300
    assert decision.user_refusal
    # another user behind the same address still has its place
    assert isinstance(decide(state(ip_window=Window(mine, 100, 600), ip_share=Window((), 50, 600))), Approval)


def test_a_refusal_the_whole_address_would_get_is_not_held_against_the_user_even_past_its_share() -> None:
    mine = tuple(NOW - 300_000 + i for i in range(100))
    decision = decide(state(ip_window=Window(mine, 100, 600), ip_share=Window(mine, 50, 600)))
    assert isinstance(decision, Refusal) and decision.error.details["limit"] == 100
    assert not decision.user_refusal
