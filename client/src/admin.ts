/**
 * What an admin dashboard reads directly from Firestore, with the admin's own ID token (the
 * rules let only an ID token with the `admin` claim read these collections): the live activity
 * stream, abuse records, suspended accounts, notifications, the audit log and the public
 * configuration, each as a live, bounded query (every listener has a `limit`, at most
 * {@link MAX_LIVE_ITEMS}: no dashboard listener grows with the traffic), plus user lookups.
 *
 * Changes go through the admin callables of {@link CreditsClient.admin}; nothing here writes.
 *
 * Indexes (firestore.indexes.json): the stream filters `shard in [0..15]` and orders by `createdAt`,
 * on `ai_activity (shard, createdAt desc)` (its single-field `createdAt` index is exempt); abuse records and notifications
 * order by `createdAt` alone (single-field indexes); the audit log filtered by action and the suspended
 * accounts ordered by `statusChangedAt` need the composite indexes `admin_audit_logs (action,
 * createdAt desc)` and `users (status, statusChangedAt desc)`.
 */
import type { User } from "firebase/auth";
import {
  collection,
  doc,
  getDoc,
  getDocs,
  limit as limitTo,
  onSnapshot,
  orderBy,
  query,
  where,
  type DocumentData,
  type Firestore,
  type Query,
  type QuerySnapshot,
} from "firebase/firestore";
import { ALL_INDEX_SHARDS, boundedLimit } from "./admin-logic.js";
import { toAdminBuckets, toLedgerEntry, type AdminBucket, type LedgerEntry } from "./buckets.js";
import { millisOf } from "./time.js";
import type {
  AbuseRecord,
  ActivityModeration,
  AdminActivity,
  AdminNotification,
  AdminUser,
  AuditEntry,
  CreditConfiguration,
  LiveMeta,
} from "./admin-types.js";
import type { CreditsClient, Unsubscribe } from "./client.js";
import { GENERATION_TYPES, type ActivityStatus, type GenerationType } from "./types.js";

/** Audit actions that change something (the viewer's default filter leaves out the statistics reads). */
export const CHANGE_ACTIONS = [
  "grant_credits",
  "update_configuration",
  "console_update_configuration",
  "revert_configuration",
  "migrate_configuration",
  "bootstrap_configuration",
  "set_user_status",
  "set_ip_block",
  "migrate_ip_blocks",
  "make_admin",
  "revoke_admin",
  "make_generator",
  "revoke_generator",
  "repair_balance",
  "set_user_plan",
  "grant_promo_credits",
] as const;

/** Audit actions that change the configuration (whose entry names the admin behind a version). */
export const CONFIGURATION_ACTIONS = [
  "update_configuration",
  "console_update_configuration",
  "revert_configuration",
  "migrate_configuration",
  "bootstrap_configuration",
] as const;

/** Collections (and documents) only an admin may read: what {@link CreditsAdmin.probeAccess} tries. */
export const ADMIN_ONLY_READS = [
  "abuse_detection",
  "admin_audit_logs",
  "admin_notifications",
  "abuse_scores",
  "ip_blocks",
  "usage_rollups",
  "usage_rollup_users",
  "job_runs",
  "applied_config",
  "users",
  "ai_activity",
  "credit_logs",
  "usage_logs",
  "rate_limits",
  "system_config/moderation",
] as const;
export type AdminOnlyRead = (typeof ADMIN_ONLY_READS)[number];
export type AccessResult = "allowed" | "denied" | `error: ${string}`;

export interface LiveOptions {
  /** How many of the newest documents to keep in view (bounded; see each method's default). */
  max?: number;
  onError?: (error: Error) => void;
}

/** Whether the signed-in user's ID token carries the `admin` claim (what the rules and the callables check). */
export async function hasAdminClaim(user: User, forceRefresh = false): Promise<boolean> {
  const { claims } = await user.getIdTokenResult(forceRefresh);
  return claims.admin === true;
}

export class CreditsAdmin {
  readonly firestore: Firestore;
  private readonly users = new Map<string, Promise<AdminUser | null>>();

  constructor(source: CreditsClient | { firestore: Firestore }) {
    this.firestore = source.firestore;
  }

  // ---------------------------------------------------------------- live views

