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
import {
  auditChanges,
  CHANGE_ACTIONS,
  toCreditsError,
  type AbuseRecord,
  type AdminActivity,
  type AdminNotification,
  type AdminUser,
  type AuditEntry,
  type LiveMeta,
  type UsageStats,
} from "@credit-backend/client/admin";
import { HourlyCreditsChart } from "./charts";
import type { Ctx } from "./context";
import { $, fmtAgo, fmtInt, fmtMs, fmtRate, fmtUtc, fmtWhen, h, plural, setAttr, setText } from "../shared/kit";
import { typeIcon, UNITS } from "./generation";

const STREAM_SIZE = 50;
// At most this many renders a second: a burst brings dozens of snapshots a second, and no one
// reads cards faster than this (measured with bench/bench_dashboard.py).
const MIN_RENDER_INTERVAL_MS = 100;
const STATS_REFRESH_MS = 20_000;
type Section = "stream" | "abuse" | "suspended" | "notifications" | "audit";

interface Card {
  root: HTMLElement;
  what: HTMLElement;
  flag: HTMLElement;
  badge: HTMLElement;
  user: HTMLElement;
  fill: HTMLElement;
  bar: HTMLElement;
  money: HTMLElement;
  time: HTMLElement;
  signature: string;
}

export class LiveTab {
  private activities: AdminActivity[] = [];
  private abuse: AbuseRecord[] = [];
  private suspended: AdminUser[] = [];
  private notifications: AdminNotification[] = [];
  private audit: AuditEntry[] = [];
  private shownStats: UsageStats | null = null;
  private dirty = new Set<Section>();
  private frame = 0;
  private wait: ReturnType<typeof setTimeout> | undefined;
  private lastFlush = 0;
  private cards = new Map<string, Card>();
  private auditRows = new Map<string, HTMLElement>();
  private emails = new Map<string, string | null>();
  private stops: Array<() => void> = [];
  private timers: Array<ReturnType<typeof setInterval>> = [];
  private hourly: HourlyCreditsChart | null = null;
  private auditFilter = "changes";

