/**
 * The Credits tab's statistics for a range (`getUsageStats` through the shared cache): the
 * figures, the trend (per hour for 24 hours; per day, week or month for the longer ranges) and
 * by-type charts, usage by type, the top users, and what the view covers and cost in reads.
 */
import { GENERATION_TYPES, toCreditsError, type StatsRange, type TrendGrouping, type UsageFigures, type UsageStats } from "@credit-backend/client/admin";
import { $, fmtDec, fmtInt, fmtMs, fmtRate, fmtUtc, h, plural } from "../shared/kit";
import { ByTypeChart, TrendChart } from "./charts";
import type { Ctx } from "./context";

const REFRESH_MS = 60_000;

export class CreditsStats {
  private range: StatsRange = "24h";
  private grouping: TrendGrouping = "day";
  private stats: UsageStats | null = null;
  private seq = 0;
  private trend: TrendChart | null = null;
  private byType: ByTypeChart | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly ctx: Ctx) {
    $("range").addEventListener("click", (e) => {
      const button = (e.target as HTMLElement).closest<HTMLButtonElement>("button[data-range]");
      if (!button) return;
      this.range = button.dataset.range as StatsRange;
      for (const b of $("range").querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === button));
      void this.load(0);
    });
    $("grouping").addEventListener("click", (e) => {
      const button = (e.target as HTMLElement).closest<HTMLButtonElement>("button[data-group]");
      if (!button) return;
      this.grouping = button.dataset.group as TrendGrouping;
      for (const b of $("grouping").querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === button));
      if (this.stats) this.drawTrend(this.stats);
    });
    $("stats-refresh").addEventListener("click", () => void this.load(0));
    ctx.stats.onResult((range, stats) => {
      if (range === this.range) this.show(stats);
    });
  }

  start(): void {
    this.trend ??= new TrendChart($<HTMLCanvasElement>("trend-chart"));
    this.byType ??= new ByTypeChart($<HTMLCanvasElement>("bytype-chart"));
    void this.load(REFRESH_MS / 2);
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.load(REFRESH_MS - 1000), REFRESH_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async load(maxAgeMs: number): Promise<void> {
    const seq = ++this.seq;
    const range = this.range;
    $("stats-card").classList.add("busy");
    try {
      const stats = await this.ctx.stats.get(range, maxAgeMs);
      if (seq !== this.seq) return;
      $("stats-error").hidden = true;
      this.show(stats);
    } catch (err) {
      if (seq !== this.seq) return;
      const failure = toCreditsError(err);
      $("stats-error").textContent = `The statistics cannot be loaded (${failure.reason.replace(/_/g, " ")}).`;
      $("stats-error").hidden = false;
    } finally {
      if (seq === this.seq) $("stats-card").classList.remove("busy");
    }
  }

  show(stats: UsageStats): void {
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
}

function figure(name: string, value: number | null, text: string): void {
  const el = document.querySelector<HTMLElement>(`[data-testid="stat-${name}"]`)!;
  el.textContent = text;
  el.dataset.value = value === null ? "null" : String(value);
}

function cell(field: string, value: number | null, text: string): HTMLTableCellElement {
  return h("td.num", { "data-field": field, "data-value": value === null ? "null" : String(value), text });
}
