/**
 * The Credits tab's grants: find a user by email or uid, see their credits (user-view.ts), and
 * grant bonus credits (a promotion, with an expiry) or claw some back, with a reason.
 */
import { classifySearch, toCreditsError, type AdminUser, type GrantRequest } from "@credit-backend/client/admin";
import { $, fmtInt, h, plural } from "../shared/kit";
import type { Ctx } from "./context";
import { UserView } from "./user-view";

/** The user chosen: an account, or a uid with no account document yet (the grant opens it). */
type Grantee = AdminUser | { uid: string; email: null; missing: true };

export class CreditsGrant {
  private grantee: Grantee | null = null;
  private readonly userView: UserView;

  constructor(private readonly ctx: Ctx) {
    this.userView = new UserView(ctx);
    $("grant-search-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.search();
    });
    $("grant-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.grant();
    });
  }

  dispose(): void {
    this.userView.dispose();
  }

  private async search(): Promise<void> {
    const term = classifySearch($<HTMLInputElement>("grant-search").value);
    const error = $("grant-search-error");
    const list = $("grant-results");
    error.hidden = true;
    list.replaceChildren();
    this.choose(null);
    if (term.kind === "invalid") {
      error.textContent = term.message;
      error.hidden = false;
      return;
    }
    try {
      const found = term.kind === "email" ? await this.ctx.admin.findUsersByEmail(term.value) : [await this.ctx.admin.getUser(term.value)].filter((u): u is AdminUser => u !== null);
      if (!found.length) {
        if (term.kind === "uid") {
          // A uid with no account document yet: the grant opens it (if Firebase Auth knows the uid).
          error.textContent = "No account document for this uid yet. You can still grant: the backend checks that the user exists.";
          error.hidden = false;
          this.choose({ uid: term.value, email: null, missing: true });
        } else {
          error.textContent = "No account with this email has used the product yet. Search by uid instead.";
          error.hidden = false;
        }
        return;
      }
      list.replaceChildren(
        ...found.map((u) => {
          const pick = h(
            "li",
            { testid: "grant-result", "data-uid": u.uid },
            h("span.email", { text: u.email ?? "(no email)" }),
            h("small.uid", { text: u.uid }),
            h("span.balance", { text: `${fmtInt(u.credits)} credits` }),
            u.status === "suspended" ? h("span.badge.failed", { text: "suspended" }) : null,
            h("button", { type: "button", text: "Choose" }),
          );
          pick.querySelector("button")!.addEventListener("click", () => this.choose(u));
          return pick;
        }),
      );
      if (found.length === 1) this.choose(found[0]!);
    } catch (err) {
      error.textContent = `The search failed (${toCreditsError(err).reason.replace(/_/g, " ")}).`;
      error.hidden = false;
    }
  }

  private choose(user: Grantee | null): void {
    this.grantee = user;
    $("grant-form").hidden = !user;
    for (const li of $("grant-results").querySelectorAll<HTMLElement>("li")) li.classList.toggle("selected", li.dataset.uid === user?.uid);
    this.userView.show(user && !("missing" in user) ? user : null);
    if (!user) return;
    $("grant-chosen").replaceChildren(
      "To ",
      h("strong", { text: user.email ?? user.uid }),
      "missing" in user ? " (no account document yet)" : ` · balance ${fmtInt(user.credits)} credits`,
    );
    $("grant-outcome").hidden = true;
  }

  private async grant(): Promise<void> {
    const user = this.grantee;
    if (!user) return;
    const amountText = $<HTMLInputElement>("grant-amount").value.trim();
    const reason = $<HTMLInputElement>("grant-reason").value.trim();
    const slots = $("grant-form").querySelectorAll<HTMLElement>("[data-error-for]");
    const show = (errors: Record<string, string>) => slots.forEach((s) => (s.textContent = errors[s.dataset.errorFor!] ?? ""));
    const local: Record<string, string> = {};
    if (!/^-?\d+$/.test(amountText) || Number(amountText) === 0) local.amount = "A whole number of credits, not zero.";
    if (!reason) local.reason = "Say why: it goes into the ledger and the audit log.";
    show(local);
    if (Object.keys(local).length) return;
    const button = $<HTMLButtonElement>("grant-submit");
    button.disabled = true;
    const outcome = $("grant-outcome");
    try {
      const amount = Number(amountText);
      const request: GrantRequest = { userId: user.uid, amount, reason };
      if (amount > 0) {
        const source = $<HTMLSelectElement>("grant-source").value;
        if (source === "promo") request.source = "promo";
        const expires = $<HTMLInputElement>("grant-expires").value; // YYYY-MM-DDTHH:mm, read as UTC
        if (expires) request.expiresAt = `${expires}:00Z`;
      }
      const result = await this.ctx.client.admin.grantCredits(request);
      outcome.className = "outcome block ok";
      outcome.dataset.balance = String(result.newBalance);
      outcome.replaceChildren(
        `${amount > 0 ? "Granted" : "Clawed back"} ${plural(Math.abs(amount), "credit")} ${amount > 0 ? "to" : "from"} ${user.email ?? user.uid}. New balance: `,
        h("strong", { testid: "grant-new-balance", text: fmtInt(result.newBalance) }),
        ".",
      );
      outcome.hidden = false;
      $<HTMLInputElement>("grant-amount").value = "";
      $<HTMLInputElement>("grant-reason").value = "";
      $<HTMLInputElement>("grant-expires").value = "";
      if (!("missing" in user)) this.grantee = { ...user, credits: result.newBalance };
      for (const li of $("grant-results").querySelectorAll<HTMLElement>(`li[data-uid="${CSS.escape(user.uid)}"] .balance`)) li.textContent = `${fmtInt(result.newBalance)} credits`;
    } catch (err) {
      const failure = toCreditsError(err);
      outcome.className = "outcome block bad";
      if (failure.reason === "invalid_request") {
        show(failure.errors);
        outcome.textContent = `Not granted: ${Object.entries(failure.errors).map(([k, v]) => `${k} ${v}`).join("; ")}.`;
      } else if (failure.reason === "insufficient_credits") {
        outcome.textContent = `Not clawed back: the balance is ${fmtInt(failure.available)} and may not go below zero.`;
      } else if (failure.reason === "not_found") {
        outcome.textContent = "Not granted: no user with this uid exists.";
      } else {
        outcome.textContent = `Not granted: ${failure.reason.replace(/_/g, " ")}.`;
      }
      outcome.hidden = false;
    } finally {
      button.disabled = false;
    }
  }
}
