#!/usr/bin/env python3
"""Make a user an admin (custom claim ``admin: true``), or revoke it, with an audit entry.

The first admin cannot be made from inside (every admin callable needs an admin), so this
runs with the Admin SDK's own authority:

    # against the local emulators (scripts/start.sh running)
    .venv/bin/python scripts/make_admin.py --emulators --email admin@example.com

    # against a real project, with a service-account key or `gcloud auth application-default login`
    GOOGLE_APPLICATION_CREDENTIALS=key.json .venv/bin/python scripts/make_admin.py \\
        --project my-project --email admin@example.com

    .venv/bin/python scripts/make_admin.py --emulators --uid UID --revoke

Other claims (``generator``) are kept. The user must sign in again (or refresh the ID
token) before the claim is in their token. See scripts/roles.py.
"""

from __future__ import annotations

import roles

if __name__ == "__main__":
    roles.main("admin", __doc__)
