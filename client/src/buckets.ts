/**
 * Grant buckets on the client (revision 3): the spend order as the backend applies it, the
 * "N credits expire on <date>" line of a page, and, for admins, a user's stored buckets and
 * ledger entries read per bucket. Pure functions: documents and plain values in, values out.
 */
import type { DocumentData } from "firebase/firestore";
import { millisOf } from "./time.js";
import type { BucketSource, NextExpiry, PlanStatus } from "./types.js";

/** Ties among equal expiries are spent in this order (the backend's default priority). */
export const SPEND_PRIORITY: readonly BucketSource[] = ["promo", "plan", "signup", "admin", "legacy", "refund", "purchase"];

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `31 Dec` (UTC), with the year when it is not the year of `nowMs`. */
export function shortDate(iso: string | number, nowMs: number = Date.now()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const day = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  return d.getUTCFullYear() === new Date(nowMs).getUTCFullYear() ? day : `${day} ${d.getUTCFullYear()}`;
}

/** "120 credits expire on 31 Dec" ("1 credit expires on ..."), or null when nothing expires. */
export function expiryNotice(next: NextExpiry | null | undefined, nowMs: number = Date.now()): string | null {
  if (!next || !(next.credits > 0)) return null;
  const n = next.credits.toLocaleString("en-US");
  return next.credits === 1 ? `1 credit expires on ${shortDate(next.at, nowMs)}` : `${n} credits expire on ${shortDate(next.at, nowMs)}`;
}

/** "Pro: 1,000 credits a month, renews 1 Jan", or null without a plan. */
export function planLine(plan: PlanStatus | null | undefined, nowMs: number = Date.now()): string | null {
  if (!plan) return null;
  return `${plan.name}: ${plan.monthlyCredits.toLocaleString("en-US")} credits a month, renews ${shortDate(plan.periodEnd, nowMs)}`;
}

// ------------------------------------------------------------------ stored buckets (admins)

/** One bucket of `users/{uid}.buckets` as an admin sees it. */
export interface AdminBucket {
  id: string;
  source: string;
  amount: number;
  remaining: number;
  expiresAtMs: number | null;
  /** What created it: a plan period, a payment, an audit entry, ... */
  ref: string | null;
  createdAtMs: number | null;
  /** False once `expiresAt` has passed (its `expired` entry may not be written yet). */
  live: boolean;
}

function rank(source: string): number {
  const i = (SPEND_PRIORITY as readonly string[]).indexOf(source);
  return i < 0 ? SPEND_PRIORITY.length : i;
}

/**
 * The backend's spend order: soonest expiry first, never-expiring last; then the source
 * priority, then the older bucket, then the id.
 */
