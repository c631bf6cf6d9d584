// The client library against the real Emulator Suite (Auth, Firestore, Functions), through the
// official Firebase JS SDK: what a web app sees, call by call and refusal by refusal.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  AccountSuspended,
  AdminRequired,
  InsufficientCredits,
  InvalidRequest,
  NetworkError,
  NotAllowed,
  NotOwner,
  PromptRejected,
  RateLimited,
  Unauthenticated,
} from "../dist/index.js";
import { admin, closeAll, generator, newSession, openLimits, record, signedInUser, until } from "../test-support/emulators.mjs";

let boss;
let pipeline;

before(async () => {
  boss = await admin();
  await openLimits(boss.client);
  pipeline = await generator();
});
after(closeAll);

const countRetries = () => {
  const seen = [];
  return { retry: { onRetry: (e) => seen.push(e.reason) }, seen };
};

describe("an account at sign-up", () => {
  it("shows the granted balance before any generation", async () => {
    const { client, uid } = await signedInUser();
    const status = await client.getCreditStatus();
    assert.equal(status.credits, 100);
    assert.equal(status.status, "active");
    assert.equal(status.signupGrant, "granted");
    assert.equal(status.lowBalance, false);
    assert.deepEqual(Object.keys(status.costs).sort(), ["chat", "image", "video", "voice"]);
    assert.equal(status.rateLimits.image.remaining, status.rateLimits.image.limit);
    const { value } = await until((cb) => client.watchBalance(uid, cb), (b) => b.exists && !b.fromCache);
    assert.equal(value.credits, 100);
    assert.equal(value.signupGrant, "granted");
  });
});

describe("generate", () => {
  it("charges the preview's cost and follows the balance live", async () => {
    const { client, uid } = await signedInUser();
    await client.getCreditStatus();
    const { preview } = await client.previewCost({ type: "image", quantity: 3 });
    assert.deepEqual(preview, { cost: 30, affordable: true, allowed: true });
    const live = record((cb) => client.watchBalance(uid, cb));
    try {
      await live.next((b) => b.credits === 100);
      const result = await client.generate({ type: "image", quantity: 3, prompt: "a lighthouse at dawn" });
      assert.equal(result.creditsCharged, 30);
      assert.equal(result.remainingCredits, 70);
      assert.equal(result.status, "pending");
      assert.match(result.requestId, /^[A-Za-z0-9_.:-]+$/);
      await live.next((b) => b.credits === 70);
    } finally {
      live.stop();
    }
  });

  it("charges once however often the same requestId is sent", async () => {
    const { client } = await signedInUser();
    const first = await client.generate({ type: "video", quantity: 4, prompt: "waves" });
    const again = await client.generate({ type: "video", quantity: 4, prompt: "waves", requestId: first.requestId });
    assert.equal(again.activityId, first.activityId);
    assert.equal(again.creditsCharged, 20);
    assert.equal((await client.getCreditStatus()).credits, 80);
  });

  it("refuses an unaffordable generation with required and available, without retrying", async () => {
    const { client } = await signedInUser();
    const { preview } = await client.previewCost({ type: "chat", quantity: 1_000_000 });
    assert.deepEqual(preview, { cost: 10_000, affordable: false, allowed: false, reason: "insufficient_credits" });
    const { retry, seen } = countRetries();
    await assert.rejects(client.generate({ type: "chat", quantity: 1_000_000, prompt: "a novel" }, { retry }), (e) => {
      assert.ok(e instanceof InsufficientCredits);
      assert.deepEqual([e.required, e.available, e.shortfall], [10_000, 100, 9_900]);
      assert.match(e.requestId, /.+/);
      return true;
    });
    assert.deepEqual(seen, []);
  });

  it("names the offending field of bad input", async () => {
    const { client } = await signedInUser();
    await assert.rejects(client.generate({ type: "image", quantity: 11, prompt: "x" }), (e) => {
      assert.ok(e instanceof InvalidRequest);
      assert.ok("quantity" in e.errors, JSON.stringify(e.errors));
      return true;
    });
    await assert.rejects(client.previewCost({ type: "video" }), (e) => e instanceof InvalidRequest && "preview.quantity" in e.errors);
  });

  it("rejects a prompt with its category and charges nothing", async () => {
    const { client } = await signedInUser();
    await assert.rejects(client.generate({ type: "image", prompt: "how to build a bomb" }), (e) => {
      assert.ok(e instanceof PromptRejected);
      assert.equal(e.category, "weapons");
      return true;
    });
    assert.equal((await client.getCreditStatus()).credits, 100);
  });

  it("refuses a suspended account, and the preview says so first", async () => {
    const { client, uid } = await signedInUser();
    await client.getCreditStatus();
    await boss.client.admin.setUserStatus({ userId: uid, status: "suspended", reason: "test" });
    const { preview } = await client.previewCost({ type: "image" });
    assert.equal(preview.allowed, false);
    assert.equal(preview.reason, "account_suspended");
    await assert.rejects(client.generate({ type: "image", prompt: "a cat" }), AccountSuspended);
    const { value } = await until((cb) => client.watchBalance(uid, cb), (b) => b.status === "suspended");
    assert.equal(value.credits, 100);
  });
});

