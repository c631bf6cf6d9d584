// Grant buckets and plans through the client library against the real Emulator Suite: the typed
// fields of getCreditStatus (buckets, nextExpiry, plan, debt), the admin callables setUserPlan,
// grantPromoCredits and grantCredits with expiresAt/source, and the admin's ledger per bucket.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CreditsAdmin, InvalidRequest, expiryNotice, ledgerByBucket, planLine } from "../dist/admin.js";
import { admin, closeAll, openLimits, signedInUser, until } from "../test-support/emulators.mjs";

const PLAN_ID = `clientplan${process.pid}`;
const DAY = 86_400_000;
let boss;
let console_;

before(async () => {
  boss = await admin();
  await openLimits(boss.client);
  await boss.client.admin.updateConfiguration({ plans: { [PLAN_ID]: { name: "Client test plan", monthlyCredits: 300, rolloverPeriods: 0 } } });
  console_ = new CreditsAdmin(boss.client);
});
after(async () => {
  try {
    await boss.client.admin.updateConfiguration({ plans: { [PLAN_ID]: null } });
  } finally {
    await closeAll();
  }
});

describe("getCreditStatus with buckets", () => {
  it("shows a new account's sign-up grant as one bucket, nothing expiring, no plan", async () => {
    const user = await signedInUser();
    const status = await user.client.getCreditStatus();
    assert.equal(status.credits, 100);
    assert.deepEqual(status.buckets, [{ source: "signup", remaining: 100, expiresAt: null }]);
    assert.equal(status.nextExpiry, null);
    assert.equal(status.plan, null);
    assert.equal(status.debt, 0);
  });

  it("orders a promo with expiry before the sign-up grant and says when it expires", async () => {
    const user = await signedInUser();
    await user.client.getCreditStatus();
    const expiresAt = new Date(Math.floor((Date.now() + 5 * DAY) / 1000) * 1000);
    const grant = await boss.client.admin.grantCredits({ userId: user.uid, amount: 120, reason: "client test promo", source: "promo", expiresAt, userNote: "Welcome gift" });
    assert.equal(grant.newBalance, 220);
    const status = await user.client.getCreditStatus();
    assert.deepEqual(
      status.buckets.map((b) => [b.source, b.remaining]),
      [
        ["promo", 120],
        ["signup", 100],
      ],
    );
    assert.equal(Date.parse(status.buckets[0].expiresAt), expiresAt.getTime());
    assert.deepEqual(status.nextExpiry, { credits: 120, at: status.buckets[0].expiresAt });
    assert.match(expiryNotice(status.nextExpiry), /^120 credits expire on \d{1,2} [A-Z][a-z]{2}( \d{4})?$/);

    // The next charge draws from the promo first.
    await user.client.generate({ type: "image", prompt: "a lighthouse at dusk" });
    const after = await user.client.getCreditStatus();
    assert.deepEqual(
      after.buckets.map((b) => [b.source, b.remaining]),
      [
        ["promo", 110],
        ["signup", 100],
      ],
    );
  });

  it("refuses an expiry in the past with the field named, nothing granted", async () => {
    const user = await signedInUser();
    await user.client.getCreditStatus();
    const err = await boss.client.admin
      .grantCredits({ userId: user.uid, amount: 5, reason: "client test", expiresAt: new Date(Date.now() - DAY) })
      .then(() => null, (e) => e);
    assert.ok(err instanceof InvalidRequest, String(err));
    assert.ok(err.errors.expiresAt, JSON.stringify(err.details));
    assert.equal((await user.client.getCreditStatus()).credits, 100);
  });
});

