/**
 * The wire shapes of the credit backend's callables and of the documents a signed-in client
 * may read (docs/contract.md, revision 3). Field names are the backend's, unchanged.
 */

import type { CreditStatusResponse } from "./contract.gen.js";

/** What a generation produces. Units: image = one image, video = one second, voice = one minute, chat = one token. */
export type GenerationType = "image" | "video" | "voice" | "chat";
export const GENERATION_TYPES: readonly GenerationType[] = ["image", "video", "voice", "chat"];

export type ActivityStatus = "pending" | "processing" | "completed" | "failed";
export type AccountStatus = "active" | "suspended";
export type SignupGrant = "granted" | "withheld";
/** The sign-up policy rule that withheld the grant. */
export type SignupGrantRule = NonNullable<CreditStatusResponse["signupGrantRule"]>;

/** `validateAndDeductCredits` input. `requestId` is filled in by {@link CreditsClient.generate}. */
export interface GenerateRequest {
  type: GenerationType;
  prompt: string;
  /** image: integer 1..10 (default 1); video: seconds; voice: minutes; chat: integer tokens. */
  quantity?: number;
  model?: string;
  /** Idempotency key; one is generated per generation when absent and reused on every retry. */
  requestId?: string;
  deviceId?: string;
}

export interface GenerateResult {
  activityId: string;
  creditsCharged: number;
  remainingCredits: number;
  status: "pending";
  /** The idempotency key the charge was sent with (added by the client, not by the backend). */
  requestId: string;
}

/** `updateAIActivityStatus` input. */
export interface StatusUpdate {
  activityId: string;
  status: Exclude<ActivityStatus, "pending">;
  progress?: number;
  actualQuantity?: number;
  error?: string;
}

export interface StatusUpdateResult {
  activityId: string;
  status: ActivityStatus;
  creditsCharged: number;
  refundedCredits: number;
  remainingCredits: number;
  processingTimeMs?: number;
}

export interface PreviewRequest {
  type: GenerationType;
  quantity?: number;
}

export interface RateLimitStatus {
  limit: number;
  remaining: number;
  resetInSeconds: number;
}

/** Why a previewed generation would be refused (a `details.reason` of the charge). */
export type PreviewRefusal = "insufficient_credits" | "rate_limited" | "account_suspended" | "ip_blocked" | (string & {});

export interface CostPreview {
  /** Exactly what the charge would take: ceil(quantity x unit cost). */
  cost: number;
  affordable: boolean;
  allowed: boolean;
  reason?: PreviewRefusal;
  retryAfterSeconds?: number;
}

/**
 * Where a bucket's credits came from (revision 3). `legacy` is a balance from before buckets;
 * `refund` credits returned to a bucket that no longer exists.
 */
export type BucketSource = "signup" | "plan" | "purchase" | "promo" | "admin" | "legacy" | "refund";
export const BUCKET_SOURCES: readonly BucketSource[] = ["signup", "plan", "purchase", "promo", "admin", "legacy", "refund"];

/** One live grant bucket as `getCreditStatus` shows it (the list comes in spend order). */
export interface CreditBucket {
  source: BucketSource | (string & {});
  remaining: number;
  /** ISO 8601 (UTC, `Z`); null for credits that never expire. */
  expiresAt: string | null;
}

/** The credits that expire soonest: every live bucket sharing the soonest `expiresAt`. */
export interface NextExpiry {
  credits: number;
  /** ISO 8601 (UTC, `Z`). */
  at: string;
}

/** The user's plan (`null` without one, or when the plan is no longer configured). */
export interface PlanStatus {
  id: string;
  name: string;
  monthlyCredits: number;
  /** The current period's end, ISO 8601 (UTC); the allowance renews on the first call after it. */
  periodEnd: string;
}

/** `getCreditStatus` result. */
export interface CreditStatus {
  credits: number;
  status: AccountStatus;
  lowBalance: boolean;
  lowBalanceThreshold?: number;
  costs: Record<GenerationType, number>;
  rateLimits: Partial<Record<GenerationType, RateLimitStatus>>;
  signupGrant?: SignupGrant;
  signupGrantRule?: SignupGrantRule;
  preview?: CostPreview;
  /** The live grant buckets, in spend order (the credits a charge takes first come first). */
  buckets?: BucketStatus[];
  /** The credits that lapse soonest and when; null when nothing expires. */
  nextExpiry?: NextExpiry | null;
  /** Credits owed after a refund or chargeback took back what was already spent; the next purchase pays it first. */
  debt?: number;
  /** The user's plan (set by an admin, or paid through Stripe), null without one. */
  plan?: PlanStatus | null;
}

