/**
 * The Live AI tab: the newest generations as they happen (one bounded `onSnapshot` query), the
 * abuse panel (records, suspended accounts, suspend / reactivate / IP block), the admins'
 * notifications, the audit log, and the day's rates and hourly credits from `getUsageStats`.
 *
 * Staying responsive under a burst (a thousand generations a minute means dozens of snapshots a
 * second): listeners only store what they receive and mark their section dirty; a
 * requestAnimationFrame renders the dirty sections, at most every MIN_RENDER_INTERVAL_MS; cards
 * are keyed by activity id and touched only where their fields changed; the progress bar moves
 * by `transform` (no layout); cards scrolled out of view are not rendered (content-visibility).
 */
import type { AbuseRecord, AdminActivity, AdminNotification, AdminUser, LiveMeta } from "@credit-backend/client/admin";
import { $, fmtAgo, setText } from "../shared/kit";
import type { Ctx } from "./context";
import { LiveActions } from "./live-actions";
import { LiveAudit } from "./live-audit";
import { LiveCards } from "./live-cards";
import { renderAbuse, renderNotifications, renderSuspended, type PanelDeps } from "./live-panels";
import { LiveStats } from "./live-stats";
import { UserEmails } from "./user-emails";

const STREAM_SIZE = 50;
// At most this many renders a second: a burst brings dozens of snapshots a second, and no one
// reads cards faster than this (measured with bench/bench_dashboard.py).
const MIN_RENDER_INTERVAL_MS = 100;
type Section = "stream" | "abuse" | "suspended" | "notifications" | "audit";

export class LiveTab {
  private activities: AdminActivity[] = [];
  private abuse: AbuseRecord[] = [];
  private suspended: AdminUser[] = [];
  private notifications: AdminNotification[] = [];
  private dirty = new Set<Section>();
  private frame = 0;
  private wait: ReturnType<typeof setTimeout> | undefined;
  private lastFlush = 0;
  private stops: Array<() => void> = [];
  private ticker: ReturnType<typeof setInterval> | undefined;
  private readonly cards = new LiveCards();
  private readonly audit: LiveAudit;
  private readonly stats: LiveStats;
  private readonly panels: PanelDeps;

  constructor(private readonly ctx: Ctx) {
    const emails = new UserEmails(ctx.admin);
    this.audit = new LiveAudit(ctx, emails, () => this.mark("audit"), (error) => this.showError("audit", error));
    this.stats = new LiveStats(ctx);
    this.panels = { emails, actions: new LiveActions(ctx, emails), mark: (section) => this.mark(section) };
  }

  start(): void {
    if (this.stops.length) return;
    const { admin, live } = this.ctx;
    const listen = <T>(name: string, section: Section, set: (items: T[]) => void) => ({
      next: (items: T[], meta: LiveMeta) => {
        set(items);
        live.snapshot(name, meta.fromCache, meta.added + meta.modified + meta.removed > 0);
        this.mark(section);
      },
      onError: (error: Error) => {
        live.error(name);
        this.showError(section, error);
      },
    });
    const feed = listen<AdminActivity>("activity", "stream", (items) => (this.activities = items));
    const abuse = listen<AbuseRecord>("abuse", "abuse", (items) => (this.abuse = items));
    const suspended = listen<AdminUser>("suspended", "suspended", (items) => (this.suspended = items));
    const notes = listen<AdminNotification>("notifications", "notifications", (items) => (this.notifications = items));
    this.stops.push(
      admin.watchActivityFeed(feed.next, { max: STREAM_SIZE, onError: feed.onError }),
      admin.watchAbuseRecords(abuse.next, { max: 15, onError: abuse.onError }),
      admin.watchSuspendedUsers(suspended.next, { max: 25, onError: suspended.onError }),
      admin.watchNotifications(notes.next, { max: 15, onError: notes.onError }),
    );
    this.audit.start();
    this.stats.start();
    // Running cards show how long they have been running; relative times move on.
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  stop(): void {
    for (const stop of this.stops) stop();
    this.stops = [];
    this.audit.stop();
    for (const name of ["activity", "abuse", "suspended", "notifications", "audit"]) this.ctx.live.remove(name);
    this.stats.stop();
    clearInterval(this.ticker);
  }

  // ---------------------------------------------------------------- rendering

  private mark(section: Section): void {
    this.dirty.add(section);
    if (this.frame || this.wait !== undefined) return;
    const early = MIN_RENDER_INTERVAL_MS - (performance.now() - this.lastFlush);
    if (early <= 0) {
      this.frame = requestAnimationFrame(() => this.flush());
      return;
    }
    this.wait = setTimeout(() => {
      this.wait = undefined;
      this.frame = requestAnimationFrame(() => this.flush());
    }, early);
  }

  private flush(): void {
    this.frame = 0;
    this.lastFlush = performance.now();
    const dirty = [...this.dirty];
    this.dirty.clear();
    for (const section of dirty) {
      if (section === "stream") this.cards.render(this.activities);
      else if (section === "abuse") renderAbuse(this.abuse, this.suspended, this.panels);
      else if (section === "suspended") renderSuspended(this.suspended, this.panels);
      else if (section === "notifications") renderNotifications(this.notifications, this.panels);
      else this.audit.render();
    }
  }

  private showError(section: Section, error: Error): void {
    const id = section === "stream" ? "stream-error" : section === "audit" ? "audit-error" : "abuse-error";
    const code = (error as { code?: string }).code;
    $(id).textContent = code === "permission-denied" ? "The rules refused this view: the signed-in account is not an admin." : `This view stopped: ${code ?? error.message}.`;
    $(id).hidden = false;
  }

  private tick(): void {
    const now = Date.now();
    this.cards.tick(this.activities, now);
    for (const el of document.querySelectorAll<HTMLElement>("#live-tab [data-ago]")) setText(el, fmtAgo(Number(el.dataset.ago), now));
  }
}
