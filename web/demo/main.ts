/**
 * The demo app: sign in, live balance, a cost preview before generating, a generation
 * followed from pending to its end, and every refusal shown as a person would want it.
 *
 * This page renders state and calls the client library; it never talks to Firebase itself.
 */
import {
  countdown,
  expiryNotice,
  formatSeconds,
  planLine,
  toCreditsError,
  type Activity,
  type Balance,
  type CostPreview,
  type Countdown,
  type CreditsFailure,
  type CreditStatus,
  type GenerationType,
  type Product,
  type Unsubscribe,
} from "@credit-backend/client";
import { connectBackend } from "../shared/backend";
import { $, fmtCredits, fmtInt, fmtNum, h, shortDate, withAuthMessage } from "../shared/kit";

const { session, emulated, projectId } = connectBackend();
const { client } = session;

const UNITS: Record<GenerationType, [one: string, many: string]> = {
  image: ["image", "images"],
  video: ["second of video", "seconds of video"],
  voice: ["minute of voice", "minutes of voice"],
  chat: ["token", "tokens"],
};
const INTEGER_TYPES: ReadonlySet<GenerationType> = new Set(["image", "chat"]);
const GRANT_RULES: Record<string, string> = {
  anonymous: "guest accounts do not receive starter credits",
  email_unverified: "starter credits are given once your email address is verified",
  ip_limit: "your network has already received the starter credits allowed for today",
};

// ------------------------------------------------------------------ state
interface State {
  uid: string | null;
  email: string | null;
  status: CreditStatus | null;
  balance: Balance | null;
  preview: CostPreview | null;
  previewFor: string;
  previewError: CreditsFailure | null;
  busy: boolean;
  problem: CreditsFailure | null;
  retryRequestId: string | null;
  waitSeconds: number | null;
  activity: Activity | null;
  recent: Activity[];
  products: Product[];
  buying: string | null;
  shopError: string | null;
}
const state: State = {
  uid: null,
  email: null,
  status: null,
  balance: null,
  preview: null,
  previewFor: "",
  previewError: null,
  busy: false,
  problem: null,
  retryRequestId: null,
  waitSeconds: null,
  activity: null,
  recent: [],
  products: [],
  buying: null,
  shopError: null,
};

const typeSelect = $<HTMLSelectElement>("type");
const quantityInput = $<HTMLInputElement>("quantity");
const promptInput = $<HTMLTextAreaElement>("prompt");

let listeners: Unsubscribe[] = [];
let activityListener: Unsubscribe | null = null;
let ticking: Countdown | null = null;

// ------------------------------------------------------------------ auth
session.onUserChanged(async (user) => {
  listeners.forEach((stop) => stop());
  listeners = [];
  activityListener?.();
  activityListener = null;
  stopCountdown();
  Object.assign(state, { uid: user?.uid ?? null, email: user?.email ?? null, status: null, balance: null, preview: null, problem: null, activity: null, recent: [] });
  render();
  if (!user) return;
  try {
    // The first call creates the account (and decides the sign-up grant): the balance is there before any generation.
    state.status = await client.getCreditStatus();
  } catch (err) {
    state.problem = toCreditsError(err);
  }
  listeners.push(
    client.watchBalance(user.uid, (balance) => {
      // The first snapshot is no change: the preview scheduled after sign-in already covers it.
      const changed = state.balance !== null && (state.balance.credits !== balance.credits || state.balance.status !== balance.status);
      state.balance = balance;
      render();
      if (changed) schedulePreview(0);
    }),
    client.watchActivities(user.uid, (activities) => {
      state.recent = activities;
      render();
    }, { max: 5 }),
    client.watchProducts((products) => {
      state.products = products;
      renderShop();
    }),
  );
  render();
  schedulePreview(0);
});

$("sign-in-form").addEventListener("submit", (e) => {
  e.preventDefault();
  void authAction(() => session.signIn(value("email"), value("password")));
});
$("sign-up").addEventListener("click", () => {
  void authAction(() => session.signUp(value("email"), value("password")));
});
$("sign-out").addEventListener("click", () => void session.signOut());

function authAction(action: () => Promise<unknown>): Promise<void> {
  return withAuthMessage($("auth-error"), action);
}

// ------------------------------------------------------------------ preview
let previewTimer: ReturnType<typeof setTimeout> | undefined;
let previewSeq = 0;

function schedulePreview(delayMs = 250): void {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(() => void refreshPreview(), delayMs);
}

