// Pure logic of the client, no emulator: the error mapping, the retry policy and the countdown.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AccountSuspended,
  BackendUnavailable,
  Contention,
  InsufficientCredits,
  InternalError,
  InvalidRequest,
  NetworkError,
  NotAllowed,
  PromptRejected,
  RateLimited,
  Unauthenticated,
  backoffDelay,
  countdown,
  formatSeconds,
  newRequestId,
  toCreditsError,
  toProducts,
  withRetry,
} from "../dist/index.js";

const fnError = (code, message, details) => Object.assign(new Error(message), { code: `functions/${code}`, details });

describe("toCreditsError", () => {
  it("maps every contract reason to its class with its details", () => {
    const cases = [
      ["invalid-argument", { reason: "invalid_request", errors: { quantity: "too large" } }, "InvalidRequest"],
      ["invalid-argument", { reason: "prompt_rejected", category: "violence" }, "PromptRejected"],
      ["permission-denied", { reason: "account_suspended" }, "AccountSuspended"],
      ["permission-denied", { reason: "ip_blocked" }, "IpBlocked"],
      ["permission-denied", { reason: "not_owner" }, "NotOwner"],
      ["permission-denied", { reason: "admin_required" }, "AdminRequired"],
      ["permission-denied", { reason: "not_allowed", action: "settle" }, "NotAllowed"],
      ["resource-exhausted", { reason: "rate_limited", scope: "ip", limit: 5, windowSeconds: 600, retryAfterSeconds: 41.2 }, "RateLimited"],
      ["failed-precondition", { reason: "insufficient_credits", required: 50, available: 20 }, "InsufficientCredits"],
      ["failed-precondition", { reason: "invalid_transition", from: "completed", to: "processing" }, "InvalidTransition"],
      ["failed-precondition", { reason: "data_invalid", document: "users/u1" }, "DataInvalid"],
      ["failed-precondition", { reason: "config_invalid" }, "ConfigInvalid"],
      ["failed-precondition", { reason: "payments_disabled" }, "PaymentsDisabled"],
      ["not-found", { reason: "not_found" }, "NotFound"],
      ["aborted", { reason: "contention" }, "Contention"],
      ["unavailable", { reason: "backend_unavailable" }, "BackendUnavailable"],
      ["unauthenticated", { reason: "unauthenticated" }, "Unauthenticated"],
    ];
    for (const [code, details, name] of cases) {
      const err = toCreditsError(fnError(code, "refused [400]", details));
      assert.equal(err.constructor.name, name, `${details.reason}`);
      assert.equal(err.reason, details.reason);
      assert.equal(err.code, code);
      assert.deepEqual(err.details, details);
    }
  });

  it("exposes the typed fields a page needs", () => {
    const low = toCreditsError(fnError("failed-precondition", "x", { reason: "insufficient_credits", required: 50, available: 20 }));
    assert.ok(low instanceof InsufficientCredits);
    assert.deepEqual([low.required, low.available, low.shortfall], [50, 20, 30]);
    const limited = toCreditsError(fnError("resource-exhausted", "x", { reason: "rate_limited", scope: "ip", limit: 5, windowSeconds: 600, retryAfterSeconds: 41.2 }));
    assert.ok(limited instanceof RateLimited);
    assert.deepEqual([limited.scope, limited.limit, limited.windowSeconds, limited.retryAfterSeconds], ["ip", 5, 600, 42]);
    const bad = toCreditsError(fnError("invalid-argument", "x", { reason: "invalid_request", errors: { prompt: "empty" } }));
    assert.ok(bad instanceof InvalidRequest);
    assert.deepEqual(bad.errors, { prompt: "empty" });
    const rejected = toCreditsError(fnError("invalid-argument", "x", { reason: "prompt_rejected", category: "weapons" }));
    assert.ok(rejected instanceof PromptRejected);
    assert.equal(rejected.category, "weapons");
    const denied = toCreditsError(fnError("permission-denied", "x", { reason: "not_allowed", action: "settle" }));
    assert.ok(denied instanceof NotAllowed);
    assert.equal(denied.action, "settle");
  });

  it("treats the SDK's answers without a body as no answer, and the backend's own internal as internal", () => {
    assert.ok(toCreditsError(fnError("internal", "internal [0]")) instanceof NetworkError); // fetch failed
    assert.ok(toCreditsError(fnError("internal", "internal [500]")) instanceof NetworkError); // a proxy's bare 500
    assert.ok(toCreditsError(fnError("deadline-exceeded", "deadline-exceeded")) instanceof NetworkError);
    assert.ok(toCreditsError(new TypeError("Failed to fetch")) instanceof NetworkError);
    const internal = toCreditsError(fnError("internal", "Internal error. [500]"));
    assert.ok(internal instanceof InternalError);
    assert.equal(internal.reason, "internal");
  });

  it("maps a refusal without details.reason by its code (the bare 401 included)", () => {
    assert.ok(toCreditsError(fnError("unauthenticated", "Unauthenticated [401]")) instanceof Unauthenticated);
    assert.ok(toCreditsError(fnError("unavailable", "x [503]")) instanceof BackendUnavailable);
    assert.ok(toCreditsError(fnError("aborted", "x [409]")) instanceof Contention);
  });

  it("returns an error that is already mapped unchanged", () => {
    const err = new AccountSuspended("x");
    assert.equal(toCreditsError(err), err);
  });
});

