/**
 * What both pages (demo/, admin/) share besides the backend: DOM helpers (`$`, `h`, `setText`,
 * `setAttr`), the sign-in forms' messages (`authMessage`), and the formatting of numbers,
 * credits, dates and relative times.
 */
import { shortDate } from "@credit-backend/client";

export { shortDate };

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
};

type Child = Node | string | null | undefined | false;

/** `h("div.card", {testid: "x"}, child, ...)`: an element with classes, data/attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  spec: K | `${K}.${string}`,
  attrs: Record<string, string | number | boolean | undefined> | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const [tag, ...classes] = spec.split(".") as [K, ...string[]];
  const el = document.createElement(tag);
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === false) continue;
    if (key === "testid") el.dataset.testid = String(value);
    else if (key === "text") el.textContent = String(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

/** Sets text only when it changed (a live list re-renders often; untouched nodes cost nothing). */
export function setText(el: Element, value: string): void {
  if (el.textContent !== value) el.textContent = value;
}

export function setAttr(el: Element, name: string, value: string): void {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

// ------------------------------------------------------------------ numbers and credits

const INT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const DEC = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
const NUM = new Intl.NumberFormat("en-US");

export const fmtInt = (n: number | null | undefined): string => (n === null || n === undefined ? "–" : INT.format(n));
export const fmtDec = (n: number | null | undefined): string => (n === null || n === undefined ? "–" : DEC.format(n));
/** A quantity as typed (4.5 seconds stays 4.5; up to three decimals). */
export const fmtNum = (n: number | null | undefined): string => (n === null || n === undefined ? "–" : NUM.format(n));
export const fmtRate = (r: number | null | undefined): string => (r === null || r === undefined ? "–" : `${(r * 100).toFixed(1)} %`);

/** "1 credit", "1,200 credits": `plural(n, one, many)` for any other word. */
export const plural = (n: number, one: string, many = `${one}s`): string => `${fmtInt(n)} ${n === 1 ? one : many}`;
export const fmtCredits = (n: number): string => plural(n, "credit");

// ------------------------------------------------------------------ durations, dates and times

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A relative time: "just now", "12 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function fmtAgo(ms: number | null, now = Date.now()): string {
  if (ms === null) return "";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

const TIME = { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit" } as const;
const WHEN = new Intl.DateTimeFormat("en-GB", TIME);
const WHEN_YEAR = new Intl.DateTimeFormat("en-GB", { ...TIME, year: "numeric" });
const WHEN_UTC = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
const WHEN_UTC_YEAR = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC" });

const sameYear = (ms: number, now: number, utc = false): boolean =>
  utc ? new Date(ms).getUTCFullYear() === new Date(now).getUTCFullYear() : new Date(ms).getFullYear() === new Date(now).getFullYear();

/**
 * A moment in local time, "5 Dec, 14:03:22", with the year when it is not this year
 * ("31 Dec 2027, 00:00:00"). Days alone: `shortDate` (the library's, UTC: "31 Dec", "31 Dec 2027").
 */
export const fmtWhen = (ms: number | null, now = Date.now()): string => (ms === null ? "–" : (sameYear(ms, now) ? WHEN : WHEN_YEAR).format(ms));

/** An ISO instant in UTC to the minute, "5 Dec, 14:03 UTC", with the year when it is not this year. */
export function fmtUtc(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "–";
  const ms = Date.parse(iso);
  return `${(sameYear(ms, now, true) ? WHEN_UTC : WHEN_UTC_YEAR).format(ms)} UTC`;
}

// ------------------------------------------------------------------ sign-in forms

/** The message a Firebase Auth error deserves on a sign-in (or sign-up) form. */
export function authMessage(err: unknown): string {
  const code = (err as { code?: string }).code ?? "";
  if (code.includes("invalid-credential") || code.includes("wrong-password") || code.includes("user-not-found")) return "That email and password do not match an account.";
  if (code.includes("email-already-in-use")) return "An account with this email exists: sign in instead.";
  if (code.includes("weak-password")) return "Choose a password of at least 6 characters.";
  if (code.includes("invalid-email")) return "That is not an email address.";
  if (code.includes("too-many-requests")) return "Too many attempts: wait a moment and try again.";
  if (code.includes("network-request-failed")) return "The sign-in service cannot be reached.";
  return "Signing in did not work. Please try again.";
}

/** Runs a sign-in action; its failure shows in `box` (hidden while it runs and on success). */
export async function withAuthMessage(box: HTMLElement, action: () => Promise<unknown>): Promise<void> {
  box.hidden = true;
  try {
    await action();
  } catch (err) {
    box.textContent = authMessage(err);
    box.hidden = false;
  }
}
