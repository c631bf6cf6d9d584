"""Sliding-log limits are exact at the boundary and honest about when to retry."""

from credits.policy import window

HOUR = 3600
T = 10_000_000_000  # some epoch ms


def test_admits_exactly_limit_requests_in_any_window() -> None:
    hits: list[int] = []
    for i in range(50):
        d = window.decide(hits, T + i * 1000, 50, HOUR)
        assert d.allowed
        hits = d.with_hit(T + i * 1000, 50)
    d = window.decide(hits, T + 50_000, 50, HOUR)
    assert not d.allowed
    # the first hit leaves the window at T + 3600 s; we are 50 s in
    assert d.retry_after_seconds == 3550


def test_a_request_is_admitted_the_moment_the_oldest_leaves() -> None:
    hits = [T + i for i in range(3)]
    assert not window.decide(hits, T + HOUR * 1000 - 1, 3, HOUR).allowed
    assert window.decide(hits, T + HOUR * 1000, 3, HOUR).allowed


def test_no_burst_across_a_clock_hour_boundary() -> None:
    # fixed windows would admit 2 x limit around the boundary; a sliding log does not
    hits: list[int] = []
    admitted = 0
    for second in range(HOUR - 30, HOUR + 30):
        now = T + second * 1000
        d = window.decide(hits, now, 10, HOUR)
        if d.allowed:
            admitted += 1
            hits = d.with_hit(now, 10)
    assert admitted == 10


def test_log_is_bounded_by_the_limit() -> None:
    hits = list(range(T, T + 500))
    d = window.decide(hits, T + 1000, 1000, HOUR)
    assert len(d.with_hit(T + 1000, 100)) == 100


def test_malformed_stored_logs_are_tolerated() -> None:
    assert window.decide("garbage", T, 5, HOUR).allowed
    assert window.decide([None, "x", True, 1.5, T - 1], T, 1, HOUR).allowed is False


def test_lowered_limit_refuses_until_enough_entries_leave() -> None:
    hits = [T + i * 1000 for i in range(10)]
    d = window.decide(hits, T + 20_000, 5, HOUR)
    assert not d.allowed
    # five newest entries still block; the 6th newest (index 5, at T+5 s) must leave
    assert d.retry_after_seconds == HOUR - 15


def test_expiry_is_the_newest_entry_plus_the_window() -> None:
    assert window.expires_at_ms([T, T + 5], 10) == T + 5 + 10_000
    assert window.expires_at_ms([], 10) is None


def test_an_address_log_tags_each_request_with_its_user_for_the_fair_share() -> None:
    from credits.store.rate_limit import IpRecord, parse_ip_record, user_tag

    a, b = user_tag("alice"), user_tag("bob")
    assert a != b and len(a) == 10 and "alice" not in a
    record = parse_ip_record({"hits": [1_000, 2_000, 3_000], "hitUsers": [a, b, a], "signupGrants": []})
    assert record.hits_of(a) == (1_000, 3_000) and record.hits_of(b) == (2_000,)
    hits, users = record.with_request(601_500, 600, 3, b)  # the first entry has left the window
    assert (hits, users) == ([2_000, 3_000, 601_500], [b, a, b])
    untagged = IpRecord((1_000, 2_000), ())
    assert untagged.hits_of(a) == ()  # a log from before the tags counts toward no one's share
    assert untagged.with_request(2_500, 600, 5, a) == ([1_000, 2_000, 2_500], ["", "", a])
