// Pure logic of the admin helpers, no emulator: the pricing form's patch, the backend's field
// errors by form field, the search box, the chart columns, the audit entry's changes, the bounds.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ALL_INDEX_SHARDS,
  MAX_LIVE_ITEMS,
  auditChanges,
  boundedLimit,
  bucketLabel,
  byTypeChartData,
  classifySearch,
  errorsByField,
  groupSeries,
  INDEX_SHARDS,
  millisOf,
  pricingFormOf,
  pricingPatch,
  seriesChartData,
  toAdminActivity,
  toAuditEntry,
} from "../dist/admin.js";

const CONFIG = { costs: { image: 10, video: 5, voice: 3, chat: 0.01 }, defaultCredits: 100, lowBalanceThreshold: 20 };

describe("pricingPatch", () => {
  it("sends nothing when the form shows the configuration as it is", () => {
    const patch = pricingPatch(CONFIG, pricingFormOf(CONFIG));
    assert.deepEqual(patch, { changes: {}, errors: {}, count: 0 });
  });

  it("sends only the settings that changed, fractional prices as numbers", () => {
    const form = { ...pricingFormOf(CONFIG), "costs.video": "2.5", "costs.chat": "0.02", lowBalanceThreshold: " 15 " };
    const patch = pricingPatch(CONFIG, form);
    assert.deepEqual(patch.changes, { costs: { video: 2.5, chat: 0.02 }, lowBalanceThreshold: 15 });
    assert.equal(patch.count, 3);
    assert.deepEqual(patch.errors, {});
  });

  it("names each field that is not a number and leaves it out of the patch", () => {
    const form = { ...pricingFormOf(CONFIG), "costs.image": "ten", "costs.voice": "-1", defaultCredits: "12.5", "costs.chat": "0.5" };
    const patch = pricingPatch(CONFIG, form);
    assert.deepEqual(Object.keys(patch.errors).sort(), ["costs.image", "costs.voice", "defaultCredits"]);
    assert.deepEqual(patch.changes, { costs: { chat: 0.5 } });
  });

  it("reads an emptied field as an error, not as zero", () => {
    const patch = pricingPatch(CONFIG, { ...pricingFormOf(CONFIG), "costs.image": "" });
    assert.ok(patch.errors["costs.image"]);
    assert.equal(patch.count, 0);
  });
});

describe("errorsByField", () => {
  it("puts the backend's errors next to the fields they name", () => {
    const { fields, other } = errorsByField({
      "costs.chat": "at most 6 decimals",
      defaultCredits: "must be at most 1000000",
      "rateLimits.image": "too large",
    });
    assert.deepEqual(fields, { "costs.chat": "at most 6 decimals", defaultCredits: "must be at most 1000000" });
    assert.deepEqual(other, { "rateLimits.image": "too large" });
  });

  it("gives an error about a whole object to each of its fields", () => {
    const { fields } = errorsByField({ costs: "must be an object" });
    assert.deepEqual(Object.keys(fields).sort(), ["costs.chat", "costs.image", "costs.video", "costs.voice"]);
  });
});

describe("classifySearch", () => {
  it("tells an email from a uid and refuses what is neither", () => {
    assert.deepEqual(classifySearch("  user@demo.test "), { kind: "email", value: "user@demo.test" });
    assert.deepEqual(classifySearch("Xy3kq9ZbW1aP"), { kind: "uid", value: "Xy3kq9ZbW1aP" });
    assert.equal(classifySearch("").kind, "invalid");
    assert.equal(classifySearch("a@b@c").kind, "invalid");
    assert.equal(classifySearch("users/abc").kind, "invalid");
    assert.equal(classifySearch("two words").kind, "invalid");
    assert.equal(classifySearch("x".repeat(129)).kind, "invalid");
  });
});

