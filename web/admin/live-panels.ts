/**
 * The Live AI tab's lists beside the stream: the abuse records (with Suspend and Block), the
 * suspended accounts (with Reactivate) and the admins' notifications. Relative times carry
 * `data-ago`, which the tab's tick moves on.
 */
import type { AbuseRecord, AdminNotification, AdminUser } from "@credit-backend/client/admin";
import { $, fmtAgo, fmtInt, h, setText } from "../shared/kit";
import type { LiveActions } from "./live-actions";
import type { UserEmails } from "./user-emails";

export interface PanelDeps {
  emails: UserEmails;
  actions: LiveActions;
  /** Renders that list again (after emails arrive; the records after the suspended accounts). */
  mark(section: "abuse" | "notifications"): void;
}

export function renderAbuse(records: AbuseRecord[], suspendedUsers: AdminUser[], deps: PanelDeps): void {
  deps.emails.resolve(records.map((r) => r.userId), () => deps.mark("abuse"));
  const suspended = new Set(suspendedUsers.map((u) => u.uid));
  $("abuse-records").replaceChildren(
    ...records.map((r) => {
      const actions = h("div.actions");
      if (!suspended.has(r.userId)) actions.append(deps.actions.button("Suspend", "suspend", () => deps.actions.setStatus(r.userId, "suspended")));
      if (r.ip) actions.append(deps.actions.button(`Block ${r.ip}`, "block-ip", () => deps.actions.blockIp(r.ip!, true)));
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
        h("div.sub", null, h("span.email", { text: deps.emails.of(r.userId) }), h("span.muted", { text: `${score}${r.ip ? ` · ${r.ip}` : ""}${r.country ? ` (${r.country})` : ""}` })),
        actions,
      );
    }),
  );
  $("abuse-empty").hidden = records.length > 0;
}

export function renderSuspended(users: AdminUser[], deps: PanelDeps): void {
  $("suspended-users").replaceChildren(
    ...users.map((u) =>
      h(
        "li",
        { testid: "suspended-user", "data-uid": u.uid },
        h("div.line", null, h("span.email", { text: u.email ?? u.uid }), h("span.when", { "data-ago": u.statusChangedAtMs ?? "", text: fmtAgo(u.statusChangedAtMs) })),
        h("div.sub", null, h("span.muted", { text: `${u.statusReason ?? "no reason recorded"}${u.statusChangedBy === "system:abuse" ? " · automatic" : ""} · ${fmtInt(u.credits)} credits` })),
        h("div.actions", null, deps.actions.button("Reactivate", "reactivate", () => deps.actions.setStatus(u.uid, "active"))),
      ),
    ),
  );
  setText($("suspended-count"), users.length ? String(users.length) : "");
  $("suspended-empty").hidden = users.length > 0;
  deps.mark("abuse"); // the records' Suspend buttons depend on who is suspended
}

export function renderNotifications(notes: AdminNotification[], deps: PanelDeps): void {
  deps.emails.resolve(notes.flatMap((n) => (n.userId ? [n.userId] : [])), () => deps.mark("notifications"));
  $("notifications").replaceChildren(
    ...notes.map((n) =>
      h(
        "li",
        { testid: "notification", "data-kind": n.kind, class: n.read ? "read" : undefined },
        h("div.line", null, h(`span.sev.${n.severity}`, { text: n.severity }), h("strong", { text: n.kind.replace(/_/g, " ") }), h("span.when", { "data-ago": n.createdAtMs ?? "", text: fmtAgo(n.createdAtMs) })),
        h("div.sub", { text: n.message }),
        n.userId ? h("div.sub", null, h("span.email", { text: deps.emails.of(n.userId) })) : null,
      ),
    ),
  );
  $("notifications-empty").hidden = notes.length > 0;
}
