/**
 * The payments an admin dashboard shows: `payments` (every purchase, with its refunds and
 * disputes), and the count of webhook deliveries refused for their signature
 * (`stripe_webhook_failures`, one document per hour and shard). Bounded live queries, as every
 * dashboard listener (`boundedLimit`); the arithmetic (`paymentSummary`) is pure.
 */
import {
  collection,
  limit as limitTo,
  onSnapshot,
  orderBy,
  query,
  Timestamp,
  where,
  type DocumentData,
  type Firestore,
} from "firebase/firestore";
import { boundedLimit } from "./admin-logic.js";
import { millisOf, type LiveOptions } from "./admin.js";
import type { Unsubscribe } from "./client.js";

export type PaymentStatus = "paid" | "refunded" | "disputed";

/** A `payments/{paymentId}` document as the dashboard reads it. */
export interface AdminPayment {
  id: string;
  userId: string;
  kind: "pack" | "plan";
  productId: string;
  /** Minor units (cents). */
  amount: number;
  currency: string;
  credits: number;
  status: PaymentStatus;
  refundedAmount: number;
  clawedBack: number;
  debtCreated: number;
  disputeStatus: string | null;
  createdAtMs: number | null;
}

export function toAdminPayment(id: string, d: DocumentData): AdminPayment {
  const n = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  return {
    id,
    userId: String(d.userId ?? ""),
    kind: d.kind === "plan" ? "plan" : "pack",
    productId: String(d.productId ?? ""),
    amount: n(d.amount),
    currency: String(d.currency ?? ""),
    credits: n(d.credits),
    status: d.status === "refunded" || d.status === "disputed" ? d.status : "paid",
    refundedAmount: n(d.refundedAmount),
    clawedBack: n(d.clawedBack),
    debtCreated: n(d.debtCreated),
    disputeStatus: typeof d.disputeStatus === "string" ? d.disputeStatus : null,
    createdAtMs: millisOf(d.createdAt),
  };
}

/** Revenue of one day or product, per currency, net of refunds (a disputed payment counts 0). */
export interface RevenueRow {
  key: string;
  currency: string;
  payments: number;
  gross: number;
  net: number;
}

export interface PaymentSummary {
  purchases: number;
  refunds: number;
  disputes: number;
  creditsGranted: number;
  creditsClawedBack: number;
  byDay: RevenueRow[];
  byProduct: RevenueRow[];
}

/** What the dashboard's figures say about a set of payments (pure; unit-tested). */
export function paymentSummary(payments: readonly AdminPayment[]): PaymentSummary {
  const byDay = new Map<string, RevenueRow>();
  const byProduct = new Map<string, RevenueRow>();
  const add = (map: Map<string, RevenueRow>, key: string, p: AdminPayment) => {
    const id = `${key}\u0000${p.currency}`;
    const row = map.get(id) ?? { key, currency: p.currency, payments: 0, gross: 0, net: 0 };
    row.payments += 1;
    row.gross += p.amount;
    row.net += p.status === "disputed" ? 0 : Math.max(0, p.amount - p.refundedAmount);
    map.set(id, row);
  };
  let refunds = 0;
  let disputes = 0;
  let granted = 0;
  let clawed = 0;
  for (const p of payments) {
    const day = p.createdAtMs === null ? "unknown" : new Date(p.createdAtMs).toISOString().slice(0, 10);
    add(byDay, day, p);
    add(byProduct, p.productId, p);
    if (p.refundedAmount > 0) refunds += 1;
    if (p.status === "disputed") disputes += 1;
    granted += p.credits;
    clawed += p.clawedBack;
  }
  const sorted = (m: Map<string, RevenueRow>, desc: boolean) =>
    [...m.values()].sort((a, b) => (desc ? b.key.localeCompare(a.key) : a.key.localeCompare(b.key)) || a.currency.localeCompare(b.currency));
  return {
    purchases: payments.length,
    refunds,
    disputes,
    creditsGranted: granted,
    creditsClawedBack: clawed,
    byDay: sorted(byDay, true),
    byProduct: sorted(byProduct, false),
  };
}

/** The newest payments of all users (default 200, newest first). */
export function watchPayments(firestore: Firestore, callback: (payments: AdminPayment[]) => void, options: LiveOptions = {}): Unsubscribe {
  const q = query(collection(firestore, "payments"), orderBy("createdAt", "desc"), limitTo(boundedLimit(options.max, 200)));
  return onSnapshot(
    q,
    (snap) => callback(snap.docs.map((d) => toAdminPayment(d.id, d.data()))),
    (error) => options.onError?.(error),
  );
}

/** One user's payments (at most 100), newest first. */
export function watchUserPayments(firestore: Firestore, uid: string, callback: (payments: AdminPayment[]) => void, options: LiveOptions = {}): Unsubscribe {
  const q = query(collection(firestore, "payments"), where("userId", "==", uid), limitTo(100));
  return onSnapshot(
    q,
    (snap) => callback(snap.docs.map((d) => toAdminPayment(d.id, d.data())).sort((a, b) => (b.createdAtMs ?? 0) - (a.createdAtMs ?? 0))),
    (error) => options.onError?.(error),
  );
}

/** Webhook deliveries refused for their signature since `sinceMs` (the hourly shards summed). */
export function watchWebhookFailures(firestore: Firestore, sinceMs: number, callback: (count: number) => void, options: LiveOptions = {}): Unsubscribe {
  // 8 shards an hour: 24 hours are at most 192 documents, within the dashboards' bound of 200.
  const q = query(collection(firestore, "stripe_webhook_failures"), where("hour", ">=", Timestamp.fromMillis(sinceMs)), limitTo(boundedLimit(options.max, 200)));
  return onSnapshot(
    q,
    (snap) => callback(snap.docs.reduce((sum, d) => sum + (typeof d.data().count === "number" ? (d.data().count as number) : 0), 0)),
    (error) => options.onError?.(error),
  );
}