async function refreshPreview(): Promise<void> {
  if (!state.uid) return;
  const type = typeSelect.value as GenerationType;
  const quantity = Number(quantityInput.value);
  const seq = ++previewSeq;
  try {
    const status = await client.previewCost({ type, quantity });
    if (seq !== previewSeq) return; // a newer preview is on its way
    state.status = status;
    state.preview = status.preview;
    state.previewFor = `${type}:${quantity}`;
    state.previewError = null;
    if (status.preview.reason === "rate_limited" && status.preview.retryAfterSeconds) startCountdown(status.preview.retryAfterSeconds);
  } catch (err) {
    if (seq !== previewSeq) return;
    state.preview = null;
    state.previewError = toCreditsError(err);
  }
  render();
}

typeSelect.addEventListener("change", () => {
  const type = typeSelect.value as GenerationType;
  quantityInput.step = INTEGER_TYPES.has(type) ? "1" : "any";
  quantityInput.value = type === "chat" ? "1000" : type === "video" ? "4" : "1";
  state.preview = null;
  clearProblem();
  render();
  schedulePreview(0);
});
// A "Try again" resends the very same request; once the request changes it is a new one.
for (const input of [typeSelect, quantityInput, promptInput]) input.addEventListener("input", () => (state.retryRequestId = null));
quantityInput.addEventListener("input", () => {
  state.preview = null;
  render();
  schedulePreview();
});

// ------------------------------------------------------------------ generate
$("generate-form").addEventListener("submit", (e) => {
  e.preventDefault();
  void generate(state.retryRequestId ?? undefined);
});

async function generate(requestId?: string): Promise<void> {
  if (state.busy) return;
  state.busy = true;
  clearProblem();
  render();
  try {
    const request = { type: typeSelect.value as GenerationType, quantity: Number(quantityInput.value), prompt: promptInput.value };
    const result = await client.generate(requestId ? { ...request, requestId } : request);
    state.retryRequestId = null;
    follow(result.activityId);
  } catch (err) {
    const failure = toCreditsError(err);
    state.problem = failure;
    // A charge whose answer was lost may have gone through: "Try again" resends the same key.
    state.retryRequestId = failure.retryable ? (failure.requestId ?? null) : null;
    if (failure.reason === "rate_limited") startCountdown(failure.retryAfterSeconds);
  } finally {
    state.busy = false;
    render();
    schedulePreview(0);
  }
}

function follow(activityId: string): void {
  activityListener?.();
  state.activity = null;
  activityListener = client.watchActivity(activityId, (activity) => {
    state.activity = activity;
    render();
  });
}

$("cancel").addEventListener("click", async () => {
  if (!state.activity) return;
  try {
    await client.cancel(state.activity.id);
  } catch (err) {
    state.problem = toCreditsError(err);
    render();
  }
});

// ------------------------------------------------------------------ countdown
function startCountdown(seconds: number): void {
  stopCountdown();
  ticking = countdown(seconds, (left) => {
    state.waitSeconds = left;
    render();
  }, {
    onDone: () => {
      state.waitSeconds = null;
      ticking = null;
      if (state.problem?.reason === "rate_limited") state.problem = null;
      render();
      schedulePreview(0);
    },
  });
}
function stopCountdown(): void {
  ticking?.cancel();
  ticking = null;
  state.waitSeconds = null;
}
function clearProblem(): void {
  state.problem = null;
  $("problem").hidden = true;
}

// ------------------------------------------------------------------ render
function render(): void {
  const signedIn = state.uid !== null;
  $("signed-out").hidden = signedIn;
  $("signed-in").hidden = !signedIn;
  $("who").hidden = !signedIn;
  if (!signedIn) return;

  const credits = state.balance?.exists ? state.balance.credits : state.status?.credits;
  const status = state.balance?.exists ? state.balance.status : state.status?.status;
  const low = state.balance?.exists ? state.balance.lowBalance : state.status?.lowBalance;
  $("who-email").textContent = state.email ?? "";
  $("balance").textContent = credits === undefined ? "–" : fmtInt(credits);
  $("low-balance").hidden = !low;
  const debt = state.balance?.debt ?? state.status?.debt ?? 0;
  $("debt").hidden = !debt;
  $("debt").textContent = debt ? `${fmtInt(debt)} credits owed` : "";
  const next = expiryNotice(state.status?.nextExpiry);
  $("next-expiry").hidden = next === null;
  $("next-expiry").textContent = next ?? "";
  $("low-prompt").hidden = !low || status === "suspended";
  renderCheckoutReturn();
  $("suspended").hidden = status !== "suspended";
  renderGrant();
  renderHoldings();

  const type = typeSelect.value as GenerationType;
  const quantity = Number(quantityInput.value);
  $("unit").textContent = UNITS[type][1];
  renderPreview(type, quantity, credits);
  renderProblem();

  const preview = state.preview;
  const blocked = !preview || !preview.allowed || state.waitSeconds !== null || status === "suspended";
  const button = $<HTMLButtonElement>("generate");
  button.disabled = state.busy || blocked;
  button.textContent = state.busy ? "Generating…" : state.retryRequestId ? "Try again" : "Generate";

  renderActivity();
  renderRecent();
}

