/**
 * Pure logic behind an admin dashboard, with no Firebase in it (tested in test/admin-unit.test.mjs):
 * the pricing form turned into an `updateCreditConfiguration` patch, the backend's field errors
 * placed next to the form's fields, a user search term classified, the statistics series made
 * into chart data, and an audit entry's before/after compared field by field.
 */
import type { CreditConfiguration, UsageStats } from "./admin-types.js";
import { GENERATION_TYPES, type GenerationType } from "./types.js";

// ------------------------------------------------------------------ the pricing form

/** The form fields of the Credits tab, named as the backend names them in `details.errors`. */
export const PRICING_FIELDS = ["costs.image", "costs.video", "costs.voice", "costs.chat", "defaultCredits", "lowBalanceThreshold"] as const;
export type PricingField = (typeof PRICING_FIELDS)[number];
export type PricingForm = Record<PricingField, string>;

/** The form's values for a configuration (what the inputs show before any edit). */
export function pricingFormOf(config: Pick<CreditConfiguration, "costs" | "defaultCredits" | "lowBalanceThreshold">): PricingForm {
  const form = {} as PricingForm;
  for (const type of GENERATION_TYPES) form[`costs.${type}`] = String(config.costs[type] ?? "");
  form.defaultCredits = String(config.defaultCredits);
  form.lowBalanceThreshold = String(config.lowBalanceThreshold);
  return form;
}

export interface PricingPatch {
  /** The `updateCreditConfiguration` data: only what changed (empty when nothing did). */
  changes: { costs?: Partial<Record<GenerationType, number>>; defaultCredits?: number; lowBalanceThreshold?: number };
  /** Fields that are not numbers at all (the backend checks ranges and precision itself). */
  errors: Partial<Record<PricingField, string>>;
  /** How many settings the patch changes. */
  count: number;
}

const NUMBER = /^\s*\d+(\.\d+)?\s*$/;
const INTEGER = /^\s*\d+\s*$/;

/**
 * The patch that takes `current` to what the form says. Costs may be fractional (chat is 0.01
 * a token); the default grant and the threshold are whole credits. Only the syntax is checked
 * here: limits (a price's maximum, its decimals) are the backend's, named in `details.errors`.
 */
export function pricingPatch(current: Pick<CreditConfiguration, "costs" | "defaultCredits" | "lowBalanceThreshold">, form: PricingForm): PricingPatch {
  const patch: PricingPatch = { changes: {}, errors: {}, count: 0 };
  for (const type of GENERATION_TYPES) {
    const field = `costs.${type}` as const;
    const text = form[field] ?? "";
    if (!NUMBER.test(text)) {
      patch.errors[field] = "Enter a price of 0 or more, e.g. 10 or 0.01.";
      continue;
    }
    const value = Number(text);
    if (value !== current.costs[type]) {
      (patch.changes.costs ??= {})[type] = value;
      patch.count++;
    }
  }
  for (const field of ["defaultCredits", "lowBalanceThreshold"] as const) {
    const text = form[field] ?? "";
    if (!INTEGER.test(text)) {
      patch.errors[field] = "Enter a whole number of credits.";
      continue;
    }
    const value = Number(text);
    if (value !== current[field]) {
      patch.changes[field] = value;
      patch.count++;
    }
  }
  return patch;
}

/**
 * The backend's `details.errors` (keys are paths such as `costs.image`) by form field; a key
 * naming a whole object (`costs`) goes to each of its fields, and keys for no field of the
 * form are returned under `other`.
 */
export function errorsByField(errors: Record<string, string>): { fields: Partial<Record<PricingField, string>>; other: Record<string, string> } {
  const fields: Partial<Record<PricingField, string>> = {};
  const other: Record<string, string> = {};
  for (const [key, message] of Object.entries(errors)) {
    const exact = (PRICING_FIELDS as readonly string[]).includes(key) ? (key as PricingField) : null;
    if (exact) {
      fields[exact] = message;
      continue;
    }
    const under = PRICING_FIELDS.filter((f) => f.startsWith(`${key}.`) || key.startsWith(`${f}.`));
    if (under.length) for (const f of under) fields[f] ??= message;
    else other[key] = message;
  }
  return { fields, other };
}

// ------------------------------------------------------------------ finding a user

export type UserSearch = { kind: "email"; value: string } | { kind: "uid"; value: string } | { kind: "invalid"; message: string };

/**
 * What a search box holds: an email address (looked up with `where("email", "==", ...)`), or a
 * uid (a document id: no slash, no white space, at most 128 characters).
 */
export function classifySearch(term: string): UserSearch {
  const value = term.trim();
  if (!value) return { kind: "invalid", message: "Enter an email address or a uid." };
  if (value.includes("@")) {
    return /^[^\s@]+@[^\s@]+$/.test(value) ? { kind: "email", value } : { kind: "invalid", message: "That is not an email address." };
  }
  if (value.length > 128 || /[\s/]/.test(value) || value === "." || value === "..") {
    return { kind: "invalid", message: "A uid has no spaces or slashes and at most 128 characters." };
  }
  return { kind: "uid", value };
}

// ------------------------------------------------------------------ charts

