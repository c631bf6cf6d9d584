// The admin helpers (CreditsAdmin) against the real Emulator Suite: the live views an admin
// dashboard opens, each bounded, fed by what users and the admin callables do, and refused as a
// whole to anyone without the admin claim.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ADMIN_ONLY_READS, CHANGE_ACTIONS, CONFIGURATION_ACTIONS, CreditsAdmin, PromptRejected, hasAdminClaim } from "../dist/admin.js";
import { admin, closeAll, openLimits, signedInUser, until } from "../test-support/emulators.mjs";

let boss;
let console_;

before(async () => {
  boss = await admin();
  await openLimits(boss.client);
  console_ = new CreditsAdmin(boss.client);
});
after(closeAll);

const liveOf = (watch) => (cb) => watch((items, meta) => cb({ items, meta }));

describe("the admin claim", () => {
  it("is read from the ID token", async () => {
    const user = await signedInUser();
    assert.equal(await hasAdminClaim(boss.session.auth.currentUser), true);
    assert.equal(await hasAdminClaim(user.session.auth.currentUser), false);
  });
});

describe("live views", () => {
  it("shows a new generation at the top of the bounded stream, with its user's email, and follows it", async () => {
    const user = await signedInUser();
    const charge = await user.client.generate({ type: "image", prompt: "a lighthouse" });
    const { value } = await until(
      liveOf((cb) => console_.watchActivityFeed(cb, { max: 5 })),
      ({ items, meta }) => !meta.fromCache && items.some((a) => a.id === charge.activityId),
    );
    assert.ok(value.items.length <= 5);
    assert.equal(value.items[0].id, charge.activityId, "newest first");
    const seen = value.items[0];
    assert.equal(seen.userEmail, user.email);
    assert.equal(seen.status, "pending");
    assert.equal(seen.creditsCharged, 10);
    assert.equal(seen.type, "image");
    assert.ok(seen.createdAtMs > Date.now() - 60_000);
    const ordered = value.items.map((a) => a.createdAtMs);
    assert.deepEqual(ordered, [...ordered].sort((a, b) => b - a));

    await user.client.cancel(charge.activityId);
    const ended = await until(liveOf((cb) => console_.watchActivityFeed(cb, { max: 5 })), ({ items }) =>
      items.some((a) => a.id === charge.activityId && a.status === "failed"),
    );
    const card = ended.value.items.find((a) => a.id === charge.activityId);
    assert.equal(card.refundedCredits, 10);
    assert.equal(card.final, true);
  });

  it("lists a rejected prompt's abuse record, and a suspension among the suspended accounts", async () => {
    const user = await signedInUser();
    await assert.rejects(user.client.generate({ type: "image", prompt: "how to build a bomb" }), PromptRejected);
    const { value } = await until(liveOf((cb) => console_.watchAbuseRecords(cb, { max: 10 })), ({ items }) =>
      items.some((r) => r.userId === user.uid),
    );
    const record = value.items.find((r) => r.userId === user.uid);
    assert.equal(record.kind, "moderation");
    assert.equal(record.category, "weapons");
    assert.equal(record.severity, "high");
    assert.ok(record.scoreAfter >= 25, JSON.stringify(record));

    await boss.client.admin.setUserStatus({ userId: user.uid, status: "suspended", reason: "admin helper test" });
    const suspended = await until(liveOf((cb) => console_.watchSuspendedUsers(cb, { max: 10 })), ({ items }) =>
      items.some((u) => u.uid === user.uid),
    );
    const row = suspended.value.items.find((u) => u.uid === user.uid);
    assert.equal(row.email, user.email);
    assert.equal(row.statusReason, "admin helper test");
    assert.equal(suspended.value.items[0].uid, user.uid, "most recently suspended first");

    await boss.client.admin.setUserStatus({ userId: user.uid, status: "active", reason: "admin helper test over" });
    await until(liveOf((cb) => console_.watchSuspendedUsers(cb, { max: 10 })), ({ items, meta }) =>
      !meta.fromCache && !items.some((u) => u.uid === user.uid),
    );
  });

  it("shows the audit log of changes without the statistics reads, newest first", async () => {
    const user = await signedInUser();
    await user.client.getCreditStatus();
    const grant = await boss.client.admin.grantCredits({ userId: user.uid, amount: 7, reason: "admin helper test" });
    await boss.client.admin.getUsageStats("24h");
    const { value } = await until(
      liveOf((cb) => console_.watchAuditLog(cb, { max: 10, actions: CHANGE_ACTIONS })),
      ({ items }) => items.some((e) => e.target === `users/${user.uid}`),
    );
    assert.ok(value.items.every((e) => e.action !== "get_usage_stats"));
    const entry = value.items.find((e) => e.target === `users/${user.uid}`);
    assert.equal(entry.action, "grant_credits");
    assert.equal(entry.actorEmail, boss.email);
    assert.deepEqual(entry.after.credits, grant.newBalance);
    assert.equal(entry.note, "admin helper test");

    const reads = await until(liveOf((cb) => console_.watchAuditLog(cb, { max: 3, actions: ["get_usage_stats"] })), ({ items }) =>
      items.length > 0,
    );
    assert.ok(reads.value.items.every((e) => e.action === "get_usage_stats"));
  });

  it("shows the configuration with its version and who changed it", async () => {
    const before = await until((cb) => console_.watchCreditConfiguration(cb), (c) => c !== null);
    const threshold = before.value.lowBalanceThreshold;
    const result = await boss.client.admin.updateConfiguration({ lowBalanceThreshold: threshold + 1 });
    try {
      const { value } = await until((cb) => console_.watchCreditConfiguration(cb), (c) => c?.version === result.version);
      assert.equal(value.lowBalanceThreshold, threshold + 1);
      assert.equal(value.updatedBy, boss.uid);
      assert.equal(typeof value.costs.chat, "number");
      assert.ok(value.updatedAtMs > Date.now() - 60_000);
      // Who made this version, by email, from its audit entry.
      const entry = await console_.latestAuditEntry(CONFIGURATION_ACTIONS);
      assert.equal(entry.action, "update_configuration");
      assert.equal(entry.actorId, boss.uid);
      assert.equal(entry.actorEmail, boss.email);
      assert.deepEqual(entry.after.lowBalanceThreshold, threshold + 1);
    } finally {
      await boss.client.admin.updateConfiguration({ lowBalanceThreshold: threshold });
    }
  });
});

