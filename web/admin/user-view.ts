/**
 * The chosen user's credits on the Credits tab: the stored buckets (live ones in spend order,
 * then expired ones whose `expired` entry is not written yet) and the newest ledger entries
 * per bucket. The ledger is one bounded live query (`watchUserLedger`, 50 entries); the user
 * document is read again when the ledger moves, so the buckets follow every posting.
 */
import { ledgerByBucket, type AdminBucket, type AdminUser, type LedgerEntry, type Unsubscribe } from "@credit-backend/client/admin";
import type { Ctx } from "./context";
import { $, fmtInt, fmtWhen, h } from "../shared/kit";

const LEDGER_MAX = 50;

const REASONS: Record<string, string> = {
  signup_grant: "sign-up grant",
  generation_charge: "charge",
  settlement_charge: "settlement",
  settlement_refund: "settlement refund",
  failure_refund: "refund",
  admin_grant: "admin grant",
  admin_clawback: "claw-back",
  expired: "expired",
  plan_allowance: "plan allowance",
  promo_grant: "promotion",
  purchase: "purchase",
  payment_clawback: "payment claw-back",
  balance_repair: "repair",
  account_restored: "restored",
};

export class UserView {
  private uid: string | null = null;
  private stopLedger: Unsubscribe | null = null;
  private entries: LedgerEntry[] = [];
  private buckets: AdminBucket[] = [];
  private seq = 0;

  constructor(private readonly ctx: Ctx) {}

  /** Show `user` (null hides the view). */
  show(user: AdminUser | null): void {
    this.stopLedger?.();
    this.stopLedger = null;
    this.uid = user?.uid ?? null;
    this.entries = [];
    this.buckets = user?.buckets ?? [];
    $("user-view").hidden = !user;
    if (!user) return;
    this.render();
    const uid = user.uid;
    this.stopLedger = this.ctx.admin.watchUserLedger(
      uid,
      (items, meta) => {
        if (uid !== this.uid) return;
        this.entries = items;
        this.render();
        if (meta.modified || meta.added) void this.refreshBuckets(uid);
      },
      {
        max: LEDGER_MAX,
        onError: () => this.ctx.toast("The user's ledger cannot be read.", "bad"),
      },
    );
  }

  dispose(): void {
    this.show(null);
  }

  private async refreshBuckets(uid: string): Promise<void> {
    const seq = ++this.seq;
    try {
      const buckets = await this.ctx.admin.getUserBuckets(uid);
      if (seq !== this.seq || uid !== this.uid) return;
      this.buckets = buckets;
      this.render();
    } catch {
      /* the ledger stays; the buckets shown are the last read */
    }
  }

  private render(): void {
    const byBucket = ledgerByBucket(this.entries);
    const live = this.buckets.filter((b) => b.live);
    $("user-view-summary").textContent = live.length
      ? `${live.length === 1 ? "1 live bucket" : `${live.length} live buckets`}, ${fmtInt(live.reduce((s, b) => s + b.remaining, 0))} credits, spent from the top`
      : "No live bucket.";
    const rows = this.buckets.map((b, i) =>
      h(
        "tr",
        { testid: "bucket-row", "data-bucket": b.id, "data-source": b.source, "data-remaining": b.remaining, "data-live": String(b.live), class: b.live ? undefined : "expired" },
        h("td.num", { text: b.live ? String(i + 1) : "–" }),
        h("td", { text: b.source }),
        h("td.num", { "data-field": "remaining", text: fmtInt(b.remaining) }),
        h("td.num", { text: fmtInt(b.amount) }),
        h("td", { "data-field": "expires", text: b.expiresAtMs === null ? "never" : `${fmtWhen(b.expiresAtMs)}${b.live ? "" : " (expired)"}` }),
        h("td", { title: b.ref ?? undefined, text: refLabel(b.ref) }),
      ),
    );
    $("bucket-rows").replaceChildren(...(rows.length ? rows : [h("tr", null, h("td.empty", { colspan: 6, text: "No buckets." }))]));

    // One block per bucket that has entries among the newest ones, in the buckets' order, then
    // buckets no longer stored (spent or expired and recorded), then entries from before buckets.
    const order = [...this.buckets.map((b) => b.id), ...[...byBucket.keys()].filter((id) => id && !this.buckets.some((b) => b.id === id)), ""];
    const blocks = order
      .filter((id) => byBucket.has(id))
      .map((id) => {
        const bucket = this.buckets.find((b) => b.id === id);
        const lines = byBucket.get(id)!;
        const title = id === "" ? "Entries from before buckets" : bucket ? `${bucket.source} · ${id}` : `${id} (no longer held)`;
        return h(
          "div.bucket-ledger",
          { testid: "bucket-ledger", "data-bucket": id, "data-sum": lines.reduce((s, l) => s + l.delta, 0) },
          h("h4", { text: title }),
          h(
            "table.grid",
            null,
            h(
              "tbody",
              null,
              ...lines.map((l) =>
                h(
                  "tr",
                  { testid: "bucket-ledger-line", "data-entry": l.entry.id, "data-reason": l.entry.reason, "data-delta": l.delta },
                  h("td", { text: fmtWhen(l.entry.createdAtMs) }),
                  h("td", { text: REASONS[l.entry.reason] ?? l.entry.reason }),
                  h("td.num", { class: l.delta < 0 ? "num neg" : "num pos", text: `${l.delta > 0 ? "+" : ""}${fmtInt(l.delta)}` }),
                  h("td", { text: l.entry.buckets.length > 1 ? `of ${fmtInt(l.entry.delta)} over ${l.entry.buckets.length} buckets` : "" }),
                ),
              ),
            ),
          ),
        );
      });
    $("bucket-ledgers").replaceChildren(...(blocks.length ? blocks : [h("p.hint", { text: "No ledger entries yet." })]));
    $("bucket-ledger-note").textContent =
      this.entries.length >= LEDGER_MAX ? `The newest ${LEDGER_MAX} entries; older ones are not shown, so a bucket's lines may not sum to its credits.` : "";
  }
}

/** What created a bucket, in words; the full reference stays in the cell's tooltip. */
function refLabel(ref: string | null | undefined): string {
  if (!ref) return "";
  const [kind, id] = ref.includes("/") ? ref.split("/", 2) : [ref.split(":", 1)[0], ref.slice(ref.indexOf(":") + 1)];
  const words: Record<string, string> = { admin_audit_logs: "admin action", payments: "payment", promo_jobs: "promotion", plan: "plan" };
  return words[kind] ? `${words[kind]} ${kind === "plan" ? id.split(":")[0] : id.slice(0, 8)}` : ref;
}