export interface SeriesChartData {
  labels: string[];
  credits: number[];
  generations: number[];
  failed: number[];
  /** Credits that expired in each bucket (0 where a backend sends none). */
  expired: number[];
  /** The bucket starts, epoch ms (the labels' source). */
  starts: number[];
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * A bucket's label: `14:00` for an hour, `26 Nov` for a day, in UTC (the buckets are UTC hours
 * and days; a local label would put a day's bar under the wrong date).
 */
export function bucketLabel(startIso: string, interval: UsageStats["interval"]): string {
  const d = new Date(startIso);
  if (Number.isNaN(d.getTime())) return startIso;
  if (interval === "hour") return `${String(d.getUTCHours()).padStart(2, "0")}:00`;
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
}

/** The series of a `getUsageStats` result as chart columns, oldest first. */
export function seriesChartData(stats: Pick<UsageStats, "series" | "interval">): SeriesChartData {
  const data: SeriesChartData = { labels: [], credits: [], generations: [], failed: [], expired: [], starts: [] };
  for (const point of stats.series) {
    data.labels.push(bucketLabel(point.start, stats.interval));
    data.credits.push(point.creditsUsed);
    data.generations.push(point.generations);
    data.failed.push(point.failedGenerations);
    data.expired.push(typeof point.expiredCredits === "number" ? point.expiredCredits : 0);
    data.starts.push(Date.parse(point.start));
  }
  return data;
}

/** How a daily trend is drawn: per day, or summed per week (from Monday, UTC) or per month (UTC). */
export type TrendGrouping = "day" | "week" | "month";

/** The start (epoch ms) of the ISO week (Monday 00:00 UTC) holding `ms`. */
function weekStartMs(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
}

/**
 * Daily chart columns summed into weeks or months (`day` leaves them as they are). A group is
 * labelled by its week's Monday ("week of 3 Nov") or its month ("Nov 2026"); the first and last
 * groups may be partial (the range cuts them). Sums only, so the totals stay what they were.
 */
export function groupSeries(data: SeriesChartData, grouping: TrendGrouping): SeriesChartData {
  if (grouping === "day") return data;
  const out: SeriesChartData = { labels: [], credits: [], generations: [], failed: [], expired: [], starts: [] };
  let current: number | null = null;
  data.starts.forEach((start, i) => {
    const d = new Date(start);
    const key = grouping === "week" ? weekStartMs(start) : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    if (key !== current) {
      current = key;
      const k = new Date(key);
      out.labels.push(grouping === "week" ? `week of ${k.getUTCDate()} ${MONTHS[k.getUTCMonth()]}` : `${MONTHS[k.getUTCMonth()]} ${k.getUTCFullYear()}`);
      out.credits.push(0);
      out.generations.push(0);
      out.failed.push(0);
      out.expired.push(0);
      out.starts.push(start);
    }
    const j = out.labels.length - 1;
    out.credits[j]! += data.credits[i] ?? 0;
    out.generations[j]! += data.generations[i] ?? 0;
    out.failed[j]! += data.failed[i] ?? 0;
    out.expired[j]! += data.expired[i] ?? 0;
  });
  return out;
}

/** Credits used and generations by type, in the library's type order. */
export function byTypeChartData(stats: Pick<UsageStats, "byType">): { types: GenerationType[]; credits: number[]; generations: number[] } {
  const types = [...GENERATION_TYPES];
  return {
    types,
    credits: types.map((t) => stats.byType[t]?.creditsUsed ?? 0),
    generations: types.map((t) => stats.byType[t]?.generations ?? 0),
  };
}

// ------------------------------------------------------------------ audit entries

export interface FieldChange {
  /** Dotted path of the field (`costs.video`), or `` for a value that is not an object. */
  path: string;
  before: unknown;
  after: unknown;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/**
 * The fields an audit entry's `after` changed against its `before`, leaf by leaf (arrays and
 * other values compared whole), in path order. A field present on one side only is a change
 * from or to `undefined`.
 */
export function auditChanges(before: unknown, after: unknown, path = ""): FieldChange[] {
  const absent = (v: unknown) => v === undefined || v === null;
  const bo = isPlainObject(before);
  const ao = isPlainObject(after);
  if ((bo || ao) && (bo || absent(before)) && (ao || absent(after))) {
    const b: Record<string, unknown> = bo ? before : {};
    const a: Record<string, unknown> = ao ? after : {};
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
    return keys.flatMap((k) => auditChanges(b[k], a[k], path ? `${path}.${k}` : k));
  }
  return sameValue(before, after) ? [] : [{ path, before, after }];
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null) return JSON.stringify(a) === JSON.stringify(b);
  return false;
}

// ------------------------------------------------------------------ bounds

/** The largest window any admin listener opens: a live query is never unbounded. */
export const MAX_LIVE_ITEMS = 200;

/**
 * Index shards of the per-generation collections (`shard`, 0..15, derived from the document id by
 * the backend, `db.INDEX_SHARDS`): `ai_activity`'s single-field `createdAt` index is exempt, so a
 * time-ordered query filters `shard in ALL_INDEX_SHARDS` and runs on the composite index
 * `(shard, createdAt desc)`, one equality query per shard merged by Firestore.
 */
export const INDEX_SHARDS = 16;
export const ALL_INDEX_SHARDS: readonly number[] = Object.freeze(Array.from({ length: INDEX_SHARDS }, (_, i) => i));

/** `max` as a listener's limit: a whole number in 1..MAX_LIVE_ITEMS, `fallback` when absent or not a number. */
export function boundedLimit(max: number | undefined, fallback: number): number {
  const n = typeof max === "number" && Number.isFinite(max) ? Math.floor(max) : fallback;
  return Math.min(MAX_LIVE_ITEMS, Math.max(1, n));
}
