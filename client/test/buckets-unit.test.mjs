// Pure logic of grant buckets on the client, no emulator: the expiry line, the plan line, the
// spend order as the backend applies it, stored buckets and ledger entries as an admin reads
// them, the ledger per bucket, the expired column of the Credits chart and the wire times.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  SPEND_PRIORITY,
  compareSpendOrder,
  expiryNotice,
  groupSeries,
  ledgerByBucket,
  planLine,
  seriesChartData,
  shortDate,
  toAdminBuckets,
  toAdminUser,
  toLedgerEntry,
  withWireTimes,
} from "../dist/admin.js";

const NOW = Date.parse("2026-12-05T12:00:00Z");
const ts = (iso) => ({ toMillis: () => Date.parse(iso) });

describe("expiryNotice and planLine", () => {
  it("says how many credits expire on which UTC day", () => {
    assert.equal(expiryNotice({ credits: 120, at: "2026-12-31T23:00:00Z" }, NOW), "120 credits expire on 31 Dec");
    assert.equal(expiryNotice({ credits: 1, at: "2026-12-06T00:00:00Z" }, NOW), "1 credit expires on 6 Dec");
    assert.equal(expiryNotice({ credits: 2500, at: "2027-01-31T00:00:00Z" }, NOW), "2,500 credits expire on 31 Jan 2027");
  });

  it("says nothing when nothing expires", () => {
    assert.equal(expiryNotice(null, NOW), null);
    assert.equal(expiryNotice(undefined, NOW), null);
    assert.equal(expiryNotice({ credits: 0, at: "2026-12-31T00:00:00Z" }, NOW), null);
  });

  it("takes the day in UTC, not the local day", () => {
    // 23:30 UTC on the 31st is already 1 Jan east of Greenwich; the backend's periods are UTC.
    assert.equal(shortDate("2026-12-31T23:30:00Z", NOW), "31 Dec");
  });

  it("names the plan, its allowance and when it renews", () => {
    const plan = { id: "pro", name: "Pro", monthlyCredits: 1000, periodEnd: "2027-01-01T00:00:00Z" };
    assert.equal(planLine(plan, NOW), "Pro: 1,000 credits a month, renews 1 Jan 2027");
    assert.equal(planLine(null, NOW), null);
  });
});

describe("spend order", () => {
  const b = (id, source, expiresAt, createdAt = "2026-12-01T00:00:00Z") => ({
    id,
    source,
    amount: 10,
    remaining: 10,
    expiresAtMs: expiresAt ? Date.parse(expiresAt) : null,
    ref: null,
    createdAtMs: Date.parse(createdAt),
    live: true,
  });

  it("spends the soonest expiry first and never-expiring credits last", () => {
    const order = [b("p", "purchase", null), b("plan", "plan", "2026-12-31T00:00:00Z"), b("promo", "promo", "2026-12-10T00:00:00Z")]
      .sort(compareSpendOrder)
      .map((x) => x.id);
    assert.deepEqual(order, ["promo", "plan", "p"]);
  });

  it("breaks equal expiries by the source priority, then age, then id", () => {
    const at = "2026-12-31T00:00:00Z";
    const order = [
      b("x-purchase", "purchase", at),
      b("x-admin", "admin", at),
      b("x-plan", "plan", at),
      b("x-promo-new", "promo", at, "2026-12-03T00:00:00Z"),
      b("x-promo-old", "promo", at, "2026-12-02T00:00:00Z"),
      b("x-signup", "signup", at),
    ]
      .sort(compareSpendOrder)
      .map((x) => x.id);
    assert.deepEqual(order, ["x-promo-old", "x-promo-new", "x-plan", "x-signup", "x-admin", "x-purchase"]);
    assert.deepEqual([...SPEND_PRIORITY], ["promo", "plan", "signup", "admin", "legacy", "refund", "purchase"]);
  });
});

describe("stored buckets", () => {
  const doc = {
    credits: 150,
    createdAt: ts("2026-11-01T00:00:00Z"),
    buckets: {
      g1: { source: "admin", amount: 100, remaining: 100, expiresAt: null, ref: "admin_audit_logs/a1", createdAt: ts("2026-11-02T00:00:00Z") },
      p1: { source: "plan", amount: 30, remaining: 30, expiresAt: ts("2026-12-31T00:00:00Z"), ref: "plan/pro/1", createdAt: ts("2026-12-01T00:00:00Z") },
      old: { source: "promo", amount: 20, remaining: 20, expiresAt: ts("2026-12-01T00:00:00Z"), ref: null, createdAt: ts("2026-11-15T00:00:00Z") },
    },
  };

  it("lists live buckets in spend order, then the expired ones not yet recorded", () => {
    const buckets = toAdminBuckets("u1", doc, NOW);
    assert.deepEqual(
      buckets.map((x) => [x.id, x.live]),
      [
        ["p1", true],
        ["g1", true],
        ["old", false],
      ],
    );
    assert.equal(buckets[0].expiresAtMs, Date.parse("2026-12-31T00:00:00Z"));
    assert.equal(buckets[1].ref, "admin_audit_logs/a1");
  });

  it("shows an account from before buckets as its one legacy bucket", () => {
    const buckets = toAdminBuckets("u2", { credits: 42, createdAt: ts("2026-01-01T00:00:00Z") }, NOW);
    assert.deepEqual(
      buckets.map((x) => [x.id, x.source, x.remaining, x.expiresAtMs]),
      [["legacy_u2", "legacy", 42, null]],
    );
    assert.deepEqual(toAdminBuckets("u3", { credits: 0 }, NOW), []);
  });

  it("reads a damaged bucket without throwing", () => {
    const buckets = toAdminBuckets("u4", { buckets: { bad: { source: 7, remaining: "x" }, gone: null } }, NOW);
    assert.deepEqual(
      buckets.map((x) => [x.id, x.source, x.remaining]),
      [["bad", "unknown", 0]],
    );
  });

  it("comes with the admin's view of the user, plan included", () => {
    const user = toAdminUser("u1", { ...doc, plan: { id: "pro", periodStart: ts("2026-12-01T00:00:00Z"), periodEnd: ts("2027-01-01T00:00:00Z"), renewal: "auto" } });
    assert.equal(user.buckets.length, 3);
    assert.deepEqual(user.plan, {
      id: "pro",
      periodStartMs: Date.parse("2026-12-01T00:00:00Z"),
      periodEndMs: Date.parse("2027-01-01T00:00:00Z"),
      renewal: "auto",
    });
    assert.equal(toAdminUser("u5", { credits: 1 }).plan, null);
  });
});