describe("withRetry", () => {
  const noSleep = { sleep: async () => {}, random: () => 0.5 };
  const failing = (errors, value = "ok") => {
    let calls = 0;
    const fn = async () => {
      const e = errors[calls++];
      if (e) throw e;
      return value;
    };
    fn.calls = () => calls;
    return fn;
  };

  it("retries contention and unavailability, then succeeds", async () => {
    const fn = failing([fnError("aborted", "busy", { reason: "contention" }), fnError("unavailable", "down", { reason: "backend_unavailable" })]);
    assert.equal(await withRetry(fn, false, noSleep), "ok");
    assert.equal(fn.calls(), 3);
  });

  it("retries no answer only for idempotent requests", async () => {
    const lost = () => fnError("internal", "internal [0]");
    const safe = failing([lost()]);
    assert.equal(await withRetry(safe, true, noSleep), "ok");
    assert.equal(safe.calls(), 2);
    const unsafe = failing([lost()]);
    await assert.rejects(withRetry(unsafe, false, noSleep), NetworkError);
    assert.equal(unsafe.calls(), 1);
  });

  it("never retries a refusal that asking again cannot change", async () => {
    for (const [code, details] of [
      ["failed-precondition", { reason: "insufficient_credits", required: 10, available: 0 }],
      ["resource-exhausted", { reason: "rate_limited", retryAfterSeconds: 30 }],
      ["invalid-argument", { reason: "prompt_rejected", category: "violence" }],
      ["permission-denied", { reason: "account_suspended" }],
      ["internal", { reason: "internal" }],
    ]) {
      const fn = failing([fnError(code, "no", details)]);
      await assert.rejects(withRetry(fn, true, noSleep), (e) => e.reason === details.reason);
      assert.equal(fn.calls(), 1, details.reason);
    }
  });

  it("gives up after the configured attempts with the last error", async () => {
    const errors = Array.from({ length: 10 }, () => fnError("unavailable", "down", { reason: "backend_unavailable" }));
    const fn = failing(errors);
    const delays = [];
    await assert.rejects(
      withRetry(fn, true, { ...noSleep, attempts: 3, onRetry: (_e, _n, d) => delays.push(d) }),
      BackendUnavailable,
    );
    assert.equal(fn.calls(), 3);
    assert.equal(delays.length, 2);
  });

  it("backs off exponentially with full jitter under a ceiling", () => {
    const opts = { baseDelayMs: 100, maxDelayMs: 1000 };
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, opts, () => 1)), [100, 200, 400, 800, 1000, 1000]);
    assert.equal(backoffDelay(3, opts, () => 0), 0);
  });
});