  constructor(private readonly ctx: Ctx) {
    $("audit-filter").addEventListener("change", (e) => {
      this.auditFilter = (e.target as HTMLSelectElement).value;
      if (this.stops.length) this.watchAudit();
    });
    $("ip-block").addEventListener("click", () => void this.ipAction(true));
    $("moderation-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.tryPrompt();
    });
    $("ip-unblock").addEventListener("click", () => void this.ipAction(false));
    ctx.stats.onResult((range, stats) => {
      if (range === "24h") this.showStats(stats);
    });
  }

  start(): void {
    if (this.stops.length) return;
    this.hourly ??= new HourlyCreditsChart($<HTMLCanvasElement>("hourly-chart"));
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
    this.watchAudit();
    void this.loadStats(STATS_REFRESH_MS / 2);
    this.timers.push(
      setInterval(() => void this.loadStats(STATS_REFRESH_MS - 1000), STATS_REFRESH_MS),
      // Running cards show how long they have been running; relative times move on.
      setInterval(() => this.tick(), 1000),
    );
  }

  stop(): void {
    for (const stop of this.stops) stop();
    this.stops = [];
    for (const name of ["activity", "abuse", "suspended", "notifications", "audit"]) this.ctx.live.remove(name);
    this.timers.forEach(clearInterval);
    this.timers = [];
  }

  private auditStop: (() => void) | null = null;

  private watchAudit(): void {
    this.auditStop?.();
    this.stops = this.stops.filter((s) => s !== this.auditStop);
    this.audit = [];
    this.auditRows.clear();
    $("audit-log").replaceChildren();
    const f = this.auditFilter;
    const actions = f === "all" ? undefined : f === "changes" ? CHANGE_ACTIONS : [f];
    this.auditStop = this.ctx.admin.watchAuditLog(
      (items, meta) => {
        this.audit = items;
        this.ctx.live.snapshot("audit", meta.fromCache, false);
        this.mark("audit");
      },
      {
        max: 30,
        ...(actions ? { actions } : {}),
        onError: (error) => {
          this.ctx.live.error("audit");
          this.showError("audit", error);
        },
      },
    );
    this.stops.push(this.auditStop);
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
      if (section === "stream") this.renderStream();
      else if (section === "abuse") this.renderAbuse();
      else if (section === "suspended") this.renderSuspended();
      else if (section === "notifications") this.renderNotifications();
      else this.renderAudit();
    }
  }

  private showError(section: Section, error: Error): void {
    const id = section === "stream" ? "stream-error" : section === "audit" ? "audit-error" : "abuse-error";
    const code = (error as { code?: string }).code;
    $(id).textContent = code === "permission-denied" ? "The rules refused this view: the signed-in account is not an admin." : `This view stopped: ${code ?? error.message}.`;
    $(id).hidden = false;
  }

  private renderStream(): void {
    const container = $("activity-stream");
    const keep = new Set<string>();
    let before: ChildNode | null = container.firstChild;
    for (const activity of this.activities) {
      let card = this.cards.get(activity.id);
      if (!card) {
        card = makeCard(activity);
        this.cards.set(activity.id, card);
      }
      updateCard(card, activity);
      keep.add(activity.id);
      if (card.root !== before) container.insertBefore(card.root, before);
      before = card.root.nextSibling;
    }
    for (const [id, card] of this.cards) {
      if (!keep.has(id)) {
        card.root.remove();
        this.cards.delete(id);
      }
    }
    const running = this.activities.filter((a) => !a.final).length;
    setText($("stream-count"), `newest ${this.activities.length} · ${running} running here`);
    $("stream-empty").hidden = this.activities.length > 0;
  }

  private tick(): void {
    const now = Date.now();
    for (const activity of this.activities) {
      if (activity.final) continue;
      const card = this.cards.get(activity.id);
      if (card) setText(card.time, runningText(activity, now));
    }
    for (const el of document.querySelectorAll<HTMLElement>("#live-tab [data-ago]")) setText(el, fmtAgo(Number(el.dataset.ago), now));
  }

  private emailOf(uid: string): string {
    const known = this.emails.get(uid);
    return known ?? uid;
  }

  /** Resolves the emails of these uids (once each), then re-renders the sections that show them. */
  private resolveEmails(uids: string[], section: Section): void {
    const missing = uids.filter((u) => !this.emails.has(u));
    if (!missing.length) return;
    for (const uid of missing) this.emails.set(uid, null);
    void this.ctx.admin.lookupUsers(missing).then((users) => {
      for (const [uid, user] of users) this.emails.set(uid, user?.email ?? null);
      this.mark(section);
    });
  }

  private renderAbuse(): void {
    this.resolveEmails(this.abuse.map((r) => r.userId), "abuse");
    const suspended = new Set(this.suspended.map((u) => u.uid));
    $("abuse-records").replaceChildren(
      ...this.abuse.map((r) => {
        const actions = h("div.actions");
        if (!suspended.has(r.userId)) actions.append(button("Suspend", "suspend", () => this.setStatus(r.userId, "suspended")));
        if (r.ip) actions.append(button(`Block ${r.ip}`, "block-ip", () => this.blockIp(r.ip!, true)));
        const score = r.scoreAfter === null ? "" : ` · score ${fmtInt(r.scoreAfter)}${r.threshold ? ` / ${fmtInt(r.threshold)}` : ""}`;
        return h(
          "li",
          { testid: "abuse-record", "data-user-id": r.userId, "data-severity": r.severity, "data-kind": r.kind },
          h("div.line", null,
            h(`span.sev.${r.severity}`, { text: r.severity }),
            h("strong", { text: r.kind.replace(/_/g, " ") }),
            r.category ? h("span.muted", { text: ` · ${r.category.replace(/_/g, " ")}` }) : null,
            r.action === "suspended" ? h("span.badge.failed", { text: "suspended" }) : null,
            h("span.when", { "data-ago": r.createdAtMs ?? "", text: fmtAgo(r.createdAtMs) }),
          ),
          h("div.sub", null, h("span.email", { text: this.emailOf(r.userId) }), h("span.muted", { text: `${score}${r.ip ? ` · ${r.ip}` : ""}${r.country ? ` (${r.country})` : ""}` })),
          actions,
        );
      }),
    );
    $("abuse-empty").hidden = this.abuse.length > 0;
  }

  private renderSuspended(): void {
    $("suspended-users").replaceChildren(
      ...this.suspended.map((u) =>
        h(
          "li",
          { testid: "suspended-user", "data-uid": u.uid },
          h("div.line", null, h("span.email", { text: u.email ?? u.uid }), h("span.when", { "data-ago": u.statusChangedAtMs ?? "", text: fmtAgo(u.statusChangedAtMs) })),
          h("div.sub", null, h("span.muted", { text: `${u.statusReason ?? "no reason recorded"}${u.statusChangedBy === "system:abuse" ? " · automatic" : ""} · ${fmtInt(u.credits)} credits` })),
          h("div.actions", null, button("Reactivate", "reactivate", () => this.setStatus(u.uid, "active"))),
        ),
      ),
    );
    setText($("suspended-count"), this.suspended.length ? String(this.suspended.length) : "");
    $("suspended-empty").hidden = this.suspended.length > 0;
    this.mark("abuse"); // the records' Suspend buttons depend on who is suspended
  }

  private renderNotifications(): void {
    this.resolveEmails(this.notifications.flatMap((n) => (n.userId ? [n.userId] : [])), "notifications");
    $("notifications").replaceChildren(
      ...this.notifications.map((n) =>
        h(
          "li",
          { testid: "notification", "data-kind": n.kind, class: n.read ? "read" : undefined },
          h("div.line", null, h(`span.sev.${n.severity}`, { text: n.severity }), h("strong", { text: n.kind.replace(/_/g, " ") }), h("span.when", { "data-ago": n.createdAtMs ?? "", text: fmtAgo(n.createdAtMs) })),
          h("div.sub", { text: n.message }),
          n.userId ? h("div.sub", null, h("span.email", { text: this.emailOf(n.userId) })) : null,
        ),
      ),
    );
    $("notifications-empty").hidden = this.notifications.length > 0;
  }

  private renderAudit(): void {
    const container = $("audit-log");
    const keep = new Set<string>();
    let before: ChildNode | null = container.firstChild;
    for (const entry of this.audit) {
      let row = this.auditRows.get(entry.id);
      if (!row) {
        row = auditRow(entry); // entries never change: built once, kept open or closed as they are
        this.auditRows.set(entry.id, row);
      }
      keep.add(entry.id);
      if (row !== before) container.insertBefore(row, before);
      before = row.nextSibling;
    }
    for (const [id, row] of this.auditRows) {
      if (!keep.has(id)) {
        row.remove();
        this.auditRows.delete(id);
      }
    }
    $("audit-empty").hidden = this.audit.length > 0;
    // A user's email reads better than users/<uid>.
    const targets = [...container.querySelectorAll<HTMLElement>(".target[data-uid]")];
    this.resolveEmails(targets.map((t) => t.dataset.uid!), "audit");
    for (const t of targets) {
      const email = this.emails.get(t.dataset.uid!);
      if (email) setText(t, email);
    }
  }

  // ---------------------------------------------------------------- statistics

  private async loadStats(maxAgeMs: number): Promise<void> {
    try {
      this.showStats(await this.ctx.stats.get("24h", maxAgeMs));
    } catch (err) {
      $("live-fine").textContent = `The day's figures cannot be loaded (${toCreditsError(err).reason.replace(/_/g, " ")}).`;
    }
  }

  private showStats(stats: UsageStats): void {
    // A fresh fetch reaches here twice (the cache's listener, then loadStats): draw it once.
    if (stats === this.shownStats) return;
    this.shownStats = stats;
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

  // ---------------------------------------------------------------- actions

  private async setStatus(uid: string, status: "active" | "suspended"): Promise<void> {
    const who = this.emailOf(uid);
    const result = await this.ctx.confirmAction({
      title: status === "suspended" ? "Suspend this account?" : "Reactivate this account?",
      text: status === "suspended" ? `${who} will be refused every generation until reactivated.` : `${who} will be able to generate again.`,
      confirm: status === "suspended" ? "Suspend" : "Reactivate",
      danger: status === "suspended",
      run: (reason) => this.ctx.client.admin.setUserStatus({ userId: uid, status, reason }),
    });
    if (result) this.ctx.toast(`${who} is ${status === "suspended" ? "suspended" : "active again"}.`);
  }

  private async blockIp(ip: string, blocked: boolean): Promise<void> {
    const result = await this.ctx.confirmAction({
      title: blocked ? `Block ${ip}?` : `Unblock ${ip}?`,
      text: blocked ? "Every charge from this address (an IPv6 address: its /64) is refused until it is unblocked." : "Charges from this address are accepted again.",
      confirm: blocked ? "Block" : "Unblock",
      danger: blocked,
      run: (reason) => this.ctx.client.admin.setIpBlock({ ip, blocked, reason }),
    });
    if (result) this.ctx.toast(`${result.ip} (${result.kind}) is ${result.blocked ? "blocked" : "unblocked"}.`);
  }

  /** "Try a prompt": the verdict a charge would get, from `testModeration` (charges and records nothing). */
  private async tryPrompt(): Promise<void> {
    const prompt = $<HTMLTextAreaElement>("moderation-prompt").value;
    const out = $("moderation-result");
    if (!prompt.trim()) {
      this.ctx.toast("Enter a prompt first.", "bad");
      return;
    }
    const button = $<HTMLButtonElement>("moderation-test");
    button.disabled = true;
    try {
      const result = await this.ctx.client.admin.testModeration(prompt);
      const category = result.category ? ` · ${result.category.replace(/_/g, " ")}` : "";
      const words = { refuse: "Refused", flag: "Flagged (charged, recorded for review)", allow: "Allowed" } as const;
      out.textContent = `${words[result.verdict]}${category} · decided by ${result.source === "provider" ? "the provider" : "the local rules"}`;
      out.dataset.verdict = result.verdict;
      out.dataset.category = result.category ?? "";
      out.dataset.source = result.source;
    } catch (err) {
      out.textContent = `The prompt could not be tested (${toCreditsError(err).reason.replace(/_/g, " ")}).`;
      out.dataset.verdict = "error";
    } finally {
      out.hidden = false;
      button.disabled = false;
    }
  }

  private async ipAction(blocked: boolean): Promise<void> {
    const ip = $<HTMLInputElement>("ip-target").value.trim();
    if (!ip) {
      this.ctx.toast("Enter an IP address or a CIDR range first.", "bad");
      return;
    }
    await this.blockIp(ip, blocked);
  }
}