export function compareSpendOrder(a: AdminBucket, b: AdminBucket): number {
  const ea = a.expiresAtMs ?? Number.POSITIVE_INFINITY;
  const eb = b.expiresAtMs ?? Number.POSITIVE_INFINITY;
  if (ea !== eb) return ea < eb ? -1 : 1;
  const ra = rank(a.source);
  const rb = rank(b.source);
  if (ra !== rb) return ra - rb;
  const ca = a.createdAtMs ?? 0;
  const cb = b.createdAtMs ?? 0;
  if (ca !== cb) return ca - cb;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

const int = (v: unknown): number => (typeof v === "number" && Number.isInteger(v) ? v : 0);

/**
 * The buckets stored on a user document, live ones first in spend order, then the expired
 * ones (newest expiry first). A user without a `buckets` map who has credits (an account from
 * before buckets, not migrated yet) shows them as one `legacy` bucket, as the backend reads it.
 */
export function toAdminBuckets(uid: string, d: DocumentData | undefined, nowMs: number = Date.now()): AdminBucket[] {
  const raw = d?.buckets;
  const out: AdminBucket[] = [];
  if (raw && typeof raw === "object" && !Array.isArray(raw)) {
    for (const [id, value] of Object.entries(raw as Record<string, unknown>)) {
      if (!value || typeof value !== "object") continue;
      const b = value as Record<string, unknown>;
      const expiresAtMs = millisOf(b.expiresAt);
      out.push({
        id,
        source: typeof b.source === "string" ? b.source : "unknown",
        amount: int(b.amount),
        remaining: int(b.remaining),
        expiresAtMs,
        ref: typeof b.ref === "string" ? b.ref : null,
        createdAtMs: millisOf(b.createdAt),
        live: expiresAtMs === null || nowMs < expiresAtMs,
      });
    }
  } else if (d && int(d.credits) > 0) {
    out.push({
      id: `legacy_${uid}`,
      source: "legacy",
      amount: int(d.credits),
      remaining: int(d.credits),
      expiresAtMs: null,
      ref: null,
      createdAtMs: millisOf(d.createdAt),
      live: true,
    });
  }
  const live = out.filter((b) => b.live).sort(compareSpendOrder);
  const expired = out.filter((b) => !b.live).sort((a, b) => (b.expiresAtMs ?? 0) - (a.expiresAtMs ?? 0));
  return [...live, ...expired];
}

// ------------------------------------------------------------------ the ledger per bucket

/** One `credit_logs` entry as an admin reads it. */
export interface LedgerEntry {
  id: string;
  userId: string;
  delta: number;
  balanceAfter: number | null;
  reason: string;
  /** The generation type of a charge, settlement or refund. */
  type: string | null;
  activityId: string | null;
  note: string | null;
  /** The buckets the entry moved and by how much (summing to `delta`); empty before buckets. */
  buckets: { bucketId: string; delta: number }[];
  /** The buckets the entry opened (a grant, a plan period, a purchase). */
  newBuckets: { bucketId: string; source: string; amount: number; expiresAtMs: number | null }[];
  createdAtMs: number | null;
}

export function toLedgerEntry(id: string, d: DocumentData): LedgerEntry {
  const moves = Array.isArray(d.buckets) ? (d.buckets as unknown[]) : [];
  const opened = Array.isArray(d.newBuckets) ? (d.newBuckets as unknown[]) : [];
  const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
  return {
    id,
    userId: String(d.userId ?? ""),
    delta: int(d.delta),
    balanceAfter: typeof d.balanceAfter === "number" ? d.balanceAfter : null,
    reason: String(d.reason ?? ""),
    type: str(d.type),
    activityId: str(d.activityId),
    note: str(d.note),
    buckets: moves
      .filter((m): m is Record<string, unknown> => !!m && typeof m === "object" && typeof (m as { bucketId?: unknown }).bucketId === "string")
      .map((m) => ({ bucketId: m.bucketId as string, delta: int(m.delta) })),
    newBuckets: opened
      .filter((m): m is Record<string, unknown> => !!m && typeof m === "object" && typeof (m as { bucketId?: unknown }).bucketId === "string")
      .map((m) => ({ bucketId: m.bucketId as string, source: str(m.source) ?? "unknown", amount: int(m.amount), expiresAtMs: millisOf(m.expiresAt) })),
    createdAtMs: millisOf(d.createdAt),
  };
}

/** One line of a bucket's ledger: an entry and what it moved in that bucket. */
export interface BucketLedgerLine {
  entry: LedgerEntry;
  delta: number;
}

/**
 * The entries grouped by the bucket they moved, in the order given (newest first as read).
 * An entry that drew from two buckets appears under both with each bucket's part; an entry
 * that names no bucket (from before buckets) goes under `""`.
 */
export function ledgerByBucket(entries: readonly LedgerEntry[]): Map<string, BucketLedgerLine[]> {
  const out = new Map<string, BucketLedgerLine[]>();
  const add = (bucketId: string, line: BucketLedgerLine): void => {
    const list = out.get(bucketId);
    if (list) list.push(line);
    else out.set(bucketId, [line]);
  };
  for (const entry of entries) {
    if (entry.buckets.length === 0) add("", { entry, delta: entry.delta });
    for (const move of entry.buckets) add(move.bucketId, { entry, delta: move.delta });
  }
  return out;
}