function renderGrant(): void {
  const box = $("grant");
  const withheld = (state.balance?.signupGrant ?? state.status?.signupGrant) === "withheld";
  box.hidden = !withheld;
  if (!withheld) return;
  const rule = state.balance?.signupGrantRule ?? state.status?.signupGrantRule;
  box.innerHTML = "";
  box.append(h("h2", { text: "No starter credits on this account" }), h("p", { text: `Your account was created with 0 credits: ${GRANT_RULES[rule ?? ""] ?? "the sign-up policy withheld them"}. You can still buy credits or ask an admin for a grant.` }));
}

const SOURCE_LABELS: Record<string, string> = {
  signup: "Starter credits",
  plan: "Plan allowance",
  purchase: "Purchased",
  promo: "Promotion",
  admin: "Granted by support",
  legacy: "Balance",
  refund: "Refunded",
};

/**
 * The plan, the credits that expire next ("120 credits expire on 31 Dec") and the live buckets
 * in the order they are spent, from the last `getCreditStatus` (the preview refreshes it at
 * every change of the balance).
 */
function renderHoldings(): void {
  const status = state.status;
  $("holdings").hidden = !status;
  if (!status) return;
  $("plan").textContent = planLine(status.plan) ?? "No plan";
  const notice = expiryNotice(status.nextExpiry);
  const expiry = $("expiry");
  expiry.hidden = notice === null;
  expiry.textContent = notice ?? "";
  const list = $("buckets");
  list.innerHTML = "";
  for (const b of status.buckets ?? []) {
    list.append(
      h(
        "li",
        { testid: "bucket", "data-source": b.source },
        h("span.source", { text: SOURCE_LABELS[b.source] ?? b.source }),
        `${fmtInt(b.remaining)} credits, ${b.expiresAt ? `expires ${shortDate(b.expiresAt)}` : "no expiry"}`,
      ),
    );
  }
}

function renderPreview(type: GenerationType, quantity: number, credits: number | undefined): void {
  const box = $("preview");
  box.className = "preview";
  const p = state.preview;
  if (state.previewError) {
    const e = state.previewError;
    box.textContent = e.reason === "invalid_request" ? fieldMessage(e.errors) : "The cost cannot be worked out right now.";
    box.classList.add("bad");
    return;
  }
  if (!p || state.previewFor !== `${type}:${quantity}`) {
    box.textContent = "Working out the cost…";
    return;
  }
  const unitCost = state.status?.costs?.[type];
  const units = quantity === 1 ? UNITS[type][0] : UNITS[type][1];
  const how = unitCost !== undefined ? ` (${fmtNum(quantity)} ${units} × ${unitCost} credit${Number(unitCost) === 1 ? "" : "s"}${Number.isInteger(quantity * Number(unitCost)) ? "" : ", rounded up"})` : "";
  box.replaceChildren(
    "This costs ",
    h("strong", { testid: "preview-cost", text: fmtCredits(p.cost) }),
    `${how}. `,
  );
  if (p.allowed && credits !== undefined) box.append(`You will have ${fmtInt(credits - p.cost)} left.`);
  if (!p.allowed) {
    box.classList.add("bad");
    if (p.reason === "insufficient_credits") box.append(upgradePrompt(p.cost, credits ?? 0));
    else if (p.reason === "rate_limited") box.append(rateLimitNote(null));
    else if (p.reason === "account_suspended") box.append("Generation is off while the account is suspended.");
    else if (p.reason === "ip_blocked") box.append("Requests from your network are blocked.");
  }
}

