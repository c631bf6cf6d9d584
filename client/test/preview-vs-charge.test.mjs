// The preview and the charge never disagree: over randomized types, quantities and fractional
// prices, getCreditStatus's preview.cost, validateAndDeductCredits's creditsCharged and an
// independent exact computation, ceil(quantity x unit cost) in integer arithmetic, are equal.
//
// CREDITS_TEST_SEED=<n> replays a run (the seed is printed); CREDITS_PREVIEW_CASES sets how many.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { admin, closeAll, openLimits, signedInUser } from "../test-support/emulators.mjs";

const SEED = Number(process.env.CREDITS_TEST_SEED ?? Date.now() % 2 ** 31);
const CASES = Number(process.env.CREDITS_PREVIEW_CASES ?? 60);

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A decimal string ("12.5", "0.013", "3e-7") as an exact [mantissa, scale]: value = mantissa / 10^scale. */
function exact(text) {
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i.exec(text);
  assert.ok(m, `not a plain decimal: ${text}`);
  const digits = BigInt(m[1] + (m[2] ?? ""));
  const scale = (m[2]?.length ?? 0) - Number(m[3] ?? 0);
  return scale >= 0 ? [digits, scale] : [digits * 10n ** BigInt(-scale), 0];
}

/** ceil(quantity x unit), exactly, from the numbers as JSON sends them (shortest round-trip text). */
function expectedCharge(quantity, unit) {
  const [qm, qs] = exact(String(quantity));
  const [um, us] = exact(String(unit));
  const product = qm * um;
  const divisor = 10n ** BigInt(qs + us);
  return Number((product + divisor - 1n) / divisor);
}

const pick = (random, list) => list[Math.floor(random() * list.length)];

function randomPrices(random) {
  // Fractional prices with up to six decimals (the configuration's limit), some whole.
  const price = (whole, fractions) => (random() < 0.25 ? whole : pick(random, fractions));
  return {
    image: price(pick(random, [1, 7, 10]), [0.5, 2.25, 9.99, 12.345678]),
    video: price(5, [0.3, 1.75, 2.5, 4.333333]),
    voice: price(3, [0.1, 1.35, 2.718281, 0.999999]),
    chat: price(1, [0.01, 0.07, 0.013, 0.0075, 0.000123, 0.333333]),
  };
}

function randomQuantity(random, type) {
  switch (type) {
    case "image":
      return 1 + Math.floor(random() * 10);
    case "chat":
      return pick(random, [1, 3, 7, 99, 100, 101, 1000, 1001, 33_333, 999_999, 1_000_000, 1 + Math.floor(random() * 1_000_000)]);
    case "video": {
      // seconds in (0, 600]: whole, halves and arbitrary hundredths, the edges included
      const v = pick(random, [0.01, 0.5, 1, 599.99, 600, Math.round(random() * 60000) / 100 || 0.01]);
      return v;
    }
    case "voice":
      return pick(random, [0.01, 0.25, 1, 59.99, 60, Math.round(random() * 6000) / 100 || 0.01]);
  }
}

let boss;
before(async () => {
  boss = await admin();
  await openLimits(boss.client);
});
after(async () => {
  // Back to the contract's default prices for whoever runs next on these emulators.
  await boss.client.admin.updateConfiguration({ costs: { image: 10, video: 5, voice: 3, chat: 0.01 } });
  await closeAll();
});

it(`preview.cost equals creditsCharged and ceil(quantity x price) for ${CASES} random generations (seed ${SEED})`, async (t) => {
  t.diagnostic(`CREDITS_TEST_SEED=${SEED}`);
  const random = rng(SEED);
  const { client, uid } = await signedInUser();
  await client.getCreditStatus();
  await boss.client.admin.grantCredits({ userId: uid, amount: 1_000_000, reason: "preview-vs-charge test" });
  // First worked cases (100 x 0.07 is 7.000000000000001 in floating point: ceil would charge 8,
  // exactly it is 7), then random ones.
  const fixed = [["chat", 100], ["voice", 20], ["video", 7], ["image", 4], ["chat", 1001]];
  let prices = { image: 2.25, video: 0.3, voice: 1.35, chat: 0.07 };
  await boss.client.admin.updateConfiguration({ costs: prices });
  let balance = (await client.getCreditStatus()).credits;
  const checked = { image: 0, video: 0, voice: 0, chat: 0, rounded: 0 };
  for (let n = 0; n < fixed.length + CASES; n++) {
    if (n >= fixed.length && (n - fixed.length) % 15 === 0) {
      prices = randomPrices(random);
      await boss.client.admin.updateConfiguration({ costs: prices });
    }
    const type = n < fixed.length ? fixed[n][0] : pick(random, ["image", "video", "voice", "chat"]);
    const quantity = n < fixed.length ? fixed[n][1] : randomQuantity(random, type);
    const expected = expectedCharge(quantity, prices[type]);
    const label = `${type} x ${quantity} at ${prices[type]} (case ${n}, seed ${SEED})`;

    const status = await client.previewCost({ type, quantity });
    assert.equal(status.costs[type], prices[type], `configured price, ${label}`);
    assert.equal(status.preview.cost, expected, `preview, ${label}`);
    assert.equal(status.preview.affordable, balance >= expected, `affordable, ${label}`);

    if (balance < expected) continue;
    const charge = await client.generate({ type, quantity, prompt: `preview check ${n}` });
    assert.equal(charge.creditsCharged, expected, `charge, ${label}`);
    assert.equal(charge.remainingCredits, balance - expected, `balance, ${label}`);
    balance = charge.remainingCredits;
    checked[type]++;
    if (!Number.isInteger(quantity * prices[type])) checked.rounded++;
  }
  t.diagnostic(`charged and compared: ${JSON.stringify(checked)}`);
  assert.ok(checked.rounded > 0, "some cases must need rounding up");
});

it("rounds up exactly where floating point would not (worked examples)", () => {
  // 100 x 0.07 is 7.000000000000001 in floating point, whose ceiling is 8; exactly it is 7.
  assert.equal(Math.ceil(100 * 0.07), 8);
  assert.equal(expectedCharge(100, 0.07), 7);
  // 1000 chat tokens at 0.01 cost exactly 10 (the contract's example); 1001 cost 11.
  assert.equal(expectedCharge(1000, 0.01), 10);
  assert.equal(expectedCharge(1001, 0.01), 11);
  assert.equal(expectedCharge(600, 4.333333), 2600);
  assert.equal(expectedCharge(0.01, 0.000123), 1);
});
