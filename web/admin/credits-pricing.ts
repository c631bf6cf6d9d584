/**
 * The Credits tab's prices and grant settings: the stored configuration, live, in a form
 * checked as it is typed (`pricingPatch`) and by the backend when saved (its field errors shown
 * at the fields), and which version is stored, when and by whom.
 */
import {
  CONFIGURATION_ACTIONS,
  errorsByField,
  pricingFormOf,
  pricingPatch,
  toCreditsError,
  type CreditConfiguration,
  type PricingField,
  type PricingForm,
} from "@credit-backend/client/admin";
import { $, fmtAgo, fmtWhen, h } from "../shared/kit";
import type { Ctx } from "./context";

export class CreditsPricing {
  private config: CreditConfiguration | null = null;
  private dirty = false;
  private stopConfig: (() => void) | null = null;
  private emails = new Map<string, string>();
  private askedFor = "";

  constructor(private readonly ctx: Ctx) {
    $("pricing-form").addEventListener("input", () => this.onPricingInput());
    $("pricing-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.savePricing();
    });
    $("reset-pricing").addEventListener("click", () => {
      this.dirty = false;
      this.fillPricing();
    });
  }

  /** Follows the stored configuration (until `dispose`); edits in progress are kept. */
  start(): void {
    if (this.stopConfig) return;
    this.stopConfig = this.ctx.admin.watchCreditConfiguration(
      (config) => {
        this.config = config;
        if (!this.dirty) this.fillPricing();
        this.showVersion();
      },
      () => this.ctx.toast("The configuration cannot be read.", "bad"),
    );
  }

  dispose(): void {
    this.stopConfig?.();
    this.stopConfig = null;
  }

  private form(): PricingForm {
    const form = {} as PricingForm;
    for (const input of $("pricing-form").querySelectorAll<HTMLInputElement>("input[name]")) form[input.name as PricingField] = input.value;
    return form;
  }

  private fillPricing(): void {
    if (!this.config) return;
    const values = pricingFormOf(this.config);
    for (const input of $("pricing-form").querySelectorAll<HTMLInputElement>("input[name]")) input.value = values[input.name as PricingField];
    this.showFieldErrors({});
    $<HTMLButtonElement>("save-pricing").disabled = true;
  }

  private onPricingInput(): void {
    if (!this.config) return;
    const patch = pricingPatch(this.config, this.form());
    this.dirty = patch.count > 0 || Object.keys(patch.errors).length > 0;
    this.showFieldErrors(patch.errors);
    const save = $<HTMLButtonElement>("save-pricing");
    save.disabled = patch.count === 0 || Object.keys(patch.errors).length > 0;
    save.textContent = patch.count > 1 ? `Save ${patch.count} changes` : "Save change";
    if (patch.count === 0) save.textContent = "Save changes";
    $("pricing-outcome").textContent = "";
  }

  private showFieldErrors(errors: Partial<Record<string, string>>): void {
    for (const slot of $("pricing-form").querySelectorAll<HTMLElement>("[data-error-for]")) {
      const message = errors[slot.dataset.errorFor!] ?? "";
      slot.textContent = message;
      slot.closest("label")?.classList.toggle("invalid", message !== "");
    }
  }

  private async savePricing(): Promise<void> {
    if (!this.config) return;
    const patch = pricingPatch(this.config, this.form());
    if (patch.count === 0 || Object.keys(patch.errors).length) return;
    const save = $<HTMLButtonElement>("save-pricing");
    save.disabled = true;
    const outcome = $("pricing-outcome");
    outcome.className = "outcome";
    outcome.textContent = "Saving…";
    try {
      const result = await this.ctx.client.admin.updateConfiguration(patch.changes);
      this.dirty = false;
      outcome.textContent = `Saved: version ${result.version}.`;
      outcome.classList.add("ok");
      // The listener brings the stored document; until then show what the backend answered.
      const config = result.config as Partial<CreditConfiguration>;
      if (this.config && config.costs) {
        this.config = { ...this.config, costs: config.costs, defaultCredits: config.defaultCredits ?? this.config.defaultCredits, lowBalanceThreshold: config.lowBalanceThreshold ?? this.config.lowBalanceThreshold, version: result.version };
        this.fillPricing();
        this.showVersion();
      }
    } catch (err) {
      const failure = toCreditsError(err);
      outcome.classList.add("bad");
      if (failure.reason === "invalid_request") {
        const { fields, other } = errorsByField(failure.errors);
        this.showFieldErrors(fields);
        outcome.textContent = Object.keys(other).length ? `Not saved: ${Object.entries(other).map(([k, v]) => `${k} ${v}`).join("; ")}` : "Not saved: check the marked fields.";
      } else {
        outcome.textContent = `Not saved: ${failure.reason.replace(/_/g, " ")}.`;
      }
      save.disabled = false;
    }
  }

  private showVersion(): void {
    const c = this.config;
    const el = $("config-version");
    if (!c) {
      el.textContent = "No configuration stored yet (defaults apply).";
      return;
    }
    el.dataset.version = String(c.version ?? "");
    if (c.updatedAtMs === null) {
      el.replaceChildren(h("strong", { text: `Version ${c.version ?? 0}` }), " · the defaults, never changed");
      return;
    }
    const who = c.updatedBy ? (this.emails.get(c.updatedBy) ?? c.updatedBy) : "unknown";
    el.replaceChildren(
      h("strong", { text: `Version ${c.version ?? "–"}` }),
      ` · updated ${fmtAgo(c.updatedAtMs)} (${fmtWhen(c.updatedAtMs)}) by `,
      h("span", { testid: "config-updated-by", text: who }),
    );
    if (c.updatedBy && !this.emails.has(c.updatedBy) && this.askedFor !== `${c.version}:${c.updatedBy}`) {
      // The configuration keeps the uid; the audit entry of the change has the email.
      this.askedFor = `${c.version}:${c.updatedBy}`;
      const uid = c.updatedBy;
      void this.ctx.admin.latestAuditEntry(CONFIGURATION_ACTIONS).then((entry) => {
        if (entry?.actorId === uid && entry.actorEmail) {
          this.emails.set(uid, entry.actorEmail);
          this.showVersion();
        }
      });
    }
  }
}
