/**
 * The demo page's state, all of it in one object: who is signed in, what the backend last said
 * (status, live balance, preview, activities, products), what the form asks for, and what the
 * page is doing (generating, counting down, opening checkout). Views read it; only the update
 * functions below change it, and every change is rendered at once by the views listening.
 *
 * What is not state lives with whoever owns it: listeners and timers in account.ts and
 * generation.ts, the form's own inputs in views/generate-form.ts.
 */
import type { Activity, Balance, CostPreview, CreditsFailure, CreditStatus, GenerationType, Product } from "@credit-backend/client";

export interface GenerationForm {
  type: GenerationType;
  quantity: number;
  prompt: string;
}

export interface State {
  uid: string | null;
  email: string | null;
  /** The last `getCreditStatus` / `previewCost` answer (costs, limits, plan, buckets, grant). */
  status: CreditStatus | null;
  /** The live balance document (`watchBalance`), newer than `status` for credits and state. */
  balance: Balance | null;
  form: GenerationForm;
  preview: CostPreview | null;
  /** The form (`previewKey`) the preview was worked out for. */
  previewFor: string;
  previewError: CreditsFailure | null;
  busy: boolean;
  problem: CreditsFailure | null;
  /** Set when a charge's answer was lost: "Try again" resends the same request id. */
  retryRequestId: string | null;
  /** Seconds left of a rate limit, while one counts down. */
  waitSeconds: number | null;
  /** The generation followed on the page. */
  activity: Activity | null;
  recent: Activity[];
  products: Product[];
  /** The product whose checkout is opening. */
  buying: string | null;
  shopError: string | null;
  /** `?checkout=success|cancel`: the page was opened again by Stripe Checkout. */
  checkout: string | null;
}

const state: State = {
  uid: null,
  email: null,
  status: null,
  balance: null,
  form: { type: "image", quantity: 1, prompt: "" },
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
  checkout: new URLSearchParams(location.search).get("checkout"),
};

/** The page (every card and the header) and the shop dialog render apart: the shop's buttons are not rebuilt at every tick. */
export type Part = "page" | "shop";
const SHOP_KEYS: ReadonlySet<keyof State> = new Set(["products", "buying", "shopError"]);
const listeners: Record<Part, Array<(state: Readonly<State>) => void>> = { page: [], shop: [] };

export function getState(): Readonly<State> {
  return state;
}

export function onChange(part: Part, listener: (state: Readonly<State>) => void): void {
  listeners[part].push(listener);
}

/** Changes the state and renders the parts that show what changed. */
export function update(patch: Partial<State>): void {
  Object.assign(state, patch);
  const keys = Object.keys(patch) as Array<keyof State>;
  if (keys.some((k) => !SHOP_KEYS.has(k))) for (const listener of listeners.page) listener(state);
  if (keys.some((k) => SHOP_KEYS.has(k))) for (const listener of listeners.shop) listener(state);
}

// ------------------------------------------------------------------ small updates

export function signedIn(user: { uid: string; email: string | null } | null): void {
  update({ uid: user?.uid ?? null, email: user?.email ?? null, status: null, balance: null, preview: null, problem: null, activity: null, recent: [] });
}

export function setForm(form: Partial<GenerationForm>): void {
  // A "Try again" resends the very same request; once the request changes it is a new one.
  update({ form: { ...state.form, ...form }, retryRequestId: null });
}

export const previewKey = (form: GenerationForm): string => `${form.type}:${form.quantity}`;

export function setProblem(problem: CreditsFailure | null): void {
  update({ problem });
}

// ------------------------------------------------------------------ what the views read

/** The account's figures: the live balance once it exists, else the last status. */
export function account(s: Readonly<State>): { credits?: number; status?: string; low?: boolean; debt: number } {
  const live = s.balance?.exists ? s.balance : null;
  return {
    credits: live ? live.credits : s.status?.credits,
    status: live ? live.status : s.status?.status,
    low: live ? live.lowBalance : s.status?.lowBalance,
    debt: s.balance?.debt ?? s.status?.debt ?? 0,
  };
}

export const isSuspended = (s: Readonly<State>): boolean => account(s).status === "suspended";