function upgradePrompt(required: number, available: number): HTMLElement {
  return h(
    "div.upgrade",
    { testid: "upgrade" },
    h("strong", { text: "Not enough credits." }),
    ` This needs ${fmtInt(required)}, you have ${fmtInt(available)}: ${fmtInt(Math.max(0, required - available))} more to go. `,
    h("button", { testid: "upgrade-button", text: "Get more credits" }),
  );
}

function rateLimitNote(failure: Extract<CreditsFailure, { reason: "rate_limited" }> | null): HTMLElement {
  const box = h("div.rate-limit", { testid: "rate-limit" });
  const type = typeSelect.value as GenerationType;
  const known = state.status?.rateLimits?.[type]?.limit;
  let limit: string;
  const used = (n: number, what: string) => (n === 1 ? `your 1 ${what}` : `all ${n} ${what}s`);
  if (failure?.scope === "ip") limit = ` Your network has used ${used(failure.limit, "request")} allowed per ${windowText(failure.windowSeconds)}.`;
  else if (failure) limit = ` You have used ${used(failure.limit, `${type} generation`)} allowed per ${windowText(failure.windowSeconds)}.`;
  else limit = known ? ` You have used ${used(known, `${type} generation`)} allowed for now.` : " You have reached the limit for now.";
  box.append(h("strong", { text: "Slow down a little." }), `${limit} You can generate again in `, h("span", { testid: "countdown", text: formatSeconds(state.waitSeconds ?? 0) }), ".");
  return box;
}

function renderProblem(): void {
  const box = $("problem");
  const e = state.problem;
  box.hidden = !e;
  if (!e) return;
  box.className = "problem";
  box.replaceChildren();
  switch (e.reason) {
    case "insufficient_credits":
      box.append(upgradePrompt(e.required, e.available));
      break;
    case "rate_limited":
      box.append(rateLimitNote(e));
      break;
    case "prompt_rejected":
      box.append(h("strong", { text: "This prompt can't be used." }), ` It was flagged as ${e.category.replace(/_/g, " ")}. Nothing was charged: please rephrase it and try again.`);
      break;
    case "account_suspended":
      box.append(h("strong", { text: "Your account is suspended." }), " Generation is switched off. If you think this is a mistake, contact support.");
      break;
    case "ip_blocked":
      box.append(h("strong", { text: "Requests from your network are blocked." }), " Try another connection or contact support.");
      break;
    case "invalid_request":
      box.append(h("strong", { text: "Please check the form. " }), fieldMessage(e.errors));
      break;
    case "unauthenticated":
      box.append(h("strong", { text: "Your session has ended." }), " Sign in again to continue.");
      break;
    case "network":
    case "contention":
    case "backend_unavailable":
      box.append(h("strong", { text: "The service could not be reached." }), " Nothing was charged twice: “Try again” sends the same request, which is charged at most once.");
      break;
    default:
      box.append(h("strong", { text: "Something went wrong." }), " Please try again in a moment.");
  }
  box.dataset.reason = e.reason;
}

function renderActivity(): void {
  const a = state.activity;
  $("activity-card").hidden = !a;
  if (!a) return;
  const label: Record<Activity["status"], string> = { pending: "Waiting to start", processing: "Generating", completed: "Done", failed: "Failed" };
  const badge = $("activity-status");
  badge.textContent = label[a.status];
  badge.className = `status ${a.status}`;
  badge.dataset.status = a.status;
  $("activity-what").textContent = `${a.quantity ?? ""} ${a.quantity === 1 ? UNITS[a.type][0] : UNITS[a.type][1]}`;
  const progress = a.status === "completed" ? 100 : a.progress;
  $("progress-fill").style.width = `${progress}%`;
  $("progressbar").setAttribute("aria-valuenow", String(progress));
  $("progressbar").className = `progress ${a.status}`;
  const money = [`Charged ${a.creditsCharged} credit${a.creditsCharged === 1 ? "" : "s"}`];
  if (a.refundedCredits) money.push(`${a.refundedCredits} refunded`);
  if (a.processingTimeMs !== undefined) money.push(`took ${(a.processingTimeMs / 1000).toFixed(1)} s`);
  if (a.status === "failed" && a.error) money.push(a.error);
  $("activity-money").textContent = money.join(" · ");
  $("cancel").hidden = a.status !== "pending";
}

function renderRecent(): void {
  const list = $("recent");
  list.replaceChildren(
    ...state.recent.map((a) => {
      return h(
        "li",
        null,
        h("span.kind", { text: a.type }),
        h("span", { class: `status ${a.status}`, text: a.status }),
        ` ${a.creditsCharged} credits${a.refundedCredits ? `, ${a.refundedCredits} refunded` : ""}`,
      );
    }),
  );
  if (!state.recent.length) list.append(h("li.empty", { text: "Nothing yet." }));
}

