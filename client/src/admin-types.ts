/**
 * The wire shapes of the admin side: `getUsageStats` (docs/contract.md, "Also for admins"),
 * the results of the other admin callables, and the admin-only documents the dashboard reads
 * (docs/data-model.md). Field names are the backend's; timestamps are turned into epoch
 * milliseconds (`...Ms`) by the readers in `admin.ts`.
 */
import type { AdminBucket } from "./buckets.js";
import type {
  SetIpBlockResponse,
  SetUserStatusResponse,
  TestModerationResponse,
  TopUser as GeneratedTopUser,
} from "./contract.gen.js";
import type { AccountStatus, ActivityStatus, GenerationType } from "./types.js";

export type StatsInterval = "hour" | "day";

/** The figures of one period (the whole range, one type, or one bucket of the series). */
export interface UsageFigures {
  /** Finished generations: completed + failed. */
  generations: number;
  completedGenerations: number;
  failedGenerations: number;
  /** completed / finished, 0..1; null when none finished. */
  successRate: number | null;
  /** Net of refunds; a refund or settlement counts in the period it happens. */
  creditsUsed: number;
  refundedCredits: number;
  refunds: number;
  /** Over completed generations; null when none. */
  averageCostPerGeneration: number | null;
  averageProcessingTimeMs: number | null;
}

export interface UsageSeriesPoint extends UsageFigures {
  /** The bucket's start (ISO 8601, UTC). */
  start: string;
  /** Credits that lapsed in the bucket (the `expired` ledger entries), a positive number. */
  expiredCredits: number;
}

/** One of the users with the most credits used in the range (generated from the contract). */
export type TopUser = GeneratedTopUser;

export interface StatsReadCost {
  documents: number;
  aggregationQueries: number;
  aggregationReads: number;
  indexEntriesMatched: number;
}

/** `getUsageStats` result. */
export interface UsageStats {
  range: "24h" | "7d" | "30d" | "90d";
  interval: StatsInterval;
  since: string;
  until: string;
  totals: UsageFigures;
  /** Credits that lapsed over the range (`expired` ledger entries; not in any type). */
  expiredCredits: number;
  byType: Record<GenerationType, UsageFigures>;
  /** 24 hourly or 7/30/90 daily points, oldest first; the last one is partial. */
  series: UsageSeriesPoint[];
  topUsers: TopUser[];
  /** The part of the range the ranking covers (its rolled-up hours), null before the first rollup. */
  topUsersWindow: { since: string; until: string } | null;
  activeNow: number;
  activeByStatus: { pending: number; processing: number };
  rolledUpUntil: string | null;
  /** Billed reads of this call (documents + aggregation reads). */
  documentsRead: number;
  readCost: StatsReadCost;
}

/** `setUserStatus` result (generated from the contract). */
export type SetUserStatusResult = SetUserStatusResponse;

/** `setIpBlock` result (generated from the contract). */
export type SetIpBlockResult = SetIpBlockResponse;

// ------------------------------------------------------------------ documents admins read

/** `ai_activity/{id}` as the admins' live view shows it. */
export interface AdminActivity {
  id: string;
  userId: string;
  userEmail: string | null;
  userName: string | null;
  type: GenerationType | null;
  model: string | null;
  status: ActivityStatus;
  progress: number;
  quantity: number | null;
  actualQuantity: number | null;
  /** Net so far (after any settlement or refund). */
  creditsCharged: number;
  initialCharge: number;
  refundedCredits: number;
  processingTimeMs: number | null;
  error: string | null;
  endedBy: string | null;
  createdAtMs: number | null;
  updatedAtMs: number | null;
  startedAtMs: number | null;
  completedAtMs: number | null;
  final: boolean;
  /** Set when moderation flagged the prompt: charged and allowed, recorded for review. */
  moderation: ActivityModeration | null;
}

/** `ai_activity.moderation` of a flagged generation (contract revision 3, "Moderation"). */
export interface ActivityModeration {
  action: "flag";
  category: string;
  source: ModerationSource;
}

export type ModerationVerdict = "allow" | "flag" | "refuse";
export type ModerationSource = "local" | "provider";

/** `testModeration {prompt}` result: what a charge with this prompt would decide; nothing is
 * charged or recorded (generated from the contract). */
export type ModerationTestResult = TestModerationResponse;

export type Severity = "low" | "medium" | "high" | "critical";

/** `abuse_detection/{id}`: one abuse event (evidence; never deleted). */
export interface AbuseRecord {
  id: string;
  userId: string;
  kind: string;
  severity: Severity | string;
  baseSeverity: string | null;
  category: string | null;
  scoreBefore: number | null;
  scoreAfter: number | null;
  threshold: number | null;
  action: "recorded" | "suspended" | string;
  ip: string | null;
  country: string | null;
  createdAtMs: number | null;
}

/** `users/{uid}` as an admin sees it. */
export interface AdminUser {
  uid: string;
  email: string | null;
  displayName: string | null;
  credits: number;
  status: AccountStatus;
  statusReason: string | null;
  statusChangedAtMs: number | null;
  statusChangedBy: string | null;
  lowBalance: boolean;
  role: string | null;
  createdAtMs: number | null;
  /** `users/{uid}.buckets`: live ones in spend order, then expired ones (revision 3). */
  buckets: AdminBucket[];
  /** `users/{uid}.plan`, as stored (null without a plan). */
  plan: { id: string; periodStartMs: number | null; periodEndMs: number | null; renewal: string | null } | null;
}

/** `admin_notifications/{id}`. */
export interface AdminNotification {
  id: string;
  kind: string;
  severity: string;
  message: string;
  read: boolean;
  userId: string | null;
  createdAtMs: number | null;
}

/** `admin_audit_logs/{id}`: one admin action (or a console edit, a script), before and after. */
export interface AuditEntry {
  id: string;
  actorId: string;
  actorEmail: string | null;
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
  errors: unknown;
  note: string | null;
  ip: string | null;
  requestId: string | null;
  createdAtMs: number | null;
}

/** The public configuration, `system_config/credits`, with its version stamp. */
export interface CreditConfiguration {
  costs: Record<GenerationType, number>;
  defaultCredits: number;
  lowBalanceThreshold: number;
  version: number | null;
  updatedAtMs: number | null;
  /** The uid of the admin who changed it last (or `console`, `migration`, ...). */
  updatedBy: string | null;
  /** The whole document as stored (rate limits, sign-up policy, ...). */
  raw: Record<string, unknown>;
}

/** What a live list reports with its items: whether the server has confirmed them yet. */
export interface LiveMeta {
  /** True while the items come from the local cache (not yet, or no longer, from the server). */
  fromCache: boolean;
  /** Documents added, modified and removed by this snapshot (the first one adds them all). */
  added: number;
  modified: number;
  removed: number;
}