describe("the ledger per bucket", () => {
  const entries = [
    toLedgerEntry("refund_a1", { userId: "u1", delta: 25, balanceAfter: 150, reason: "failure_refund", type: "image", buckets: [{ bucketId: "g1", delta: 5 }, { bucketId: "p1", delta: 20 }], createdAt: ts("2026-12-04T00:00:00Z") }),
    toLedgerEntry("charge_a1", { userId: "u1", delta: -25, balanceAfter: 125, reason: "generation_charge", type: "image", activityId: "a1", buckets: [{ bucketId: "p1", delta: -20 }, { bucketId: "g1", delta: -5 }], createdAt: ts("2026-12-03T00:00:00Z") }),
    toLedgerEntry("expire_old", { userId: "u1", delta: -20, balanceAfter: 150, reason: "expired", buckets: [{ bucketId: "old", delta: -20 }], createdAt: ts("2026-12-02T00:00:00Z") }),
    toLedgerEntry("plan_p1", { userId: "u1", delta: 30, reason: "plan_allowance", buckets: [{ bucketId: "p1", delta: 30 }], newBuckets: [{ bucketId: "p1", source: "plan", amount: 30, expiresAt: ts("2026-12-31T00:00:00Z") }], createdAt: ts("2026-12-01T00:00:00Z") }),
    toLedgerEntry("signup_u1", { userId: "u1", delta: 100, reason: "signup_grant", createdAt: ts("2026-11-01T00:00:00Z") }),
  ];

  it("reads the entries' bucket moves and opened buckets", () => {
    assert.deepEqual(entries[1].buckets, [
      { bucketId: "p1", delta: -20 },
      { bucketId: "g1", delta: -5 },
    ]);
    assert.equal(entries[1].activityId, "a1");
    assert.deepEqual(entries[3].newBuckets, [{ bucketId: "p1", source: "plan", amount: 30, expiresAtMs: Date.parse("2026-12-31T00:00:00Z") }]);
    assert.deepEqual(entries[4].buckets, []);
  });

  it("puts each entry under every bucket it moved, with that bucket's part", () => {
    const by = ledgerByBucket(entries);
    assert.deepEqual(
      by.get("p1").map((l) => [l.entry.id, l.delta]),
      [
        ["refund_a1", 20],
        ["charge_a1", -20],
        ["plan_p1", 30],
      ],
    );
    assert.deepEqual(
      by.get("g1").map((l) => [l.entry.id, l.delta]),
      [
        ["refund_a1", 5],
        ["charge_a1", -5],
      ],
    );
    assert.deepEqual(
      by.get("old").map((l) => [l.entry.id, l.delta]),
      [["expire_old", -20]],
    );
    assert.deepEqual(
      by.get("").map((l) => l.entry.id),
      ["signup_u1"],
    );
    // The parts add up to the entries: nothing lost or counted twice.
    const parts = [...by.values()].flat().reduce((s, l) => s + l.delta, 0);
    assert.equal(parts, entries.reduce((s, e) => s + e.delta, 0));
  });
});

describe("credits expired per day", () => {
  const point = (start, creditsUsed, expiredCredits) => ({ start, creditsUsed, generations: 1, failedGenerations: 0, expiredCredits });

  it("is a column of the chart next to credits used, summed by week and month", () => {
    const stats = {
      interval: "day",
      series: [point("2026-11-30T00:00:00Z", 10, 0), point("2026-12-01T00:00:00Z", 5, 120), point("2026-12-02T00:00:00Z", 7, 30)],
    };
    const data = seriesChartData(stats);
    assert.deepEqual(data.expired, [0, 120, 30]);
    assert.deepEqual(data.credits, [10, 5, 7]);
    const monthly = groupSeries(data, "month");
    assert.deepEqual(monthly.expired, [0, 150]);
    const weekly = groupSeries(data, "week");
    assert.deepEqual(weekly.expired, [150]);
  });

  it("reads 0 where a backend sends no expired figure", () => {
    const data = seriesChartData({ interval: "hour", series: [{ start: "2026-12-05T10:00:00Z", creditsUsed: 3, generations: 1, failedGenerations: 0 }] });
    assert.deepEqual(data.expired, [0]);
  });
});

describe("withWireTimes", () => {
  it("sends a Date as ISO 8601 UTC and leaves strings and absences alone", () => {
    const when = new Date(Date.UTC(2027, 0, 31, 0, 0, 0));
    assert.deepEqual(withWireTimes({ userId: "u", amount: 5, expiresAt: when }), { userId: "u", amount: 5, expiresAt: "2027-01-31T00:00:00.000Z" });
    assert.deepEqual(withWireTimes({ userId: "u", amount: 5, expiresAt: "2027-01-31T00:00:00Z" }).expiresAt, "2027-01-31T00:00:00Z");
    assert.equal("expiresAt" in withWireTimes({ userId: "u", amount: 5 }), false);
  });
});
