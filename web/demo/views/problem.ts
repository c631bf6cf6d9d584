/**
 * The problem under the form, one message per refusal as a person would want it, and the two
 * messages the cost preview shows too: the upgrade prompt and the rate limit's countdown.
 */
import { formatSeconds, type CreditsFailure } from "@credit-backend/client";
import { $, fmtInt, h } from "../../shared/kit";
import type { State } from "../state";
import { fieldMessage, windowText } from "../ui";

/** "Not enough credits. This needs 150, you have 100: 50 more to go." and a button to get more. */
export function upgradePrompt(required: number, available: number): HTMLElement {
  return h(
    "div.upgrade",
    { testid: "upgrade" },
    h("strong", { text: "Not enough credits." }),
    ` This needs ${fmtInt(required)}, you have ${fmtInt(available)}: ${fmtInt(Math.max(0, required - available))} more to go. `,
    h("button", { testid: "upgrade-button", text: "Get more credits" }),
  );
}

/** The limit reached (the failure's, else the status's) and the seconds left. */
export function rateLimitNote(s: Readonly<State>, failure: Extract<CreditsFailure, { reason: "rate_limited" }> | null): HTMLElement {
  const box = h("div.rate-limit", { testid: "rate-limit" });
  const type = s.form.type;
  const known = s.status?.rateLimits?.[type]?.limit;
  let limit: string;
  const used = (n: number, what: string) => (n === 1 ? `your 1 ${what}` : `all ${n} ${what}s`);
  if (failure?.scope === "ip") limit = ` Your network has used ${used(failure.limit, "request")} allowed per ${windowText(failure.windowSeconds)}.`;
  else if (failure) limit = ` You have used ${used(failure.limit, `${type} generation`)} allowed per ${windowText(failure.windowSeconds)}.`;
  else limit = known ? ` You have used ${used(known, `${type} generation`)} allowed for now.` : " You have reached the limit for now.";
  box.append(h("strong", { text: "Slow down a little." }), `${limit} You can generate again in `, h("span", { testid: "countdown", text: formatSeconds(s.waitSeconds ?? 0) }), ".");
  return box;
}

export function renderProblem(s: Readonly<State>): void {
  const box = $("problem");
  const e = s.problem;
  box.hidden = !e;
  if (!e) return;
  box.className = "problem";
  box.replaceChildren();
  switch (e.reason) {
    case "insufficient_credits":
      box.append(upgradePrompt(e.required, e.available));
      break;
    case "rate_limited":
      box.append(rateLimitNote(s, e));
      break;
    case "prompt_rejected":
      box.append(h("strong", { text: "This prompt can't be used." }), ` It was flagged as ${e.category.replace(/_/g, " ")}. Nothing was charged: please rephrase it and try again.`);
      break;
    case "account_suspended":
      box.append(h("strong", { text: "Your account is suspended." }), " Generation is switched off. If you think this is a mistake, contact support.");
      break;
    case "ip_blocked":
      box.append(h("strong", { text: "Requests from your network are blocked." }), " Try another connection or contact support.");
      break;
    case "invalid_request":
      box.append(h("strong", { text: "Please check the form. " }), fieldMessage(e.errors));
      break;
    case "unauthenticated":
      box.append(h("strong", { text: "Your session has ended." }), " Sign in again to continue.");
      break;
    case "network":
    case "contention":
    case "backend_unavailable":
      box.append(h("strong", { text: "The service could not be reached." }), " Nothing was charged twice: “Try again” sends the same request, which is charged at most once.");
      break;
    default:
      box.append(h("strong", { text: "Something went wrong." }), " Please try again in a moment.");
  }
  box.dataset.reason = e.reason;
}