  /**
   * The newest generations of all users (`ai_activity` by `createdAt`, newest first; default 50).
   *
   * `ai_activity.createdAt` has no single-field index (a timestamp index written with every
   * generation would cap creates near 500 a second; docs/capacity.md), so the query filters
   * `shard in [0..15]`: Firestore runs it as one equality query per index shard on the composite
   * index `(shard, createdAt desc)` and merges them, so it is exact, one listener, and at most
   * `max` documents.
   */
  watchActivityFeed(callback: (items: AdminActivity[], meta: LiveMeta) => void, options: LiveOptions = {}): Unsubscribe {
    const q = query(
      collection(this.firestore, "ai_activity"),
      where("shard", "in", ALL_INDEX_SHARDS),
      orderBy("createdAt", "desc"),
      limitTo(boundedLimit(options.max, 50)),
    );
    return this.live(q, toAdminActivity, callback, options.onError);
  }

  /** The newest abuse records (default 20). */
  watchAbuseRecords(callback: (items: AbuseRecord[], meta: LiveMeta) => void, options: LiveOptions = {}): Unsubscribe {
    const q = query(collection(this.firestore, "abuse_detection"), orderBy("createdAt", "desc"), limitTo(boundedLimit(options.max, 20)));
    return this.live(q, toAbuseRecord, callback, options.onError);
  }

  /** Suspended accounts, most recently suspended first (default 50). */
  watchSuspendedUsers(callback: (items: AdminUser[], meta: LiveMeta) => void, options: LiveOptions = {}): Unsubscribe {
    const q = query(
      collection(this.firestore, "users"),
      where("status", "==", "suspended"),
      orderBy("statusChangedAt", "desc"),
      limitTo(boundedLimit(options.max, 50)),
    );
    return this.live(q, toAdminUser, callback, options.onError);
  }

  /** The newest admin notifications (default 20). */
  watchNotifications(callback: (items: AdminNotification[], meta: LiveMeta) => void, options: LiveOptions = {}): Unsubscribe {
    const q = query(collection(this.firestore, "admin_notifications"), orderBy("createdAt", "desc"), limitTo(boundedLimit(options.max, 20)));
    return this.live(q, toNotification, callback, options.onError);
  }

  /**
   * The newest audit entries (default 25), of the given actions only when `actions` is set
   * (at most 30, Firestore's limit for `in`): for example {@link CHANGE_ACTIONS}, which leaves
   * out the entry every `getUsageStats` call writes.
   */
  watchAuditLog(
    callback: (items: AuditEntry[], meta: LiveMeta) => void,
    options: LiveOptions & { actions?: readonly string[] } = {},
  ): Unsubscribe {
    const logs = collection(this.firestore, "admin_audit_logs");
    const bound = limitTo(boundedLimit(options.max, 25));
    const actions = options.actions?.slice(0, 30);
    const q =
      actions && actions.length > 0
        ? query(logs, where("action", "in", actions), orderBy("createdAt", "desc"), bound)
        : query(logs, orderBy("createdAt", "desc"), bound);
    return this.live(q, toAuditEntry, callback, options.onError);
  }

  /**
   * The newest audit entry of these actions (one document read), or null. For example the
   * entry of {@link CONFIGURATION_ACTIONS} says who made the configuration's current version by
   * email (the configuration itself keeps only the uid, and an admin may have no account
   * document to look the email up in).
   */
  async latestAuditEntry(actions: readonly string[]): Promise<AuditEntry | null> {
    const q = query(
      collection(this.firestore, "admin_audit_logs"),
      where("action", "in", actions.slice(0, 30)),
      orderBy("createdAt", "desc"),
      limitTo(1),
    );
    const snap = await getDocs(q);
    const first = snap.docs[0];
    return first ? toAuditEntry(first.id, first.data()) : null;
  }

  /** The public configuration (`system_config/credits`): prices, grant, threshold, version, who changed it last. */
  watchCreditConfiguration(callback: (config: CreditConfiguration | null) => void, onError?: (error: Error) => void): Unsubscribe {
    return onSnapshot(
      doc(this.firestore, "system_config", "credits"),
      (snap) => callback(snap.exists() ? toConfiguration(snap.data()) : null),
      (error) => onError?.(error),
    );
  }

  // ---------------------------------------------------------------- users

  /** One account, or null when it has no `users` document yet (it opens on the user's first call). */
  async getUser(uid: string): Promise<AdminUser | null> {
    const snap = await getDoc(doc(this.firestore, "users", uid));
    const user = snap.exists() ? toAdminUser(snap.id, snap.data()) : null;
    this.users.set(uid, Promise.resolve(user));
    return user;
  }

  /** Accounts with this email address (at most 10; an address normally has one account). */
  async findUsersByEmail(email: string): Promise<AdminUser[]> {
    const snap = await getDocs(query(collection(this.firestore, "users"), where("email", "==", email.trim()), limitTo(10)));
    return snap.docs.map((d) => toAdminUser(d.id, d.data()));
  }