// ------------------------------------------------------------------ cards

const STATUS_TEXT: Record<AdminActivity["status"], string> = { pending: "pending", processing: "processing", completed: "completed", failed: "failed" };

function makeCard(a: AdminActivity): Card {
  const what = h("span.what");
  const flag = h("span.flag", { testid: "moderation-flag" });
  flag.hidden = true;
  const badge = h("span.badge");
  const user = h("div.user");
  const fill = h("div.fill");
  const bar = h("div.progress", { role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100 }, fill);
  const money = h("span.money");
  const time = h("span.time");
  const kind = a.type ? a.type[0]!.toUpperCase() + a.type.slice(1) : "Unknown";
  const root = h(
    "article.act",
    { testid: "activity-card", "data-activity-id": a.id, "data-created-ms": a.createdAtMs ?? "" },
    h("header", null, typeIcon(a.type), h("strong.kind", { text: kind }), what, flag, badge),
    user,
    bar,
    h("footer", null, money, time),
  );
  return { root, what, flag, badge, user, fill, bar, money, time, signature: "" };
}

function updateCard(card: Card, a: AdminActivity): void {
  const signature = `${a.status}|${a.progress}|${a.creditsCharged}|${a.refundedCredits}|${a.processingTimeMs}|${a.userEmail}|${a.quantity}|${a.moderation?.category ?? ""}`;
  if (signature === card.signature) return;
  card.signature = signature;
  // A flagged generation: charged and allowed, shown for review.
  card.flag.hidden = !a.moderation;
  setText(card.flag, a.moderation ? `flagged · ${a.moderation.category.replace(/_/g, " ")}` : "");
  if (a.moderation) {
    setAttr(card.root, "data-flagged", a.moderation.category);
    setAttr(card.flag, "title", `Moderation flagged this prompt (${a.moderation.category}, ${a.moderation.source}); it was charged and allowed.`);
  } else card.root.removeAttribute("data-flagged");
  setAttr(card.root, "data-status", a.status);
  setText(card.what, a.type && a.quantity !== null ? `${fmtInt(a.quantity)} ${a.quantity === 1 ? UNITS[a.type][0] : UNITS[a.type][1]}` : "");
  setText(card.badge, STATUS_TEXT[a.status]);
  setAttr(card.badge, "class", `badge ${a.status}`);
  setText(card.user, a.userEmail ?? a.userName ?? a.userId);
  setAttr(card.user, "title", a.userId);
  const progress = a.final ? 100 : a.progress;
  card.fill.style.transform = `scaleX(${progress / 100})`;
  setAttr(card.bar, "aria-valuenow", String(a.status === "failed" ? a.progress : progress));
  setAttr(card.bar, "class", `progress ${a.status}`);
  const money = a.status === "failed" && a.refundedCredits === a.initialCharge ? [`${plural(a.refundedCredits, "credit")} refunded`] : [plural(a.creditsCharged, "credit")];
  if (a.refundedCredits && a.status !== "failed") money.push(`${fmtInt(a.refundedCredits)} back`);
  setText(card.money, money.join(" · "));
  setText(card.time, a.final ? (a.processingTimeMs !== null ? fmtMs(a.processingTimeMs) : "") : runningText(a, Date.now()));
  setAttr(card.root, "title", a.error ? `${a.status}: ${a.error}` : `${a.id} · started ${fmtWhen(a.createdAtMs)}`);
}

