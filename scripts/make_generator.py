#!/usr/bin/env python3
"""Make an account the generator (custom claim ``generator: true``), or revoke it, with an audit entry.

The generator is the service identity of the server-side pipeline that runs the models and
reports how each generation ended (``updateAIActivityStatus``). It is not an admin. Grant it
to the pipeline's own account, with the Admin SDK's authority:

    # against the local emulators (scripts/start.sh running)
    .venv/bin/python scripts/make_generator.py --emulators --email pipeline@example.com

    # against a real project, with a service-account key or `gcloud auth application-default login`
    GOOGLE_APPLICATION_CREDENTIALS=key.json .venv/bin/python scripts/make_generator.py \\
        --project my-project --email pipeline@example.com

    .venv/bin/python scripts/make_generator.py --emulators --uid UID --revoke

Other claims (``admin``) are kept. The account must sign in again (or refresh its ID token)
before the claim is in its token. See scripts/roles.py.
"""

from __future__ import annotations

import roles

if __name__ == "__main__":
    roles.main("generator", __doc__)