// ------------------------------------------------------------------ getting credits
const shop = $<HTMLDialogElement>("shop");
document.addEventListener("click", (e) => {
  if (!(e.target as HTMLElement).closest("[data-testid=upgrade-button], [data-testid=low-balance-buy], #get-credits")) return;
  state.shopError = null;
  renderShop();
  if (!shop.open) shop.showModal();
});
$("shop-close").addEventListener("click", () => shop.close());
$("manage-plan").addEventListener("click", () => {
  void client.manageSubscription({ returnUrl: returnUrl() }).catch((err) => {
    state.shopError = shopMessage(toCreditsError(err));
    renderShop();
  });
});

function returnUrl(outcome?: string): string {
  const url = new URL(location.pathname, location.origin);
  if (outcome) url.searchParams.set("checkout", outcome);
  return url.toString();
}

async function buy(productId: string): Promise<void> {
  state.buying = productId;
  state.shopError = null;
  renderShop();
  try {
    // Leaves the page for Stripe Checkout; the credits come with Stripe's webhook.
    await client.buyCredits(productId, { successUrl: returnUrl("success"), cancelUrl: returnUrl("cancel") });
  } catch (err) {
    state.buying = null;
    state.shopError = shopMessage(toCreditsError(err));
    renderShop();
  }
}

function shopMessage(e: CreditsFailure): string {
  if (e.reason === "payments_disabled") return "Payments are not available here.";
  if (e.reason === "account_suspended") return "A suspended account cannot buy credits.";
  if (e.reason === "ip_blocked") return "Requests from your network are blocked.";
  if (e.reason === "invalid_request") return "That product is not on sale any more.";
  return "Checkout could not be opened. Please try again.";
}

function renderShop(): void {
  const list = $("products");
  list.replaceChildren(
    ...state.products.map((p) => {
      const what = p.kind === "pack" ? `${fmtInt(p.credits ?? 0)} credits` : `${p.planName ?? p.planId ?? p.id} plan`;
      const detail = p.kind === "pack" ? (p.expiresInDays ? `valid ${p.expiresInDays} days` : "never expire") : `${fmtInt(p.credits ?? 0)} credits every month`;
      const button = h("button.primary", { testid: `buy-${p.id}`, text: state.buying === p.id ? "Opening checkout…" : p.kind === "pack" ? "Buy" : "Subscribe" });
      button.disabled = state.buying !== null;
      button.addEventListener("click", () => void buy(p.id));
      return h("li", { testid: `product-${p.id}` }, h("strong", { text: what }), ` · ${detail} `, button);
    }),
  );
  if (!state.products.length) list.append(h("li.empty", { text: "Nothing is on sale right now." }));
  const plan = state.status?.plan;
  $("shop-plan").hidden = !plan;
  $("shop-plan").textContent = plan
    ? `Your plan: ${plan.name}, ${fmtInt(plan.monthlyCredits)} credits a month (this period ends ${shortDate(plan.periodEnd)}).`
    : "";
  $("manage-plan").hidden = !plan;
  $("shop-error").hidden = !state.shopError;
  $("shop-error").textContent = state.shopError ?? "";
}

const checkoutOutcome = new URLSearchParams(location.search).get("checkout");
function renderCheckoutReturn(): void {
  const box = $("checkout-return");
  box.hidden = !checkoutOutcome;
  if (checkoutOutcome === "success") box.textContent = "Payment received. Your credits appear here as soon as Stripe confirms it.";
  else if (checkoutOutcome === "cancel") box.textContent = "Checkout was cancelled; nothing was charged.";
}

// ------------------------------------------------------------------ helpers
function windowText(seconds: number): string {
  const named: Record<number, string> = { 60: "minute", 3600: "hour", 86400: "day" };
  return named[seconds] ?? `${formatSeconds(seconds)} (min:s)`;
}
function value(id: string): string {
  return $<HTMLInputElement>(id).value.trim();
}
function fieldMessage(errors: Record<string, string>): string {
  return Object.entries(errors).map(([field, message]) => `${field.replace(/^preview\./, "")}: ${message}`).join("; ") || "The request is invalid.";
}

$("env").textContent = emulated ? `Emulator Suite · project ${projectId}` : `Project ${projectId}`;
render();
