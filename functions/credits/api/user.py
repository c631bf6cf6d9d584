"""The callables a signed-in web client (and the generator pipeline) uses."""

from __future__ import annotations

from typing import Any

from credits.api.transport import callable_endpoint
from credits.features.charging import ChargeRequest, charge
from credits.features.command import Command
from credits.features.lifecycle import StatusRequest, update_status
from credits.features.status import StatusQuery, credit_status
from credits.vocab.contract.callables import ChargeResponse, CreditStatusResponse, StatusResponse


@callable_endpoint("validateAndDeductCredits", timeout_sec=60)
def validate_and_deduct_credits(cmd: Command, data: Any) -> ChargeResponse:
    """Check and charge one generation; returns its activity (status ``pending``)."""
    return charge(cmd, ChargeRequest.parse(data))


@callable_endpoint("updateAIActivityStatus", timeout_sec=60)
def update_ai_activity_status(cmd: Command, data: Any) -> StatusResponse:
    """Move a generation along its lifecycle; settles or refunds when it ends."""
    return update_status(cmd, StatusRequest.parse(data))


@callable_endpoint("getCreditStatus", timeout_sec=60)
def get_credit_status(cmd: Command, data: Any) -> CreditStatusResponse:
    """Balance, status, prices, remaining rate limits and an optional cost preview."""
    return credit_status(cmd, StatusQuery.parse(data))
