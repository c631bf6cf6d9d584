/**
 * One entry of the audit log: who did what to which target when, and the fields it changed
 * (before and after, from `auditChanges`), with the documents as stored folded away.
 */
import { auditChanges, type AuditEntry } from "@credit-backend/client/admin";
import { fmtWhen, h } from "../shared/kit";

export function auditRow(e: AuditEntry): HTMLElement {
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
