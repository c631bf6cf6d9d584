/**
 * The Live AI tab's figures for the day from `getUsageStats("24h")` (through the shared cache:
 * the Credits tab's call for 24 hours serves here too): active now, success and failure rates,
 * average processing time, credits this hour, and the hourly credits chart.
 */
import { toCreditsError, type UsageStats } from "@credit-backend/client/admin";
import { $, fmtInt, fmtMs, fmtRate, fmtUtc, plural } from "../shared/kit";
import { HourlyCreditsChart } from "./charts";
import type { Ctx } from "./context";

const STATS_REFRESH_MS = 20_000;

export class LiveStats {
  private shown: UsageStats | null = null;
  private hourly: HourlyCreditsChart | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly ctx: Ctx) {
    ctx.stats.onResult((range, stats) => {
      if (range === "24h") this.show(stats);
    });
  }

  start(): void {
    this.hourly ??= new HourlyCreditsChart($<HTMLCanvasElement>("hourly-chart"));
    void this.load(STATS_REFRESH_MS / 2);
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.load(STATS_REFRESH_MS - 1000), STATS_REFRESH_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async load(maxAgeMs: number): Promise<void> {
    try {
      this.show(await this.ctx.stats.get("24h", maxAgeMs));
    } catch (err) {
      $("live-fine").textContent = `The day's figures cannot be loaded (${toCreditsError(err).reason.replace(/_/g, " ")}).`;
    }
  }

  private show(stats: UsageStats): void {
    // A fresh fetch reaches here twice (the cache's listener, then loadStats): draw it once.
    if (stats === this.shown) return;
    this.shown = stats;
    const t = stats.totals;
    const failureRate = t.generations ? t.failedGenerations / t.generations : null;
    const live = (id: string, value: number | null, text: string) => {
      const el = document.querySelector<HTMLElement>(`[data-testid="${id}"]`)!;
      el.textContent = text;
      el.dataset.value = value === null ? "null" : String(value);
    };
    live("live-active", stats.activeNow, fmtInt(stats.activeNow));
    live("live-success", t.successRate, fmtRate(t.successRate));
    live("live-failure", failureRate, fmtRate(failureRate));
    live("live-avg-time", t.averageProcessingTimeMs, fmtMs(t.averageProcessingTimeMs));
    const thisHour = stats.series.at(-1)?.creditsUsed ?? 0;
    live("live-credits-hour", thisHour, fmtInt(thisHour));
    $("live-active-split").textContent = `${fmtInt(stats.activeByStatus.pending)} pending · ${fmtInt(stats.activeByStatus.processing)} processing`;
    $("live-finished").textContent = `${fmtInt(t.completedGenerations)} completed`;
    $("live-failed").textContent = `${fmtInt(t.failedGenerations)} failed`;
    $("live-credits-day").textContent = `${fmtInt(t.creditsUsed)} in 24 h`;
    $("live-fine").textContent = `Figures as of ${fmtUtc(stats.until)}, refreshed every ${STATS_REFRESH_MS / 1000} s (${plural(stats.documentsRead, "read")} each).`;
    this.hourly?.update(stats);
  }
}
