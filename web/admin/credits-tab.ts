/**
 * The Credits tab: usage statistics for a range (figures, trend and by-type charts, top users,
 * with what they cover and what they cost in reads), the prices and grant settings (live,
 * validated by the backend, versioned), and bonus credits for a user.
 *
 * Its three parts are credits-stats.ts, credits-pricing.ts and credits-grant.ts; this file only
 * starts and stops them with the tab.
 */
import type { Ctx } from "./context";
import { CreditsGrant } from "./credits-grant";
import { CreditsPricing } from "./credits-pricing";
import { CreditsStats } from "./credits-stats";

export class CreditsTab {
  private readonly stats: CreditsStats;
  private readonly pricing: CreditsPricing;
  private readonly grants: CreditsGrant;

  constructor(ctx: Ctx) {
    this.stats = new CreditsStats(ctx);
    this.pricing = new CreditsPricing(ctx);
    this.grants = new CreditsGrant(ctx);
  }

  start(): void {
    this.stats.start();
    this.pricing.start();
  }

  /** Stops the statistics' refresh (the tab is hidden); the configuration stays followed. */
  stop(): void {
    this.stats.stop();
  }

  /** Stops everything (sign-out). */
  dispose(): void {
    this.grants.dispose();
    this.stats.stop();
    this.pricing.dispose();
  }
}
