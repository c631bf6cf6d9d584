/**
 * The Credits tab: usage statistics for a range (figures, trend and by-type charts, top users,
 * with what they cover and what they cost in reads), the prices and grant settings (live,
 * validated by the backend, versioned), and bonus credits for a user.
 */
import {
  CONFIGURATION_ACTIONS,
  classifySearch,
  errorsByField,
  GENERATION_TYPES,
  pricingFormOf,
  pricingPatch,
  toCreditsError,
  type AdminUser,
  type CreditConfiguration,
  type GrantRequest,
  type PricingField,
  type PricingForm,
  type StatsRange,
  type UsageFigures,
  type TrendGrouping,
  type UsageStats,
} from "@credit-backend/client/admin";
import { ByTypeChart, TrendChart } from "./charts";
import type { Ctx } from "./context";
import { $, fmtAgo, fmtDec, fmtInt, fmtMs, fmtRate, fmtUtc, fmtWhen, h, plural } from "../shared/kit";
import { UserView } from "./user-view";

const REFRESH_MS = 60_000;

export class CreditsTab {
  private range: StatsRange = "24h";
  private grouping: TrendGrouping = "day";
  private stats: UsageStats | null = null;
  private statsSeq = 0;
  private trend: TrendChart | null = null;
  private byType: ByTypeChart | null = null;
  private config: CreditConfiguration | null = null;
  private dirty = false;
  private stopConfig: (() => void) | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private grantee: AdminUser | { uid: string; email: null; missing: true } | null = null;
  private emails = new Map<string, string>();
  private askedFor = "";
  private readonly userView: UserView;