describe("countdown", () => {
  function fakeClock() {
    let t = 1_000_000;
    const timers = [];
    return {
      now: () => t,
      setTimeout: (fn, ms) => {
        const h = { at: t + ms, fn };
        timers.push(h);
        return h;
      },
      clearTimeout: (h) => timers.splice(timers.indexOf(h), 1),
      jump(ms) {
        t += ms;
      },
      advance(ms) {
        const end = t + ms;
        for (;;) {
          timers.sort((a, b) => a.at - b.at);
          const next = timers[0];
          if (!next || next.at > end) break;
          timers.shift();
          t = Math.max(t, next.at);
          next.fn();
        }
        t = end;
      },
    };
  }

  it("ticks every second from retryAfterSeconds down to zero, then calls onDone", async () => {
    const clock = fakeClock();
    const ticks = [];
    let done = 0;
    const c = countdown(3, (s) => ticks.push(s), { ...clock, onDone: () => done++ });
    assert.deepEqual(ticks, [3]);
    clock.advance(1010);
    assert.deepEqual(ticks, [3, 2]);
    clock.advance(2500);
    assert.deepEqual(ticks, [3, 2, 1, 0]);
    assert.equal(done, 1);
    assert.equal(c.remaining(), 0);
    await c.done;
  });

  it("rounds a fractional wait up and stops when cancelled", () => {
    const clock = fakeClock();
    const ticks = [];
    let done = 0;
    const c = countdown(1.2, (s) => ticks.push(s), { ...clock, onDone: () => done++ });
    assert.deepEqual(ticks, [2]);
    c.cancel();
    clock.advance(10_000);
    assert.deepEqual(ticks, [2]);
    assert.equal(done, 0);
  });

  it("shows the right second after a late wake-up (a throttled tab)", () => {
    const clock = fakeClock();
    const ticks = [];
    countdown(10, (s) => ticks.push(s), clock);
    clock.jump(4500); // the tab slept: the 1-second timer runs 4.5 s late
    clock.advance(0);
    assert.deepEqual(ticks, [10, 6]);
  });

  it("formats seconds as a clock", () => {
    assert.deepEqual([0, 5, 75, 3725].map(formatSeconds), ["0:00", "0:05", "1:15", "1:02:05"]);
  });
});

describe("newRequestId", () => {
  it("is unique and fits the backend's pattern", () => {
    const ids = new Set(Array.from({ length: 1000 }, newRequestId));
    assert.equal(ids.size, 1000);
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_.:-]{1,128}$/);
  });
});

describe("entry points", () => {
  it("the end user's entry ships no admin code; the admin entry has it and re-exports the user's", async () => {
    const { readFileSync } = await import("node:fs");
    const user = await import("../dist/index.js");
    const adminEntry = await import("../dist/admin.js");
    assert.equal("CreditsAdmin" in user, false);
    assert.equal("auditChanges" in user, false);
    assert.equal(typeof adminEntry.CreditsAdmin, "function");
    assert.equal(adminEntry.CreditsClient, user.CreditsClient);
    assert.equal(adminEntry.InsufficientCredits, user.InsufficientCredits);
    assert.doesNotMatch(readFileSync(new URL("../dist/index.js", import.meta.url), "utf8"), /CreditsAdmin/);
  });
});

describe("products on sale", () => {
  it("lists the active packs first, then plans, each by credits", () => {
    const products = toProducts({
      big: { kind: "pack", priceId: "price_b", credits: 500, active: true },
      small: { kind: "pack", priceId: "price_s", credits: 100, expiresInDays: 30, active: true },
      pro: { kind: "plan", priceId: "price_p", planId: "pro", active: true },
      old: { kind: "pack", priceId: "price_o", credits: 50, active: false },
      odd: { kind: "gift", priceId: "price_x" },
    }, { pro: { name: "Pro", monthlyCredits: 1000, rolloverPeriods: 0 } });
    assert.deepEqual(
      products.map((p) => p.id),
      ["small", "big", "pro"],
    );
    assert.equal(products[0].expiresInDays, 30);
    assert.equal(products[2].credits, 1000); // a plan's monthly credits come from its plan
    assert.equal(products[2].planName, "Pro");
    assert.deepEqual(toProducts(undefined), []);
  });
});