  /**
   * The account of each uid, read once per uid for the life of this object (emails and names
   * do not change; balances shown from it may be stale: use {@link getUser} for a fresh one).
   * Unknown uids map to null.
   */
  async lookupUsers(uids: Iterable<string>): Promise<Map<string, AdminUser | null>> {
    const wanted = [...new Set(uids)].filter((u) => u && !u.includes("/"));
    for (const uid of wanted) {
      if (!this.users.has(uid)) {
        this.users.set(
          uid,
          getDoc(doc(this.firestore, "users", uid)).then(
            (snap) => (snap.exists() ? toAdminUser(snap.id, snap.data()) : null),
            () => null,
          ),
        );
      }
    }
    const found = await Promise.all(wanted.map(async (uid) => [uid, await this.users.get(uid)!] as const));
    return new Map(found);
  }

  /**
   * One user's newest ledger entries (`credit_logs` by `createdAt`, newest first; default 50),
   * live, each naming the buckets it moved (see `ledgerByBucket`). Runs on the index
   * `credit_logs (userId, createdAt desc)`.
   */
  watchUserLedger(uid: string, callback: (items: LedgerEntry[], meta: LiveMeta) => void, options: LiveOptions = {}): Unsubscribe {
    const q = query(
      collection(this.firestore, "credit_logs"),
      where("userId", "==", uid),
      orderBy("createdAt", "desc"),
      limitTo(boundedLimit(options.max, 50)),
    );
    return this.live(q, toLedgerEntry, callback, options.onError);
  }

  /** The user's stored buckets (live ones in spend order, then the expired ones), read now. */
  async getUserBuckets(uid: string): Promise<AdminBucket[]> {
    const snap = await getDoc(doc(this.firestore, "users", uid));
    return snap.exists() ? toAdminBuckets(uid, snap.data()) : [];
  }

  // ---------------------------------------------------------------- access

  /**
   * Tries one read of each admin-only collection with the signed-in user's token (a query of one
   * document, or a document read): `allowed`, `denied` (the rules refused), or another error.
   * For an admin everything is allowed; for anyone else the rules must deny every one.
   */
  async probeAccess(): Promise<Record<AdminOnlyRead, AccessResult>> {
    const results = await Promise.all(
      ADMIN_ONLY_READS.map(async (name): Promise<[AdminOnlyRead, AccessResult]> => {
        try {
          if (name.includes("/")) {
            const [col, id] = name.split("/") as [string, string];
            await getDoc(doc(this.firestore, col, id));
          } else {
            await getDocs(query(collection(this.firestore, name), limitTo(1)));
          }
          return [name, "allowed"];
        } catch (err) {
          const code = (err as { code?: string }).code ?? "unknown";
          return [name, code === "permission-denied" ? "denied" : `error: ${code}`];
        }
      }),
    );
    return Object.fromEntries(results) as Record<AdminOnlyRead, AccessResult>;
  }

  // ---------------------------------------------------------------- plumbing

  private live<T>(
    q: Query<DocumentData>,
    convert: (id: string, data: DocumentData) => T,
    callback: (items: T[], meta: LiveMeta) => void,
    onError?: (error: Error) => void,
  ): Unsubscribe {
    // Metadata changes too, so that the view can say when it is (back) in sync with the server.
    return onSnapshot(
      q,
      { includeMetadataChanges: true },
      (snap: QuerySnapshot<DocumentData>) => {
        const meta: LiveMeta = { fromCache: snap.metadata.fromCache, added: 0, modified: 0, removed: 0 };
        for (const change of snap.docChanges()) meta[change.type]++;
        callback(
          snap.docs.map((d) => convert(d.id, d.data())),
          meta,
        );
      },
      (error) => onError?.(error),
    );
  }
}

// ------------------------------------------------------------------ document readers

export { millisOf } from "./time.js";

const num = (v: unknown, fallback = 0): number => (typeof v === "number" && Number.isFinite(v) ? v : fallback);
const numOrNull = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const strOrNull = (v: unknown): string | null => (typeof v === "string" ? v : null);
const STATUSES: readonly ActivityStatus[] = ["pending", "processing", "completed", "failed"];

