/**
 * The Live AI tab's stream: one card per generation, keyed by activity id and touched only
 * where its fields changed (a signature of them), with the progress bar moved by `transform`
 * (no layout). Running cards say how long they have been running; `tick` moves that on.
 */
import type { AdminActivity } from "@credit-backend/client/admin";
import { $, fmtInt, fmtMs, fmtWhen, h, plural, setAttr, setText } from "../shared/kit";
import { typeIcon, UNITS } from "./generation";

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

export class LiveCards {
  private cards = new Map<string, Card>();

  /** Shows `activities` in order in #activity-stream, reusing the cards already there. */
  render(activities: AdminActivity[]): void {
    const container = $("activity-stream");
    const keep = new Set<string>();
    let before: ChildNode | null = container.firstChild;
    for (const activity of activities) {
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
    const running = activities.filter((a) => !a.final).length;
    setText($("stream-count"), `newest ${activities.length} · ${running} running here`);
    $("stream-empty").hidden = activities.length > 0;
  }

  /** Moves on the running time of the cards still running. */
  tick(activities: AdminActivity[], now: number): void {
    for (const activity of activities) {
      if (activity.final) continue;
      const card = this.cards.get(activity.id);
      if (card) setText(card.time, runningText(activity, now));
    }
  }
}

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