describe("charts", () => {
  it("labels hourly buckets by UTC hour and daily ones by UTC date", () => {
    assert.equal(bucketLabel("2026-11-26T09:00:00+00:00", "hour"), "09:00");
    assert.equal(bucketLabel("2026-11-26T00:00:00+00:00", "day"), "26 Nov");
    assert.equal(bucketLabel("2027-01-01T00:00:00+00:00", "day"), "1 Jan");
  });

  it("turns the series into columns, oldest first", () => {
    const point = (start, creditsUsed, generations, failedGenerations) => ({ start, creditsUsed, generations, failedGenerations });
    const data = seriesChartData({
      interval: "day",
      series: [point("2026-11-25T00:00:00+00:00", 40, 4, 1), point("2026-11-26T00:00:00+00:00", 7, 1, 0)],
    });
    assert.deepEqual(data.labels, ["25 Nov", "26 Nov"]);
    assert.deepEqual(data.credits, [40, 7]);
    assert.deepEqual(data.generations, [4, 1]);
    assert.deepEqual(data.failed, [1, 0]);
    assert.deepEqual(data.starts, [Date.UTC(2026, 10, 25), Date.UTC(2026, 10, 26)]);
  });

  it("lists every type, zero where the range has none", () => {
    const byType = { image: { creditsUsed: 30, generations: 3 }, chat: { creditsUsed: 8, generations: 1 } };
    assert.deepEqual(byTypeChartData({ byType }), { types: ["image", "video", "voice", "chat"], credits: [30, 0, 0, 8], generations: [3, 0, 0, 1] });
  });
});

describe("auditChanges", () => {
  it("lists the leaves a configuration update changed", () => {
    const before = { costs: { image: 10, video: 5 }, version: 3, rateLimits: { image: 50 } };
    const after = { costs: { image: 10, video: 2.5 }, version: 4, rateLimits: { image: 50 } };
    assert.deepEqual(auditChanges(before, after), [
      { path: "costs.video", before: 5, after: 2.5 },
      { path: "version", before: 3, after: 4 },
    ]);
  });

  it("treats a missing side as empty and compares lists whole", () => {
    assert.deepEqual(auditChanges(null, { credits: 12, amount: 12 }), [
      { path: "amount", before: undefined, after: 12 },
      { path: "credits", before: undefined, after: 12 },
    ]);
    assert.deepEqual(auditChanges({ terms: ["a"] }, { terms: ["a"] }), []);
    assert.deepEqual(auditChanges({ terms: ["a"] }, { terms: ["a", "b"] }), [{ path: "terms", before: ["a"], after: ["a", "b"] }]);
    assert.deepEqual(auditChanges({ status: "active" }, { status: "suspended" }), [{ path: "status", before: "active", after: "suspended" }]);
    assert.deepEqual(auditChanges(null, null), []);
  });
});

describe("document readers", () => {
  const ts = (ms) => ({ toMillis: () => ms });

  it("reads an activity defensively: unknown status as pending, progress clamped, timestamps as ms", () => {
    const a = toAdminActivity("a1", { userId: "u1", userEmail: "x@y.z", type: "video", status: "weird", progress: 140, creditsCharged: 20, createdAt: ts(5) });
    assert.equal(a.status, "pending");
    assert.equal(a.progress, 100);
    assert.equal(a.initialCharge, 20);
    assert.equal(a.createdAtMs, 5);
    assert.equal(a.final, false);
    assert.equal(toAdminActivity("a2", { status: "failed", type: "sound" }).type, null);
    assert.equal(toAdminActivity("a2", { status: "failed" }).final, true);
  });

  it("reads a flagged generation's moderation and ignores anything else there", () => {
    const flagged = toAdminActivity("a3", { status: "pending", moderation: { action: "flag", category: "sexual", source: "provider" } });
    assert.deepEqual(flagged.moderation, { action: "flag", category: "sexual", source: "provider" });
    assert.equal(toAdminActivity("a4", { status: "pending" }).moderation, null);
    assert.equal(toAdminActivity("a5", { moderation: { action: "refuse", category: "hate" } }).moderation, null);
    assert.equal(toAdminActivity("a6", { moderation: "flag" }).moderation, null);
    assert.equal(toAdminActivity("a7", { moderation: { action: "flag", category: "hate" } }).moderation.source, "local");
  });

  it("prints timestamps inside an audit entry's before and after as ISO text", () => {
    const e = toAuditEntry("e1", { action: "update_configuration", before: { updatedAt: ts(0) }, after: { list: [ts(1000)] } });
    assert.deepEqual(e.before, { updatedAt: "1970-01-01T00:00:00.000Z" });
    assert.deepEqual(e.after, { list: ["1970-01-01T00:00:01.000Z"] });
    assert.equal(millisOf("2026"), null);
  });
});