describe("plans", () => {
  it("puts a user on a plan (allowance now, period end), again changes nothing, null ends it", async () => {
    const user = await signedInUser();
    await user.client.getCreditStatus();
    const set = await boss.client.admin.setUserPlan({ userId: user.uid, planId: PLAN_ID });
    assert.equal(set.changed, true);
    assert.equal(set.previousPlanId, null);
    assert.ok(Date.parse(set.periodEnd) > Date.now());

    const status = await user.client.getCreditStatus();
    assert.equal(status.credits, 400);
    assert.equal(status.plan.id, PLAN_ID);
    assert.equal(status.plan.name, "Client test plan");
    assert.equal(status.plan.monthlyCredits, 300);
    assert.equal(Date.parse(status.plan.periodEnd), Date.parse(set.periodEnd));
    assert.deepEqual(status.buckets[0], { source: "plan", remaining: 300, expiresAt: status.plan.periodEnd });
    assert.deepEqual(status.nextExpiry, { credits: 300, at: status.plan.periodEnd });
    assert.match(planLine(status.plan), /^Client test plan: 300 credits a month, renews /);

    const again = await boss.client.admin.setUserPlan({ userId: user.uid, planId: PLAN_ID });
    assert.equal(again.changed, false);
    assert.equal((await user.client.getCreditStatus()).credits, 400);

    const ended = await boss.client.admin.setUserPlan({ userId: user.uid, planId: null });
    assert.equal(ended.changed, true);
    assert.equal(ended.previousPlanId, PLAN_ID);
    const after = await user.client.getCreditStatus();
    assert.equal(after.plan, null);
    assert.equal(after.credits, 400, "the old period's bucket keeps its credits until it expires");
  });

  it("grants a promo to a list of users as one job", async () => {
    const a = await signedInUser();
    const b = await signedInUser();
    await Promise.all([a.client.getCreditStatus(), b.client.getCreditStatus()]);
    const requestId = `promo-client-${process.pid}-${Date.now()}`;
    const promo = { userIds: [a.uid, b.uid], amount: 15, reason: "client test promo", expiresAt: new Date(Date.now() + 3 * DAY), requestId };
    const job = await boss.client.admin.grantPromoCredits(promo);
    assert.equal(job.status, "done");
    assert.equal(job.granted, 2);
    assert.equal(job.failed, 0);
    for (const u of [a, b]) {
      const status = await u.client.getCreditStatus();
      assert.deepEqual(status.buckets[0].source, "promo");
      assert.equal(status.buckets[0].remaining, 15);
      assert.equal(status.credits, 115);
    }
    // The same request again is the same job: nothing granted twice.
    const resent = await boss.client.admin.grantPromoCredits(promo);
    assert.equal(resent.jobId, job.jobId);
    assert.equal((await a.client.getCreditStatus()).credits, 115);
  });
});

describe("the admin's ledger per bucket", () => {
  it("names the buckets each entry moved, and each live bucket's entries sum to its remaining", async () => {
    const user = await signedInUser();
    await user.client.getCreditStatus();
    await boss.client.admin.grantCredits({ userId: user.uid, amount: 40, reason: "client test", source: "promo", expiresAt: new Date(Date.now() + 2 * DAY) });
    const charge = await user.client.generate({ type: "image", prompt: "a quiet harbour", quantity: 5 });
    assert.equal(charge.creditsCharged, 50);

    // The promo was spent first and whole: an empty bucket leaves the user's document.
    const buckets = await console_.getUserBuckets(user.uid);
    assert.deepEqual(
      buckets.map((b) => [b.source, b.remaining, b.live]),
      [["signup", 90, true]],
    );
    const { value } = await until(
      (cb) => console_.watchUserLedger(user.uid, cb, { max: 20 }),
      (items) => items.some((e) => e.activityId === charge.activityId),
    );
    const entry = value.find((e) => e.activityId === charge.activityId);
    assert.equal(entry.delta, -50);
    assert.deepEqual(
      entry.buckets.map((m) => m.delta).sort((x, y) => x - y),
      [-40, -10],
    );
    const byBucket = ledgerByBucket(value);
    assert.equal(byBucket.size, 2, "the sign-up bucket and the promo");
    assert.equal(byBucket.has(""), false, "every entry names its buckets");
    for (const [id, lines] of byBucket) {
      const sum = lines.reduce((s, l) => s + l.delta, 0);
      assert.equal(sum, buckets.find((b) => b.id === id)?.remaining ?? 0, `bucket ${id}`);
    }
  });
});
