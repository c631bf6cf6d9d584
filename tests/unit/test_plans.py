"""Plan periods: whole calendar months, lazy renewal exactly once, rollover."""

import datetime as dt

import pytest
from credits.features import plans
from credits.vocab.config import CreditConfig, PlanSpec
from credits.vocab.errors import DataInvalid

UTC = dt.UTC


def at(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, 9, 30, tzinfo=UTC)


def test_months_keep_their_day_or_the_last_one() -> None:
    assert plans.add_months(at(2027, 1, 31), 1) == at(2027, 2, 28)
    assert plans.add_months(at(2027, 11, 15), 3) == at(2028, 2, 15)


def test_the_current_period_is_whole_months_on_from_the_last() -> None:
    plan = plans.UserPlan("free", at(2027, 1, 10), at(2027, 2, 10), "auto")
    assert plans.current_period(plan, at(2027, 2, 9)) == (at(2027, 1, 10), at(2027, 2, 10))
    # Idle for two and a half months: the period that contains now, not the missed ones.
    assert plans.current_period(plan, at(2027, 4, 20)) == (at(2027, 4, 10), at(2027, 5, 10))


def test_an_allowance_lapses_rollover_periods_after_its_period() -> None:
    spec = PlanSpec(name="Pro", monthlyCredits=300, rolloverPeriods=2)
    assert plans.bucket_expiry(spec, at(2027, 2, 10)) == at(2027, 4, 10)
    leg = plans.period_leg("u", "pro", spec, at(2027, 1, 10), at(2027, 2, 10))
    assert leg is not None and leg.delta == 300 and str(leg.entry) == "plan_u_pro_20270110T093000Z"
    assert plans.period_leg("u", "zero", PlanSpec(name="Zero", monthlyCredits=0), at(2027, 1, 10), at(2027, 2, 10)) is None


def test_a_damaged_plan_field_is_data_invalid() -> None:
    for raw in ("pro", {"id": "pro"}, {"id": "pro", "periodStart": at(2027, 2, 1), "periodEnd": at(2027, 1, 1)}):
        with pytest.raises(DataInvalid):
            plans.parse_user_plan("users/u", raw)


def test_plans_are_validated_with_the_configuration() -> None:
    assert CreditConfig().plans == {}
    with pytest.raises(ValueError):
        CreditConfig.model_validate({"plans": {"bad id!": {"name": "X", "monthlyCredits": 1}}})
    with pytest.raises(ValueError):
        CreditConfig.model_validate({"plans": {"p": {"name": "X", "monthlyCredits": -1}}})
