/**
 * The one module that talks to the credit backend: its callables through the Functions SDK,
 * and the documents a signed-in user may read through Firestore listeners.
 *
 * Every call returns the backend's result or throws a {@link CreditsFailure}; every charge
 * carries a `requestId`, generated here once per generation and reused on each retry, so a
 * retried charge is never charged twice (the backend answers a repeated key with the first
 * result).
 */
import type { FirebaseApp } from "firebase/app";
import {
  collection,
  doc,
  getFirestore,
  limit as limitTo,
  onSnapshot,
  orderBy,
  query,
  where,
  type DocumentData,
  type DocumentSnapshot,
  type Firestore,
} from "firebase/firestore";
import { getFunctions, httpsCallable, type Functions } from "firebase/functions";
import { CreditsError, toCreditsError } from "./errors.js";
import { withRetry, type RetryOptions } from "./retry.js";
import type {
  CheckoutSession,
  PaymentReturn,
  Product,
  Activity,
  ActivityStatus,
  Balance,
  ConfigurationResult,
  CostPreview,
  CreditStatus,
  GenerateRequest,
  GenerateResult,
  GenerationType,
  GrantRequest,
  GrantResult,
  PreviewRequest,
  PromoGrantRequest,
  PromoGrantResult,
  SetIpBlockRequest,
  SetUserPlanRequest,
  SetUserPlanResult,
  SetUserStatusRequest,
  StatsRange,
  StatusUpdate,
  StatusUpdateResult,
} from "./types.js";
import type { ModerationTestResult, SetIpBlockResult, SetUserStatusResult, UsageStats } from "./admin-types.js";

export const DEFAULT_REGION = "us-central1";

export interface CreditsClientOptions {
  app: FirebaseApp;
  /** A Functions instance of your own (e.g. already connected to the emulator). */
  functions?: Functions;
  firestore?: Firestore;
  /** Functions region (default us-central1, where the backend is deployed). */
  region?: string;
  retry?: RetryOptions;
  /** Per-call timeout in milliseconds (default 30 s). */
  timeoutMs?: number;
}

/** Stops a listener. */
export type Unsubscribe = () => void;

