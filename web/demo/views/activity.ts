/** "This generation", followed live from pending to its end (with Cancel while it waits), and "Recent generations". */
import type { Activity } from "@credit-backend/client";
import { $, fmtCredits, fmtNum, h } from "../../shared/kit";
import type { Generation } from "../generation";
import type { State } from "../state";
import { unitOf } from "../ui";

const LABELS: Record<Activity["status"], string> = { pending: "Waiting to start", processing: "Generating", completed: "Done", failed: "Failed" };

export function mountActivity(generation: Generation): void {
  $("cancel").addEventListener("click", () => void generation.cancel());
}

export function renderActivity(s: Readonly<State>): void {
  const a = s.activity;
  $("activity-card").hidden = !a;
  if (!a) return;
  const badge = $("activity-status");
  badge.textContent = LABELS[a.status];
  badge.className = `status ${a.status}`;
  badge.dataset.status = a.status;
  $("activity-what").textContent = `${a.quantity == null ? "" : fmtNum(a.quantity)} ${unitOf(a.type, a.quantity)}`;
  const progress = a.status === "completed" ? 100 : a.progress;
  $("progress-fill").style.width = `${progress}%`;
  $("progressbar").setAttribute("aria-valuenow", String(progress));
  $("progressbar").className = `progress ${a.status}`;
  const money = [`Charged ${fmtCredits(a.creditsCharged)}`];
  if (a.refundedCredits) money.push(`${a.refundedCredits} refunded`);
  if (a.processingTimeMs !== undefined) money.push(`took ${(a.processingTimeMs / 1000).toFixed(1)} s`);
  if (a.status === "failed" && a.error) money.push(a.error);
  $("activity-money").textContent = money.join(" · ");
  $("cancel").hidden = a.status !== "pending";
}

export function renderRecent(s: Readonly<State>): void {
  $("recent").replaceChildren(
    ...(s.recent.length
      ? s.recent.map((a) =>
          h(
            "li",
            null,
            h("span.kind", { text: a.type }),
            h("span", { class: `status ${a.status}`, text: a.status }),
            ` ${fmtCredits(a.creditsCharged)}${a.refundedCredits ? `, ${a.refundedCredits} refunded` : ""}`,
          ),
        )
      : [h("li.empty", { text: "Nothing yet." })]),
  );
}