export function toAdminActivity(id: string, d: DocumentData): AdminActivity {
  const status: ActivityStatus = STATUSES.includes(d.status) ? d.status : "pending";
  const final = status === "completed" || status === "failed";
  return {
    id,
    userId: String(d.userId ?? ""),
    userEmail: strOrNull(d.userEmail),
    userName: strOrNull(d.userName),
    type: (GENERATION_TYPES as readonly string[]).includes(d.type) ? (d.type as GenerationType) : null,
    model: strOrNull(d.model),
    status,
    progress: Math.max(0, Math.min(100, num(d.progress, status === "completed" ? 100 : 0))),
    quantity: numOrNull(d.quantity),
    actualQuantity: numOrNull(d.actualQuantity),
    creditsCharged: num(d.creditsCharged),
    initialCharge: num(d.initialCharge, num(d.creditsCharged)),
    refundedCredits: num(d.refundedCredits),
    processingTimeMs: numOrNull(d.processingTimeMs),
    error: strOrNull(d.error),
    endedBy: strOrNull(d.endedBy),
    createdAtMs: millisOf(d.createdAt),
    updatedAtMs: millisOf(d.updatedAt),
    startedAtMs: millisOf(d.startedAt),
    completedAtMs: millisOf(d.completedAt),
    final,
    moderation: toActivityModeration(d.moderation),
  };
}

function toActivityModeration(value: unknown): ActivityModeration | null {
  if (typeof value !== "object" || value === null) return null;
  const m = value as Record<string, unknown>;
  if (m.action !== "flag" || typeof m.category !== "string") return null;
  return { action: "flag", category: m.category, source: m.source === "provider" ? "provider" : "local" };
}

export function toAbuseRecord(id: string, d: DocumentData): AbuseRecord {
  return {
    id,
    userId: String(d.userId ?? ""),
    kind: String(d.kind ?? "unknown"),
    severity: String(d.severity ?? "low"),
    baseSeverity: strOrNull(d.baseSeverity),
    category: strOrNull(d.category),
    scoreBefore: numOrNull(d.scoreBefore),
    scoreAfter: numOrNull(d.scoreAfter),
    threshold: numOrNull(d.threshold),
    action: String(d.action ?? "recorded"),
    ip: strOrNull(d.ip),
    country: strOrNull(d.country),
    createdAtMs: millisOf(d.createdAt),
  };
}

export function toAdminUser(uid: string, d: DocumentData): AdminUser {
  return {
    uid,
    email: strOrNull(d.email),
    displayName: strOrNull(d.displayName),
    credits: num(d.credits),
    status: d.status === "suspended" ? "suspended" : "active",
    statusReason: strOrNull(d.statusReason),
    statusChangedAtMs: millisOf(d.statusChangedAt),
    statusChangedBy: strOrNull(d.statusChangedBy),
    lowBalance: d.lowBalance === true,
    role: strOrNull(d.role),
    createdAtMs: millisOf(d.createdAt),
    buckets: toAdminBuckets(uid, d),
    plan: toUserPlan(d.plan),
  };
}

function toUserPlan(value: unknown): AdminUser["plan"] {
  if (!value || typeof value !== "object") return null;
  const p = value as Record<string, unknown>;
  if (typeof p.id !== "string") return null;
  return {
    id: p.id,
    periodStartMs: millisOf(p.periodStart),
    periodEndMs: millisOf(p.periodEnd),
    renewal: strOrNull(p.renewal),
  };
}

export function toNotification(id: string, d: DocumentData): AdminNotification {
  return {
    id,
    kind: String(d.kind ?? "notice"),
    severity: String(d.severity ?? "low"),
    message: String(d.message ?? ""),
    read: d.read === true,
    userId: strOrNull(d.userId),
    createdAtMs: millisOf(d.createdAt),
  };
}

/** Timestamps inside before/after (e.g. `updatedAt`) become ISO strings, so the entry prints as JSON. */
function plain(value: unknown): unknown {
  const ms = value && typeof value === "object" && !Array.isArray(value) ? millisOf(value) : null;
  if (ms !== null) return new Date(ms).toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

export function toAuditEntry(id: string, d: DocumentData): AuditEntry {
  return {
    id,
    actorId: String(d.actorId ?? ""),
    actorEmail: strOrNull(d.actorEmail),
    action: String(d.action ?? ""),
    target: strOrNull(d.target),
    before: plain(d.before ?? null),
    after: plain(d.after ?? null),
    errors: plain(d.errors ?? null),
    note: strOrNull(d.note),
    ip: strOrNull(d.ip),
    requestId: strOrNull(d.requestId),
    createdAtMs: millisOf(d.createdAt),
  };
}

export function toConfiguration(d: DocumentData): CreditConfiguration {
  const costs = {} as Record<GenerationType, number>;
  for (const type of GENERATION_TYPES) costs[type] = num(d.costs?.[type]);
  return {
    costs,
    defaultCredits: num(d.defaultCredits),
    lowBalanceThreshold: num(d.lowBalanceThreshold),
    version: numOrNull(d.version),
    updatedAtMs: millisOf(d.updatedAt),
    updatedBy: strOrNull(d.updatedBy),
    raw: plain(d) as Record<string, unknown>,
  };
}