  constructor(private readonly ctx: Ctx) {
    this.userView = new UserView(ctx);
    $("range").addEventListener("click", (e) => {
      const button = (e.target as HTMLElement).closest<HTMLButtonElement>("button[data-range]");
      if (!button) return;
      this.range = button.dataset.range as StatsRange;
      for (const b of $("range").querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === button));
      void this.loadStats(0);
    });
    $("grouping").addEventListener("click", (e) => {
      const button = (e.target as HTMLElement).closest<HTMLButtonElement>("button[data-group]");
      if (!button) return;
      this.grouping = button.dataset.group as TrendGrouping;
      for (const b of $("grouping").querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === button));
      if (this.stats) this.drawTrend(this.stats);
    });
    $("stats-refresh").addEventListener("click", () => void this.loadStats(0));
    $("pricing-form").addEventListener("input", () => this.onPricingInput());
    $("pricing-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.savePricing();
    });
    $("reset-pricing").addEventListener("click", () => {
      this.dirty = false;
      this.fillPricing();
    });
    $("grant-search-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.search();
    });
    $("grant-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.grant();
    });
    ctx.stats.onResult((range, stats) => {
      if (range === this.range) this.showStats(stats);
    });
  }

  start(): void {
    this.trend ??= new TrendChart($<HTMLCanvasElement>("trend-chart"));
    this.byType ??= new ByTypeChart($<HTMLCanvasElement>("bytype-chart"));
    if (!this.stopConfig) {
      this.stopConfig = this.ctx.admin.watchCreditConfiguration(
        (config) => {
          this.config = config;
          if (!this.dirty) this.fillPricing();
          this.showVersion();
        },
        () => this.ctx.toast("The configuration cannot be read.", "bad"),
      );
    }
    void this.loadStats(REFRESH_MS / 2);
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.loadStats(REFRESH_MS - 1000), REFRESH_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  dispose(): void {
    this.userView.dispose();
    this.stop();
    this.stopConfig?.();
    this.stopConfig = null;
  }

  // ---------------------------------------------------------------- statistics

  private async loadStats(maxAgeMs: number): Promise<void> {
    const seq = ++this.statsSeq;
    const range = this.range;
    $("stats-card").classList.add("busy");
    try {
      const stats = await this.ctx.stats.get(range, maxAgeMs);
      if (seq !== this.statsSeq) return;
      $("stats-error").hidden = true;
      this.showStats(stats);
    } catch (err) {
      if (seq !== this.statsSeq) return;
      const failure = toCreditsError(err);
      $("stats-error").textContent = `The statistics cannot be loaded (${failure.reason.replace(/_/g, " ")}).`;
      $("stats-error").hidden = false;
    } finally {
      if (seq === this.statsSeq) $("stats-card").classList.remove("busy");
    }
  }

  private showStats(stats: UsageStats): void {
    // A fresh fetch reaches here twice (the cache's listener, then loadStats): draw it once.
    if (stats.range !== this.range || stats === this.stats) return;
    this.stats = stats;
    const t = stats.totals;
    const card = $("stats-card");
    card.dataset.range = stats.range;
    card.dataset.until = stats.until;
    figure("creditsUsed", t.creditsUsed, fmtInt(t.creditsUsed));
    figure("generations", t.generations, fmtInt(t.generations));
    figure("successRate", t.successRate, fmtRate(t.successRate));
    figure("averageCostPerGeneration", t.averageCostPerGeneration, t.averageCostPerGeneration === null ? "–" : `${fmtDec(t.averageCostPerGeneration)} cr`);
    figure("averageProcessingTimeMs", t.averageProcessingTimeMs, fmtMs(t.averageProcessingTimeMs));
    figure("activeNow", stats.activeNow, fmtInt(stats.activeNow));
    const expired = typeof stats.expiredCredits === "number" ? stats.expiredCredits : 0;
    figure("expiredCredits", expired, fmtInt(expired));
    $("stat-refunds").textContent = t.refundedCredits ? `after ${plural(t.refundedCredits, "credit")} refunded` : "net of refunds";
    $("stat-split").textContent = `${fmtInt(t.completedGenerations)} completed · ${fmtInt(t.failedGenerations)} failed`;
    $("stat-active-split").textContent = `${fmtInt(stats.activeByStatus.pending)} pending · ${fmtInt(stats.activeByStatus.processing)} processing`;

    $("bytype-rows").replaceChildren(
      ...GENERATION_TYPES.map((type) => {
        const f: UsageFigures = stats.byType[type];
        return h(
          "tr",
          { testid: `bytype-${type}` },
          h("td", null, h("span.swatch", { "data-type": type }), type[0]!.toUpperCase() + type.slice(1)),
          cell("generations", f.generations, fmtInt(f.generations)),
          cell("creditsUsed", f.creditsUsed, fmtInt(f.creditsUsed)),
          cell("successRate", f.successRate, fmtRate(f.successRate)),
          cell("averageCostPerGeneration", f.averageCostPerGeneration, fmtDec(f.averageCostPerGeneration)),
          cell("averageProcessingTimeMs", f.averageProcessingTimeMs, fmtMs(f.averageProcessingTimeMs)),
        );
      }),
    );
    const top = stats.topUsers;
    $("top-rows").replaceChildren(
      ...(top.length
        ? top.map((u, i) =>
            h(
              "tr",
              { testid: "top-user", "data-uid": u.userId },
              h("td", { text: String(i + 1) }),
              h("td", null, h("span.email", { text: u.email ?? u.displayName ?? "(no email)" }), h("small.uid", { text: u.userId })),
              cell("creditsUsed", u.creditsUsed, fmtInt(u.creditsUsed)),
              cell("generations", u.generations, fmtInt(u.generations)),
            ),
          )
        : [h("tr", null, h("td.empty", { colspan: 4, text: stats.topUsersWindow ? "Nobody used credits in this window." : "Ranked once the first hourly rollup has run." }))]),
    );
    const window = stats.topUsersWindow ? `top users cover ${fmtUtc(stats.topUsersWindow.since)} – ${fmtUtc(stats.topUsersWindow.until)}` : "top users: not rolled up yet";
    const cost = stats.readCost;
    $("stats-fine").replaceChildren(
      h("span", { testid: "stats-as-of", text: `As of ${fmtUtc(stats.until)} · range from ${fmtUtc(stats.since)} · rolled up until ${stats.rolledUpUntil ? fmtUtc(stats.rolledUpUntil) : "not yet"} · ${window}.` }),
      " ",
      h("span", {
        testid: "stats-cost",
        "data-value": stats.documentsRead,
        text: `This view cost ${plural(stats.documentsRead, "read")} (${fmtInt(cost.documents)} documents, ${fmtInt(cost.aggregationQueries)} aggregation queries billed ${fmtInt(cost.aggregationReads)}).`,
      }),
    );
    this.drawTrend(stats);
    this.byType?.update(stats);
  }

  /** The trend chart: hourly for 24 hours; daily ranges per day, week or month. */
  private drawTrend(stats: UsageStats): void {
    const daily = stats.interval === "day";
    $("grouping").hidden = !daily;
    $("trend-caption").textContent = `Credits used, credits expired and generations per ${daily ? this.grouping : stats.interval} (UTC)`;
    this.trend?.update(stats, this.grouping);
  }

  // ---------------------------------------------------------------- pricing

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

  // ---------------------------------------------------------------- grants

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

  private choose(user: CreditsTab["grantee"]): void {
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

function figure(name: string, value: number | null, text: string): void {
  const el = document.querySelector<HTMLElement>(`[data-testid="stat-${name}"]`)!;
  el.textContent = text;
  el.dataset.value = value === null ? "null" : String(value);
}

function cell(field: string, value: number | null, text: string): HTMLTableCellElement {
  return h("td.num", { "data-field": field, "data-value": value === null ? "null" : String(value), text });
}