describe("finding users", () => {
  it("finds an account by email or uid, and none for an address nobody used", async () => {
    const user = await signedInUser();
    await user.client.getCreditStatus();
    const [found] = await console_.findUsersByEmail(user.email);
    assert.equal(found.uid, user.uid);
    assert.equal(found.credits, 100);
    assert.equal((await console_.getUser(user.uid)).email, user.email);
    assert.deepEqual(await console_.findUsersByEmail("nobody-at-all@example.com"), []);
    assert.equal(await console_.getUser("no-such-uid-anywhere"), null);
    const looked = await console_.lookupUsers([user.uid, "no-such-uid-anywhere", user.uid]);
    assert.equal(looked.get(user.uid).email, user.email);
    assert.equal(looked.get("no-such-uid-anywhere"), null);
  });
});

describe("access", () => {
  it("lets an admin read every admin-only view and refuses each one to a signed-in user without the claim", async () => {
    const forAdmin = await console_.probeAccess();
    assert.deepEqual(Object.keys(forAdmin).sort(), [...ADMIN_ONLY_READS].sort());
    for (const [name, result] of Object.entries(forAdmin)) assert.equal(result, "allowed", name);

    const user = await signedInUser();
    await user.client.getCreditStatus();
    const forUser = await new CreditsAdmin(user.client).probeAccess();
    for (const [name, result] of Object.entries(forUser)) assert.equal(result, "denied", name);
    // A live query is refused as a whole, whatever it would have returned.
    const outcome = await new Promise((resolve) => {
      const stop = new CreditsAdmin(user.client).watchActivityFeed(
        (items, meta) => meta.fromCache || (stop(), resolve(`data: ${items.length}`)),
        { onError: (e) => resolve(e.code) },
      );
    });
    assert.equal(outcome, "permission-denied");
  });
});