/** A fresh idempotency key (`[A-Za-z0-9_.:-]`, as the contract requires). */
export function newRequestId(): string {
  const c = globalThis.crypto;
  if (c?.randomUUID) return c.randomUUID();
  const bytes = new Uint8Array(16);
  c.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class CreditsClient {
  readonly functions: Functions;
  readonly firestore: Firestore;
  private readonly retry: RetryOptions;
  private readonly timeoutMs: number;

  constructor(options: CreditsClientOptions) {
    this.functions = options.functions ?? getFunctions(options.app, options.region ?? DEFAULT_REGION);
    this.firestore = options.firestore ?? getFirestore(options.app);
    this.retry = options.retry ?? {};
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  // ---------------------------------------------------------------- callables

  /**
   * Balance, status, costs, remaining rate limits and the sign-up grant. The first call of a
   * new user creates the account, so a page calls this once after sign-in. Read-only
   * otherwise: retried on no answer as well as on contention and unavailability.
   */
  async getCreditStatus(options: { retry?: RetryOptions } = {}): Promise<CreditStatus> {
    return this.call<CreditStatus>("getCreditStatus", {}, true, options.retry);
  }

  /**
   * What a generation would cost and whether it would go through now, computed by the backend
   * exactly as the charge is. Resolves with the whole status, `preview` filled in.
   */
  async previewCost(request: PreviewRequest, options: { retry?: RetryOptions } = {}): Promise<CreditStatus & { preview: CostPreview }> {
    const preview: PreviewRequest = { type: request.type };
    if (request.quantity !== undefined) preview.quantity = request.quantity;
    const status = await this.call<CreditStatus>("getCreditStatus", { preview }, true, options.retry);
    if (!status.preview) throw toCreditsError({ code: "functions/internal", message: "the backend sent no preview" });
    return status as CreditStatus & { preview: CostPreview };
  }

  /**
   * Charges one generation and opens its activity (`pending`). Sends a `requestId` (the
   * caller's, or a fresh one) and keeps it across retries; an error thrown carries it in
   * `error.requestId`, so a "try again" button can send the very same request later.
   */
  async generate(request: GenerateRequest, options: { retry?: RetryOptions } = {}): Promise<GenerateResult> {
    const requestId = request.requestId ?? newRequestId();
    const data: GenerateRequest = { ...request, requestId };
    try {
      const result = await this.call<Omit<GenerateResult, "requestId">>("validateAndDeductCredits", data, true, options.retry);
      return { ...result, requestId };
    } catch (error) {
      (error as CreditsError).requestId = requestId;
      throw error;
    }
  }

  /**
   * Reports how a generation goes. The owner may report `processing` with `progress`,
   * `completed` without `actualQuantity`, and `failed` while `pending` (see {@link cancel});
   * the rest is the generator's (`NotAllowed` otherwise). Not retried on a lost answer: a
   * repeated final status would be refused as an invalid transition.
   */
  async updateStatus(update: StatusUpdate, options: { retry?: RetryOptions } = {}): Promise<StatusUpdateResult> {
    return this.call<StatusUpdateResult>("updateAIActivityStatus", update, false, options.retry);
  }

  /** `processing` with a progress percentage (0..100). */
  reportProgress(activityId: string, progress: number): Promise<StatusUpdateResult> {
    return this.updateStatus({ activityId, status: "processing", progress: Math.max(0, Math.min(100, Math.round(progress))) });
  }

  /**
   * Cancels a generation that has not started (`pending` -> `failed`): the charge is refunded.
   * Sent without an `error` message: saying why a generation failed is the generator's.
   */
  cancel(activityId: string): Promise<StatusUpdateResult> {
    return this.updateStatus({ activityId, status: "failed" });
  }

  /** `completed`; `actualQuantity` settles the charge (generator or admin, or owners where the configuration allows it). */
  complete(activityId: string, actualQuantity?: number): Promise<StatusUpdateResult> {
    const update: StatusUpdate = { activityId, status: "completed" };
    if (actualQuantity !== undefined) update.actualQuantity = actualQuantity;
    return this.updateStatus(update);
  }

  /** `failed` with a message: the whole charge is refunded. */
  fail(activityId: string, error: string): Promise<StatusUpdateResult> {
    return this.updateStatus({ activityId, status: "failed", error });
  }

  /**
   * Buys a product through Stripe Checkout: asks the backend for a session, then leaves the
   * page for it. The credits arrive with Stripe's webhook, not with the return to
   * `successUrl`: watch the balance ({@link watchBalance}) to see them. A double click makes one
   * session (the backend's idempotency key). Resolves with the session (after the redirect
   * has been asked for).
   */
  async buyCredits(productId: string, options: PaymentReturn = {}): Promise<CheckoutSession> {
    const here = currentUrl();
    const session = await this.call<CheckoutSession>(
      "createCheckoutSession",
      { productId, successUrl: options.successUrl ?? withParam(here, "checkout", "success"), cancelUrl: options.cancelUrl ?? withParam(here, "checkout", "cancel") },
      true,
    );
    (options.redirect ?? redirect)(session.url);
    return session;
  }

  /** Opens Stripe's billing portal, where a subscriber changes or cancels the plan. */
  async manageSubscription(options: { returnUrl?: string; redirect?: (url: string) => void } = {}): Promise<string> {
    const { url } = await this.call<{ url: string }>("createBillingPortalSession", { returnUrl: options.returnUrl ?? currentUrl() }, true);
    (options.redirect ?? redirect)(url);
    return url;
  }

  /** The products on sale, live, from the public configuration (active ones, packs first, then by credits). */
  watchProducts(callback: (products: Product[]) => void, onError?: (error: Error) => void): Unsubscribe {
    return onSnapshot(
      doc(this.firestore, "system_config", "credits"),
      (snap) => callback(toProducts(snap.data()?.products, snap.data()?.plans)),
      (error) => onError?.(error),
    );
  }

  /** The admin callables (the caller's ID token needs the `admin` claim, else `AdminRequired`). */
  readonly admin = {
    grantCredits: (request: GrantRequest): Promise<GrantResult> =>
      this.call<GrantResult>("grantCreditsToUser", withWireTimes({ ...request, requestId: request.requestId ?? newRequestId() }), true),
    /** Puts a user on a configured plan (its period and allowance start now), or ends the plan (`planId: null`). Audited. */
    setUserPlan: (request: SetUserPlanRequest): Promise<SetUserPlanResult> =>
      this.call<SetUserPlanResult>("setUserPlan", { userId: request.userId, planId: request.planId }, false),
    /**
     * A promotional grant to many users, run as a resumable job (one ledger entry per user, one
     * audit entry). Retried with the same `requestId`, which is the same job: a resend continues it.
     */
    grantPromoCredits: (request: PromoGrantRequest): Promise<PromoGrantResult> =>
      this.call<PromoGrantResult>("grantPromoCredits", withWireTimes({ ...request, requestId: request.requestId ?? newRequestId() }), true),
    updateConfiguration: (changes: Record<string, unknown>): Promise<ConfigurationResult> =>
      this.call<ConfigurationResult>("updateCreditConfiguration", changes, false),
    setUserStatus: (request: SetUserStatusRequest): Promise<SetUserStatusResult> =>
      this.call<SetUserStatusResult>("setUserStatus", request, false),
    setIpBlock: (request: SetIpBlockRequest): Promise<SetIpBlockResult> => this.call<SetIpBlockResult>("setIpBlock", request, false),
    getUsageStats: (range?: StatsRange): Promise<UsageStats> => this.call<UsageStats>("getUsageStats", range ? { range } : {}, true),
    /** The moderation verdict a charge with `prompt` would get now; charges and records nothing. */
    testModeration: (prompt: string): Promise<ModerationTestResult> =>
      this.call<ModerationTestResult>("testModeration", { prompt }, true),
  };

  private async call<T>(name: string, data: unknown, idempotent: boolean, retry?: RetryOptions): Promise<T> {
    const callable = httpsCallable<unknown, T>(this.functions, name, { timeout: this.timeoutMs });
    return withRetry(async () => (await callable(data)).data, idempotent, { ...this.retry, ...retry });
  }

  // ---------------------------------------------------------------- live documents

  /**
   * Calls `callback` with the balance now and at every change of `users/{uid}` (charges,
   * refunds, grants, the low-balance flag, a suspension). Only the owner (or an admin) may
   * listen; a refusal goes to `onError`.
   */
  watchBalance(uid: string, callback: (balance: Balance) => void, onError?: (error: Error) => void): Unsubscribe {
    return onSnapshot(
      doc(this.firestore, "users", uid),
      (snap) => callback(toBalance(snap)),
      (error) => onError?.(error),
    );
  }

  /** Calls `callback` with the activity now and at every change, until it is final and beyond (unsubscribe then). */
  watchActivity(activityId: string, callback: (activity: Activity | null) => void, onError?: (error: Error) => void): Unsubscribe {
    return onSnapshot(
      doc(this.firestore, "ai_activity", activityId),
      (snap) => callback(snap.exists() ? toActivity(snap.id, snap.data()) : null),
      (error) => onError?.(error),
    );
  }

  /** The user's latest activities, newest first, live. */
  watchActivities(
    uid: string,
    callback: (activities: Activity[]) => void,
    options: { max?: number; onError?: (error: Error) => void } = {},
  ): Unsubscribe {
    const q = query(
      collection(this.firestore, "ai_activity"),
      where("userId", "==", uid),
      orderBy("createdAt", "desc"),
      limitTo(options.max ?? 10),
    );
    return onSnapshot(
      q,
      (snap) => callback(snap.docs.map((d) => toActivity(d.id, d.data()))),
      (error) => options.onError?.(error),
    );
  }
}

function currentUrl(): string {
  const loc = (globalThis as { location?: { href?: string } }).location;
  if (!loc?.href) throw new Error("buyCredits/manageSubscription need return urls outside a browser");
  return loc.href;
}

function withParam(url: string, name: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(name, value);
  return u.toString();
}

function redirect(url: string): void {
  (globalThis as unknown as { location: { assign(url: string): void } }).location.assign(url);
}

/** The active products of a stored configuration, packs first, then by credits. */
export function toProducts(stored: unknown, plans?: unknown): Product[] {
  if (!stored || typeof stored !== "object") return [];
  const planMap = (plans && typeof plans === "object" ? plans : {}) as Record<string, Record<string, unknown> | null>;
  const out: Product[] = [];
  for (const [id, raw] of Object.entries(stored as Record<string, Record<string, unknown>>)) {
    if (!raw || raw.active === false || (raw.kind !== "pack" && raw.kind !== "plan")) continue;
    const product: Product = { id, kind: raw.kind, priceId: String(raw.priceId ?? ""), active: true };
    if (typeof raw.credits === "number") product.credits = raw.credits;
    if (typeof raw.planId === "string") product.planId = raw.planId;
    if (typeof raw.expiresInDays === "number") product.expiresInDays = raw.expiresInDays;
    const plan = product.planId ? planMap[product.planId] : undefined;
    if (product.kind === "plan" && plan) {
      if (typeof plan.monthlyCredits === "number") product.credits = plan.monthlyCredits;
      if (typeof plan.name === "string") product.planName = plan.name;
    }
    out.push(product);
  }
  return out.sort((a, b) => (a.kind === b.kind ? (a.credits ?? 0) - (b.credits ?? 0) : a.kind === "pack" ? -1 : 1));
}

/** `expiresAt` given as a Date is sent as ISO 8601 in UTC (the callables take a string). */
export function withWireTimes<T extends { expiresAt?: string | Date }>(request: T): Omit<T, "expiresAt"> & { expiresAt?: string } {
  const { expiresAt, ...rest } = request;
  if (expiresAt === undefined) return rest;
  return { ...rest, expiresAt: expiresAt instanceof Date ? expiresAt.toISOString() : expiresAt };
}

function toBalance(snap: DocumentSnapshot<DocumentData>): Balance {
  const d = snap.data() ?? {};
  const balance: Balance = {
    exists: snap.exists(),
    credits: typeof d.credits === "number" ? d.credits : 0,
    status: d.status === "suspended" ? "suspended" : "active",
    lowBalance: d.lowBalance === true,
    fromCache: snap.metadata.fromCache,
  };
  if (d.signupGrant === "granted" || d.signupGrant === "withheld") balance.signupGrant = d.signupGrant;
  if (typeof d.signupGrantRule === "string") balance.signupGrantRule = d.signupGrantRule as NonNullable<Balance["signupGrantRule"]>;
  if (typeof d.debt === "number" && d.debt > 0) balance.debt = d.debt;
  return balance;
}

const FINAL: ReadonlySet<ActivityStatus> = new Set(["completed", "failed"]);

function toActivity(id: string, d: DocumentData): Activity {
  const status = (["pending", "processing", "completed", "failed"] as const).includes(d.status) ? (d.status as ActivityStatus) : "pending";
  const activity: Activity = {
    id,
    userId: String(d.userId ?? ""),
    type: d.type as GenerationType,
    status,
    progress: typeof d.progress === "number" ? d.progress : status === "completed" ? 100 : 0,
    creditsCharged: typeof d.creditsCharged === "number" ? d.creditsCharged : 0,
    refundedCredits: typeof d.refundedCredits === "number" ? d.refundedCredits : 0,
    final: FINAL.has(status),
  };
  if (typeof d.quantity === "number") activity.quantity = d.quantity;
  if (typeof d.processingTimeMs === "number") activity.processingTimeMs = d.processingTimeMs;
  if (typeof d.error === "string") activity.error = d.error;
  return activity;
}
