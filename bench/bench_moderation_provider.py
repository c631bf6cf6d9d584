"""What the moderation second opinion costs on top of the service's own latency.

    .venv/bin/python bench/bench_moderation_provider.py [--calls 300] [--json PATH]

Needs no emulator: it starts the local ``moderateText`` server (tests/support/fake_language.py,
which answers at once) and times, on one thread, alternating in slices so a busy machine
slows all alike:

* ``raw HTTP``: the same POST with ``requests`` and a kept-alive session (the floor: loopback,
  the server, JSON);
* ``client``: ``LanguageServiceClient.moderate_text`` on the REST transport, called directly;
* ``second_opinion``: the whole provider (worker-thread hand-off and deadline, breaker, mapping).

The differences are the client library's cost and the provider's own. It also times the
client's creation (once per process, on the first call) and the import of the client library.
Against the real service, add the service's own latency (a network round trip to
language.googleapis.com plus the model) to the ``second_opinion`` figure.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import benchlib
import requests
from credits.moderation.provider import ProviderSettings, SecondOpinion, make_client
from google.cloud import language_v2

from tests.support.fake_language import PATH, FakeLanguageServer

PROMPT = "a watercolour of a lighthouse at dawn, gulls over a calm sea, " * 8  # ~500 characters
SLICES = 6


def import_ms() -> float:
    """The client library's import time in a fresh interpreter, after what the functions import anyway."""
    code = (
        "import time, google.cloud.firestore, google.api_core.exceptions, google.auth\n"
        "t = time.perf_counter()\n"
        "import google.cloud.language_v2\n"
        "print((time.perf_counter() - t) * 1e3)\n"
    )
    runs = [
        float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout) for _ in range(3)
    ]
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per variant (default 300)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    with FakeLanguageServer() as server:
        server.scores = {"Sexual": 0.12, "Violent": 0.05, "Toxic": 0.08}
        session = requests.Session()
        body = {"document": {"type": "PLAIN_TEXT", "content": PROMPT}, "modelVersion": 2}

        def raw() -> Any:
            response = session.post(server.url + PATH, json=body, timeout=5)
            response.raise_for_status()
            return response.json()

        started = time.perf_counter()
        client = make_client(server.url)
        create_ms = (time.perf_counter() - started) * 1e3
        request = language_v2.ModerateTextRequest(
            document=language_v2.Document(content=PROMPT, type_=language_v2.Document.Type.PLAIN_TEXT),
            model_version=language_v2.ModerateTextRequest.ModelVersion.MODEL_VERSION_2,
        )

        def direct() -> Any:
            return client.moderate_text(request=request, retry=None, timeout=5)

        provider = SecondOpinion(endpoint=server.url)
        settings = ProviderSettings(enabled=True)

        def whole() -> Any:
            return provider.ask(PROMPT, settings, 5.0)

        variants: dict[str, Callable[[], Any]] = {"raw HTTP": raw, "client": direct, "second_opinion": whole}
        for fn in variants.values():  # warm: connections, the provider's client and worker thread
            for _ in range(10):
                fn()
        samples: dict[str, list[float]] = {name: [] for name in variants}
        per_slice = max(1, args.calls // SLICES)
        for _ in range(SLICES):
            for name, fn in variants.items():
                for _ in range(per_slice):
                    seconds, _, error = benchlib.timed(fn)
                    if error is not None:
                        raise error
                    samples[name].append(seconds)
        requests_seen = len(server.requests)

    summaries = {name: benchlib.summary_ms(values) for name, values in samples.items()}
    floor = summaries["raw HTTP"]["p50_ms"]
    rows = [
        [name, s["n"], s["p50_ms"], s["p90_ms"], s["p99_ms"], s["mean_ms"], s["p50_ms"] - floor] for name, s in summaries.items()
    ]
    print(
        benchlib.table(
            ["variant", "calls", "p50 ms", "p90 ms", "p99 ms", "mean ms", "p50 over raw ms"],
            rows,
            title=f"moderateText against the local server ({len(PROMPT)}-character prompt, {requests_seen} requests served)",
        )
    )
    imported = import_ms()
    print(f"\nclient creation (once per process): {create_ms:.1f} ms; importing google.cloud.language_v2: {imported:.1f} ms")
    benchlib.write_json(
        args.json,
        {
            "machine": benchlib.machine(),
            "prompt_chars": len(PROMPT),
            "variants": summaries,
            "client_creation_ms": create_ms,
            "import_ms": imported,
        },
    )


if __name__ == "__main__":
    main()
