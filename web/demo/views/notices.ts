/**
 * The notices above the cards: a withheld sign-up grant and why, the return from Stripe
 * Checkout, the low-balance prompt and the suspended account.
 */
import { $, h } from "../../shared/kit";
import { account, isSuspended, type State } from "../state";

const GRANT_RULES: Record<string, string> = {
  anonymous: "guest accounts do not receive starter credits",
  email_unverified: "starter credits are given once your email address is verified",
  ip_limit: "your network has already received the starter credits allowed for today",
};

export function renderNotices(s: Readonly<State>): void {
  $("low-prompt").hidden = !account(s).low || isSuspended(s);
  renderCheckoutReturn(s.checkout);
  $("suspended").hidden = !isSuspended(s);
  renderGrant(s);
}

function renderGrant(s: Readonly<State>): void {
  const box = $("grant");
  const withheld = (s.balance?.signupGrant ?? s.status?.signupGrant) === "withheld";
  box.hidden = !withheld;
  if (!withheld) return;
  const rule = s.balance?.signupGrantRule ?? s.status?.signupGrantRule;
  box.replaceChildren(
    h("h2", { text: "No starter credits on this account" }),
    h("p", { text: `Your account was created with 0 credits: ${GRANT_RULES[rule ?? ""] ?? "the sign-up policy withheld them"}. You can still buy credits or ask an admin for a grant.` }),
  );
}

function renderCheckoutReturn(outcome: string | null): void {
  const box = $("checkout-return");
  box.hidden = !outcome;
  if (outcome === "success") box.textContent = "Payment received. Your credits appear here as soon as Stripe confirms it.";
  else if (outcome === "cancel") box.textContent = "Checkout was cancelled; nothing was charged.";
}