describe("groupSeries", () => {
  // 12 days from Thursday 29 Oct 2026 (UTC) to Monday 9 Nov: credits 1..12, generations 1 each.
  const days = Array.from({ length: 12 }, (_, i) => Date.UTC(2026, 9, 29 + i));
  const daily = {
    labels: days.map(String),
    credits: days.map((_, i) => i + 1),
    generations: days.map(() => 1),
    failed: days.map((_, i) => (i % 5 === 0 ? 1 : 0)),
    expired: days.map((_, i) => (i === 2 ? 120 : i === 5 ? 30 : 0)),
    starts: days,
  };
  const total = (xs) => xs.reduce((a, b) => a + b, 0);

  it("leaves a daily series as it is", () => {
    assert.equal(groupSeries(daily, "day"), daily);
  });

  it("sums days into ISO weeks from Monday, the range's ends partial", () => {
    const weeks = groupSeries(daily, "week");
    assert.deepEqual(weeks.labels, ["week of 26 Oct", "week of 2 Nov", "week of 9 Nov"]);
    assert.deepEqual(weeks.generations, [4, 7, 1]); // Thu-Sun, Mon-Sun, Mon
    assert.deepEqual(weeks.credits, [1 + 2 + 3 + 4, 5 + 6 + 7 + 8 + 9 + 10 + 11, 12]);
    assert.deepEqual(weeks.starts, [days[0], days[4], days[11]]);
    assert.equal(total(weeks.failed), total(daily.failed));
    assert.deepEqual(weeks.expired, [120, 30, 0]);
  });

  it("sums days into calendar months", () => {
    const months = groupSeries(daily, "month");
    assert.deepEqual(months.labels, ["Oct 2026", "Nov 2026"]);
    assert.deepEqual(months.generations, [3, 9]);
    assert.equal(total(months.credits), total(daily.credits));
  });
});

describe("ALL_INDEX_SHARDS", () => {
  it("names every index shard once, as the backend numbers them (0..15)", () => {
    assert.equal(INDEX_SHARDS, 16);
    assert.deepEqual([...ALL_INDEX_SHARDS], Array.from({ length: 16 }, (_, i) => i));
    assert.ok(Object.isFrozen(ALL_INDEX_SHARDS));
  });
});

describe("boundedLimit", () => {
  it("keeps every listener's window between 1 and the cap", () => {
    assert.equal(boundedLimit(undefined, 50), 50);
    assert.equal(boundedLimit(10_000, 50), MAX_LIVE_ITEMS);
    assert.equal(boundedLimit(0, 50), 1);
    assert.equal(boundedLimit(Number.NaN, 20), 20);
    assert.equal(boundedLimit(12.7, 20), 12);
    assert.equal(boundedLimit(Infinity, 20), 20);
  });
});

describe("payment figures", () => {
  it("counts purchases, refunds and disputes and nets revenue by day and product", async () => {
    const { paymentSummary } = await import("../dist/admin.js");
    const day1 = Date.UTC(2026, 11, 4, 10);
    const day2 = Date.UTC(2026, 11, 5, 9);
    const base = { kind: "pack", currency: "usd", refundedAmount: 0, clawedBack: 0, debtCreated: 0, disputeStatus: null };
    const s = paymentSummary([
      { ...base, id: "a", userId: "u", productId: "pack-small", amount: 500, credits: 100, status: "paid", createdAtMs: day1 },
      { ...base, id: "b", userId: "u", productId: "pack-small", amount: 500, credits: 100, status: "paid", refundedAmount: 125, clawedBack: 25, createdAtMs: day2 },
      { ...base, id: "c", userId: "v", productId: "pack-large", amount: 2000, credits: 500, status: "disputed", clawedBack: 500, createdAtMs: day2 },
    ]);
    assert.equal(s.purchases, 3);
    assert.equal(s.refunds, 1);
    assert.equal(s.disputes, 1);
    assert.equal(s.creditsGranted, 700);
    assert.equal(s.creditsClawedBack, 525);
    assert.deepEqual(
      s.byDay.map((r) => [r.key, r.payments, r.gross, r.net]),
      [
        ["2026-12-05", 2, 2500, 375],
        ["2026-12-04", 1, 500, 500],
      ],
    );
    assert.deepEqual(
      s.byProduct.map((r) => [r.key, r.gross, r.net]),
      [
        ["pack-large", 2000, 0],
        ["pack-small", 1000, 875],
      ],
    );
  });
});
