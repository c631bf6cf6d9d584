/**
 * The Live AI tab's audit log: the newest 30 entries of the chosen actions (changes only by
 * default), live; rows are built once per entry (audit-row.ts) and kept in order, and a
 * target `users/<uid>` shows the user's email once it is known.
 */
import { CHANGE_ACTIONS, type AuditEntry } from "@credit-backend/client/admin";
import { $, setText } from "../shared/kit";
import { auditRow } from "./audit-row";
import type { Ctx } from "./context";
import type { UserEmails } from "./user-emails";

export class LiveAudit {
  private entries: AuditEntry[] = [];
  private rows = new Map<string, HTMLElement>();
  private filter = "changes";
  private stopWatch: (() => void) | null = null;

  constructor(
    private readonly ctx: Ctx,
    private readonly emails: UserEmails,
    /** Asks the tab for a render (it batches them). */
    private readonly mark: () => void,
    private readonly onError: (error: Error) => void,
  ) {
    $("audit-filter").addEventListener("change", (e) => {
      this.filter = (e.target as HTMLSelectElement).value;
      if (this.stopWatch) this.start();
    });
  }

  /** Watches the log (again, from an empty list: after a change of filter too). */
  start(): void {
    this.stopWatch?.();
    this.entries = [];
    this.rows.clear();
    $("audit-log").replaceChildren();
    const f = this.filter;
    const actions = f === "all" ? undefined : f === "changes" ? CHANGE_ACTIONS : [f];
    this.stopWatch = this.ctx.admin.watchAuditLog(
      (items, meta) => {
        this.entries = items;
        this.ctx.live.snapshot("audit", meta.fromCache, false);
        this.mark();
      },
      {
        max: 30,
        ...(actions ? { actions } : {}),
        onError: (error) => {
          this.ctx.live.error("audit");
          this.onError(error);
        },
      },
    );
  }

  stop(): void {
    this.stopWatch?.();
    this.stopWatch = null;
  }

  render(): void {
    const container = $("audit-log");
    const keep = new Set<string>();
    let before: ChildNode | null = container.firstChild;
    for (const entry of this.entries) {
      let row = this.rows.get(entry.id);
      if (!row) {
        row = auditRow(entry); // entries never change: built once, kept open or closed as they are
        this.rows.set(entry.id, row);
      }
      keep.add(entry.id);
      if (row !== before) container.insertBefore(row, before);
      before = row.nextSibling;
    }
    for (const [id, row] of this.rows) {
      if (!keep.has(id)) {
        row.remove();
        this.rows.delete(id);
      }
    }
    $("audit-empty").hidden = this.entries.length > 0;
    // A user's email reads better than users/<uid>.
    const targets = [...container.querySelectorAll<HTMLElement>(".target[data-uid]")];
    this.emails.resolve(
      targets.map((t) => t.dataset.uid!),
      () => this.mark(),
    );
    for (const t of targets) {
      const email = this.emails.known(t.dataset.uid!);
      if (email) setText(t, email);
    }
  }
}
