/**
 * "Your credits": the plan, the credits that expire next ("120 credits expire on 31 Dec") and
 * the live buckets in the order they are spent, from the last `getCreditStatus` (the preview
 * refreshes it at every change of the balance).
 */
import { expiryNotice, planLine } from "@credit-backend/client";
import { $, fmtInt, h, shortDate } from "../../shared/kit";
import type { State } from "../state";

const SOURCE_LABELS: Record<string, string> = {
  signup: "Starter credits",
  plan: "Plan allowance",
  purchase: "Purchased",
  promo: "Promotion",
  admin: "Granted by support",
  legacy: "Balance",
  refund: "Refunded",
};

export function renderCreditsCard(s: Readonly<State>): void {
  const status = s.status;
  $("holdings").hidden = !status;
  if (!status) return;
  $("plan").textContent = planLine(status.plan) ?? "No plan";
  const notice = expiryNotice(status.nextExpiry);
  const expiry = $("expiry");
  expiry.hidden = notice === null;
  expiry.textContent = notice ?? "";
  $("buckets").replaceChildren(
    ...(status.buckets ?? []).map((b) =>
      h(
        "li",
        { testid: "bucket", "data-source": b.source },
        h("span.source", { text: SOURCE_LABELS[b.source] ?? b.source }),
        `${fmtInt(b.remaining)} credits, ${b.expiresAt ? `expires ${shortDate(b.expiresAt)}` : "no expiry"}`,
      ),
    ),
  );
}
