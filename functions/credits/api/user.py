"""The callables a signed-in web client (and the generator pipeline) uses."""

from __future__ import annotations

from typing import Any

from credits.api.transport import Call, callable_endpoint
from credits.features.charging import ChargeRequest, charge
from credits.features.lifecycle import StatusRequest, update_status
from credits.features.status import StatusQuery, credit_status


@callable_endpoint("validateAndDeductCredits", timeout_sec=60)
def validate_and_deduct_credits(call: Call, data: Any) -> dict[str, Any]:
    """Check and charge one generation; returns its activity (status ``pending``)."""
    request = ChargeRequest.parse(data)
    return charge(call.client, call.clock, call.caller, call.ctx, request, deadline=call.deadline, stats_out=call.stats)


@callable_endpoint("updateAIActivityStatus", timeout_sec=60)
def update_ai_activity_status(call: Call, data: Any) -> dict[str, Any]:
    """Move a generation along its lifecycle; settles or refunds when it ends."""
    request = StatusRequest.parse(data)
    return update_status(call.client, call.clock, call.caller, call.ctx, request, deadline=call.deadline, stats_out=call.stats)


@callable_endpoint("getCreditStatus", timeout_sec=60)
def get_credit_status(call: Call, data: Any) -> dict[str, Any]:
    """Balance, status, prices, remaining rate limits and an optional cost preview."""
    query = StatusQuery.parse(data)
    return credit_status(call.client, call.clock, call.caller, call.ctx, query, deadline=call.deadline, stats_out=call.stats)