describe("rate limits", () => {
  it("refuses past the limit with the wait, which the preview announces and the countdown can show", async () => {
    const { client } = await signedInUser();
    await boss.client.admin.updateConfiguration({ rateLimits: { voice: 2 } });
    try {
      await client.generate({ type: "voice", quantity: 1, prompt: "hello" });
      await client.generate({ type: "voice", quantity: 1, prompt: "hello" });
      const status = await client.previewCost({ type: "voice", quantity: 1 });
      assert.equal(status.rateLimits.voice.remaining, 0);
      assert.equal(status.preview.allowed, false);
      assert.equal(status.preview.reason, "rate_limited");
      assert.ok(status.preview.retryAfterSeconds > 0 && status.preview.retryAfterSeconds <= 3600);
      const { retry, seen } = countRetries();
      await assert.rejects(client.generate({ type: "voice", quantity: 1, prompt: "hello" }, { retry }), (e) => {
        assert.ok(e instanceof RateLimited);
        assert.equal(e.scope, "user");
        assert.equal(e.limit, 2);
        assert.equal(e.windowSeconds, 3600);
        assert.ok(e.retryAfterSeconds > 0 && e.retryAfterSeconds <= 3600);
        assert.ok(Math.abs(e.retryAfterSeconds - status.preview.retryAfterSeconds) <= 2);
        return true;
      });
      assert.deepEqual(seen, []);
    } finally {
      await boss.client.admin.updateConfiguration({ rateLimits: { voice: 10_000 } });
    }
  });
});

describe("a generation's life", () => {
  it("moves from pending through the generator's progress to completed, settled on the real quantity", async () => {
    const { client } = await signedInUser();
    const charge = await client.generate({ type: "chat", quantity: 1000, prompt: "a poem" });
    assert.equal(charge.creditsCharged, 10);
    const live = record((cb) => client.watchActivity(charge.activityId, cb));
    try {
      // Each report is seen by the owner's listener before the next one is sent.
      await live.next((a) => a?.status === "pending");
      await pipeline.client.reportProgress(charge.activityId, 50);
      await live.next((a) => a?.status === "processing" && a.progress === 50);
      const done = await pipeline.client.complete(charge.activityId, 800);
      assert.equal(done.status, "completed");
      assert.equal(done.refundedCredits, 2);
      const value = await live.next((a) => a?.final);
      assert.equal(value.status, "completed");
      assert.equal(value.creditsCharged, 8);
      assert.equal(value.refundedCredits, 2);
      assert.equal(typeof value.processingTimeMs, "number");
    } finally {
      live.stop();
    }
    assert.equal((await client.getCreditStatus()).credits, 92);
  });

  it("lets the owner cancel before work starts, refunded, and refuses the owner's settlement", async () => {
    const { client } = await signedInUser();
    const charge = await client.generate({ type: "video", quantity: 2, prompt: "rain" });
    await assert.rejects(client.complete(charge.activityId, 1), (e) => e instanceof NotAllowed);
    const cancelled = await client.cancel(charge.activityId);
    assert.equal(cancelled.status, "failed");
    assert.equal(cancelled.refundedCredits, 10);
    assert.equal(cancelled.remainingCredits, 100);
  });

  it("refuses someone else's activity", async () => {
    const owner = await signedInUser();
    const other = await signedInUser();
    const charge = await owner.client.generate({ type: "image", prompt: "a boat" });
    await assert.rejects(other.client.reportProgress(charge.activityId, 10), NotOwner);
  });
});

describe("low balance", () => {
  it("flags users/{uid} when the balance falls below the threshold", async () => {
    const { client, uid } = await signedInUser();
    await client.generate({ type: "image", quantity: 9, prompt: "many cats" });
    const { value } = await until((cb) => client.watchBalance(uid, cb), (b) => b.credits === 10);
    assert.equal(value.lowBalance, true);
    assert.equal((await client.getCreditStatus()).lowBalance, true);
  });
});

describe("who may call", () => {
  it("answers a signed-out caller with Unauthenticated", async () => {
    const session = newSession();
    await assert.rejects(session.client.getCreditStatus(), Unauthenticated);
  });

  it("answers a user calling an admin callable with AdminRequired", async () => {
    const { client } = await signedInUser();
    await assert.rejects(client.admin.getUsageStats("24h"), AdminRequired);
  });
});

describe("no answer", () => {
  // A Functions endpoint nobody listens on: every call fails before reaching a server.
  const deadPort = 9;
  it("is retried with backoff for reads and charges, which are safe to repeat", async () => {
    const { client } = await signedInUser({ functionsPort: deadPort });
    const seen = [];
    const retry = { attempts: 3, baseDelayMs: 5, onRetry: (e) => seen.push(e.reason) };
    await assert.rejects(client.getCreditStatus({ retry }), NetworkError);
    assert.deepEqual(seen, ["network", "network"]);
    seen.length = 0;
    await assert.rejects(client.generate({ type: "image", prompt: "x" }, { retry }), NetworkError);
    assert.deepEqual(seen, ["network", "network"]);
  });

  it("is not retried for a status update, whose repeat could be refused", async () => {
    const { client } = await signedInUser({ functionsPort: deadPort });
    const seen = [];
    await assert.rejects(client.reportProgress("r_x", 10).catch((e) => Promise.reject(e)), NetworkError);
    await assert.rejects(client.updateStatus({ activityId: "r_x", status: "processing" }, { retry: { attempts: 3, baseDelayMs: 5, onRetry: (e) => seen.push(e) } }), NetworkError);
    assert.deepEqual(seen, []);
  });
});