function runningText(a: AdminActivity, now: number): string {
  const since = a.startedAtMs ?? a.createdAtMs;
  if (since === null) return a.status;
  const s = Math.max(0, Math.floor((now - since) / 1000));
  return a.status === "pending" ? `waiting ${s} s` : `running ${s} s`;
}

function button(label: string, action: string, run: () => void): HTMLButtonElement {
  const b = h("button.small", { type: "button", "data-action": action, text: label });
  b.addEventListener("click", run);
  return b;
}

// ------------------------------------------------------------------ audit rows

function auditRow(e: AuditEntry): HTMLElement {
  const changes = auditChanges(e.before, e.after);
  const summary = h(
    "summary",
    null,
    h("span.when", { text: fmtWhen(e.createdAtMs) }),
    h("span.actor", { text: e.actorEmail ?? e.actorId }),
    h("span.action", { text: e.action.replace(/_/g, " ") }),
    h("span.target", { text: e.target ?? "", title: e.target ?? undefined, "data-uid": e.target?.startsWith("users/") ? e.target.slice(6) : undefined }),
    h("span.note", { text: e.note ?? (changes.length ? changes.slice(0, 3).map((c) => c.path).join(", ") + (changes.length > 3 ? "…" : "") : "") }),
  );
  const table = changes.length
    ? h(
        "table.grid.changes",
        null,
        h("thead", null, h("tr", null, h("th", { text: "Field" }), h("th", { text: "Before" }), h("th", { text: "After" }))),
        h("tbody", null, ...changes.map((c) => h("tr", { testid: "audit-change", "data-path": c.path }, h("td", { text: c.path }), h("td", { text: show(c.before) }), h("td", { text: show(c.after) })))),
      )
    : h("p.muted", { text: "No before/after recorded for this action." });
  const raw = h(
    "details.raw",
    null,
    h("summary", { text: "Before and after as stored" }),
    h("div.cols", null, h("pre", { text: JSON.stringify(e.before, null, 2) }), h("pre", { text: JSON.stringify(e.after, null, 2) })),
  );
  const meta = h("p.muted", {
    text: [`actor ${e.actorId}`, e.ip ? `from ${e.ip}` : "", e.requestId ? `request ${e.requestId}` : "", e.errors ? `errors ${JSON.stringify(e.errors)}` : ""].filter(Boolean).join(" · "),
  });
  return h("details.entry", { testid: "audit-entry", "data-action": e.action, "data-target": e.target ?? "" }, summary, h("div.body", null, table, meta, raw));
}

function show(value: unknown): string {
  if (value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}