/** One live bucket of `getCreditStatus().buckets` (the name the payments views use). */
export type BucketStatus = CreditBucket;

/** A product on sale (`system_config/credits.products`). */
export interface Product {
  id: string;
  kind: "pack" | "plan";
  priceId: string;
  /** A pack's credits; for a plan, its plan's `monthlyCredits` (from `plans`). */
  credits?: number;
  planId?: string;
  /** A plan product's plan name (from `plans`). */
  planName?: string;
  expiresInDays?: number;
  active: boolean;
}

/** `createCheckoutSession` result. */
export interface CheckoutSession {
  sessionId: string;
  url: string;
}

/** Where Checkout and the billing portal send the user back (origins on `payments.allowedOrigins`). */
export interface PaymentReturn {
  successUrl?: string;
  cancelUrl?: string;
  /** How to leave the page for Stripe (default `location.assign`); tests and frameworks may pass their own. */
  redirect?: (url: string) => void;
}

/** The fields of `users/{uid}` a balance display needs (the owner may read the document). */
export interface Balance {
  /** False until the account exists (it is created by the first call, `getCreditStatus` included). */
  exists: boolean;
  credits: number;
  status: AccountStatus;
  lowBalance: boolean;
  signupGrant?: SignupGrant;
  signupGrantRule?: SignupGrantRule;
  /** True while the value comes from the local cache and not yet from the server. */
  fromCache: boolean;
  /** Credits owed (see {@link CreditStatus.debt}); absent when none. */
  debt?: number;
}

/** `ai_activity/{id}` as its owner sees it. */
export interface Activity {
  id: string;
  userId: string;
  type: GenerationType;
  status: ActivityStatus;
  progress: number;
  quantity?: number;
  creditsCharged: number;
  refundedCredits: number;
  processingTimeMs?: number;
  error?: string;
  /** True once the activity can no longer change (`completed` or `failed`). */
  final: boolean;
}

// ------------------------------------------------------------------ admin callables
export interface GrantRequest {
  userId: string;
  /** Positive: a new bucket; negative: a claw-back in reverse spend order (purchased credits last). */
  amount: number;
  /** The admin's reason (kept in the audit entry; the user does not see it). */
  reason: string;
  /** When the granted credits lapse (positive grants only): in the future; a Date is sent as ISO 8601 UTC. */
  expiresAt?: string | Date;
  /** The bucket's source (positive grants only; default `admin`). */
  source?: "admin" | "promo";
  /** What the user reads on the ledger entry (<= 500 characters). */
  userNote?: string;
  requestId?: string;
}
export interface GrantResult {
  userId: string;
  newBalance: number;
  ledgerEntryId: string;
}
export interface ConfigurationResult {
  version: number;
  config: Record<string, unknown>;
}
export interface SetUserStatusRequest {
  userId: string;
  status: AccountStatus;
  reason: string;
}
export interface SetIpBlockRequest {
  ip: string;
  blocked: boolean;
  reason: string;
}
/** `setUserPlan`: `planId` a configured plan, or null to end the user's plan. */
export interface SetUserPlanRequest {
  userId: string;
  planId: string | null;
}
export interface SetUserPlanResult {
  userId: string;
  planId: string | null;
  previousPlanId: string | null;
  /** False when the user was already on that plan (nothing written). */
  changed: boolean;
  /** The new period's end (ISO 8601), when a plan started; absent or null otherwise. */
  periodEnd?: string | null;
}
/** `grantPromoCredits`: a `promo` grant to each of `userIds` (1..500) or to every user on `planId`. */
export type PromoGrantRequest = {
  amount: number;
  reason: string;
  expiresAt?: string | Date;
  userNote?: string;
  /** The same key is the same job (a resend continues it). Filled in when absent. */
  requestId?: string;
} & ({ userIds: string[]; planId?: never } | { planId: string; userIds?: never });
export interface PromoGrantResult {
  jobId: string;
  /** `running`: the hourly job (or the same request sent again) finishes the rest. */
  status: "running" | "done";
  granted: number;
  /** How many users could not be granted (damaged account, bucket bound). */
  failed: number;
}
export type StatsRange = "24h" | "7d" | "30d" | "90d";
