"""The contract's models (functions/credits/contract) against the code and the generated files."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from credits.vocab.contract import CALLABLES, ERROR_DETAILS
from credits.vocab.contract.callables import ChargeResponse, CreditStatusResponse
from credits.vocab.errors import CreditsError
from pydantic import ValidationError

ROOT = Path(__file__).resolve().parents[2]


def exported_callables() -> set[str]:
    """The names functions/main.py exports that are callables (scheduled jobs and triggers aside)."""
    tree = ast.parse((ROOT / "functions" / "main.py").read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("credits.api.user", "credits.api.admin", "credits.api.payments"):
            names |= {alias.asname or alias.name for alias in node.names if alias.name != "stripeWebhook"}
    return names


def test_every_exported_callable_has_its_models() -> None:
    assert exported_callables() - set(CALLABLES) == set()


def test_every_domain_error_reason_has_its_details_model() -> None:
    reasons = set()
    stack = list(CreditsError.__subclasses__())
    while stack:
        cls = stack.pop()
        stack += cls.__subclasses__()
        reasons.add(cls.reason)
    assert reasons - set(ERROR_DETAILS) == set()


def test_a_response_with_a_field_the_contract_does_not_name_is_refused() -> None:
    ok = {"activityId": "a", "creditsCharged": 10, "remainingCredits": 90, "status": "pending"}
    ChargeResponse.model_validate(ok)
    with pytest.raises(ValidationError):
        ChargeResponse.model_validate({**ok, "internalNote": "x"})


def test_a_status_without_its_required_fields_is_refused() -> None:
    with pytest.raises(ValidationError):
        CreditStatusResponse.model_validate({"credits": 5})


def test_the_generated_schema_and_typescript_are_fresh() -> None:
    if not (ROOT / "client" / "node_modules" / ".bin" / "json2ts").exists():
        pytest.fail("client/node_modules is missing: run scripts/setup.sh")
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_contract.py"), "--check"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "functions")},
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def doc_error_rows() -> dict[str, str]:
    """docs/contract.md's error table: reason -> the "details also holds" cell."""
    rows = {}
    for line in (ROOT / "docs" / "contract.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`") and cells[1].startswith("`"):
            reason = cells[1].split("`")[1]
            rows[reason] = cells[2]
    return rows


def test_the_docs_error_table_names_every_reason_of_the_models_and_no_other() -> None:
    assert set(doc_error_rows()) == set(ERROR_DETAILS)


def test_the_docs_error_table_names_every_detail_field_of_the_models() -> None:
    rows = doc_error_rows()
    for reason, model in ERROR_DETAILS.items():
        for name, field in model.model_fields.items():
            wire = field.alias or name
            if wire == "reason":
                continue
            assert f"`{wire}`" in rows[reason], f"{reason}: docs/contract.md does not name `{wire}`"


def test_the_docs_describe_every_callable_of_the_models() -> None:
    text = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
    missing = [name for name in CALLABLES if f"### {name}" not in text and f"`{name} " not in text and f"`{name}`" not in text]
    assert missing == []


def test_the_end_to_end_helper_refuses_an_answer_outside_the_contract() -> None:
    from tests.support.emulators import CallResult, check_against_contract

    good = {"activityId": "a", "creditsCharged": 10, "remainingCredits": 90, "status": "pending"}
    check_against_contract("validateAndDeductCredits", CallResult(200, {"result": good}))
    with pytest.raises(AssertionError, match="outside the contract"):
        check_against_contract("validateAndDeductCredits", CallResult(200, {"result": {**good, "extra": 1}}))
    with pytest.raises(AssertionError, match="outside the contract"):
        error = {"status": "FAILED_PRECONDITION", "details": {"reason": "insufficient_credits", "required": 5}}
        check_against_contract("validateAndDeductCredits", CallResult(400, {"error": error}))
    with pytest.raises(AssertionError, match="not in the contract"):
        error = {"status": "FAILED_PRECONDITION", "details": {"reason": "made_up"}}
        check_against_contract("validateAndDeductCredits", CallResult(400, {"error": error}))
