"""The public contract as data: every callable's request and response, and every error's
``details``, as pydantic models (docs/contract.md says the same in prose).

This package is vocabulary: it imports pydantic and the standard library only, never Google
or Firebase, so the client's types, the JSON Schema and the tests can all be derived from it.
From it, ``scripts/gen_contract.py`` writes, and commits:

* ``docs/contract.schema.json``: one JSON Schema with a definition per model, and a table of
  callables (name -> request, response, who may call it);
* ``client/src/contract.gen.ts``: the TypeScript types of the same models, generated from the
  schema by ``json-schema-to-typescript`` (npm), never copied by hand.

``scripts/lint.sh`` fails when either file is stale. The end-to-end tests check every answer
they receive from the emulators against these models (``tests/support/emulators.py``), so a
field the code sends and the contract does not name, or a reason's details that drifted,
fails the suite.
"""

from __future__ import annotations

from credits.vocab.contract.callables import CALLABLES, Callable
from credits.vocab.contract.errors import ERROR_DETAILS, ErrorDetails

__all__ = ["CALLABLES", "ERROR_DETAILS", "Callable", "ErrorDetails"]
