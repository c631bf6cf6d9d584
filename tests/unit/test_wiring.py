"""main.py exports exactly the contract's functions, with the right triggers."""

import importlib
import sys

import pytest

CALLABLES = {
    "validateAndDeductCredits",
    "updateAIActivityStatus",
    "grantCreditsToUser",
    "updateCreditConfiguration",
    "setUserStatus",
    "setUserPlan",
    "grantPromoCredits",
    "setIpBlock",
    "getUsageStats",
    "getCreditStatus",
    "testModeration",
}


@pytest.fixture(scope="module")
def main():  # type: ignore[no-untyped-def]
    sys.modules.pop("main", None)
    import firebase_admin

    module = importlib.import_module("main")
    yield module
    for app in list(firebase_admin._apps.values()):
        firebase_admin.delete_app(app)


def test_every_callable_is_exported_under_its_contract_name(main) -> None:  # type: ignore[no-untyped-def]
    for name in CALLABLES:
        endpoint = getattr(main, name).__firebase_endpoint__
        assert endpoint.entryPoint == name
        assert endpoint.callableTrigger is not None


def test_schedules_are_registered(main) -> None:  # type: ignore[no-untyped-def]
    daily = main.cleanupOldData.__firebase_endpoint__
    hourly = main.resetRateLimits.__firebase_endpoint__
    assert daily.scheduleTrigger["schedule"] == "every 24 hours"
    assert hourly.scheduleTrigger["schedule"] == "every 1 hours"


def test_hand_edits_of_the_configuration_are_checked_by_a_trigger(main) -> None:  # type: ignore[no-untyped-def]
    endpoint = main.onConfigWritten.__firebase_endpoint__
    trigger = endpoint.eventTrigger
    assert trigger["eventType"] == "google.cloud.firestore.document.v1.written"
    assert trigger["eventFilterPathPatterns"]["document"] == "system_config/{docId}"
