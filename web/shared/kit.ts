/** Small DOM and formatting helpers shared by the dashboard's tabs. */
import type { GenerationType } from "@credit-backend/client/admin";

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

// ------------------------------------------------------------------ numbers and times

const INT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const DEC = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

export const fmtInt = (n: number | null | undefined): string => (n === null || n === undefined ? "–" : INT.format(n));
export const fmtDec = (n: number | null | undefined): string => (n === null || n === undefined ? "–" : DEC.format(n));
export const fmtRate = (r: number | null | undefined): string => (r === null || r === undefined ? "–" : `${(r * 100).toFixed(1)} %`);

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function fmtAgo(ms: number | null, now = Date.now()): string {
  if (ms === null) return "";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

const WHEN = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit" });
const WHEN_UTC = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
export const fmtWhen = (ms: number | null): string => (ms === null ? "–" : WHEN.format(ms));
export const fmtUtc = (iso: string | null | undefined): string => (iso ? `${WHEN_UTC.format(Date.parse(iso))} UTC` : "–");

export const plural = (n: number, one: string, many = `${one}s`): string => `${fmtInt(n)} ${n === 1 ? one : many}`;

export const UNITS: Record<GenerationType, [one: string, many: string]> = {
  image: ["image", "images"],
  video: ["second", "seconds"],
  voice: ["minute", "minutes"],
  chat: ["token", "tokens"],
};

export const TYPE_COLORS: Record<GenerationType, string> = { image: "#3056d3", video: "#8e44ad", voice: "#1f8a4c", chat: "#d98a00" };

const ICON_PATHS: Record<GenerationType, string> = {
  // a framed picture, a film frame with a play mark, a microphone, a speech bubble
  image: "M4 5h16v14H4z M4 16l5-5 4 4 3-3 4 4 M15.5 9.5a1.5 1.5 0 1 0 .01 0",
  video: "M3 6h13v12H3z M16 10l5-3v10l-5-3 M8 9.5v5l4-2.5z",
  voice: "M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3z M6 11a6 6 0 0 0 12 0 M12 17v4 M9 21h6",
  chat: "M4 5h16v11H9l-5 4z M8 9h8 M8 12h5",
};

/** The type's icon (inline SVG: no icon font, no emoji font needed). */
export function typeIcon(type: GenerationType | null): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `icon ${type ?? "unknown"}`);
  svg.setAttribute("aria-label", type ?? "unknown type");
  svg.setAttribute("role", "img");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", type ? ICON_PATHS[type] : "M12 3a9 9 0 1 0 .01 0");
  svg.append(path);
  if (type) svg.style.color = TYPE_COLORS[type];
  return svg;
}

/** The message a Firebase Auth error deserves on a sign-in form. */
export function authMessage(err: unknown): string {
  const code = (err as { code?: string }).code ?? "";
  if (code.includes("invalid-credential") || code.includes("wrong-password") || code.includes("user-not-found")) return "That email and password do not match an account.";
  if (code.includes("invalid-email")) return "That is not an email address.";
  if (code.includes("too-many-requests")) return "Too many attempts: wait a moment and try again.";
  if (code.includes("network-request-failed")) return "The sign-in service cannot be reached.";
  return "Signing in did not work. Please try again.";
}
