/**
 * "Get credits": the dialog any "Get credits" button opens, with the packs and plans on sale
 * (each opens Stripe Checkout), the current plan and its portal, and why checkout failed.
 */
import { toCreditsError, type CreditsClient, type CreditsFailure } from "@credit-backend/client";
import { $, fmtInt, h, shortDate } from "../../shared/kit";
import { getState, update, type State } from "../state";

const OPENERS = "[data-testid=upgrade-button], [data-testid=low-balance-buy], #get-credits";

export function mountShop(client: CreditsClient): void {
  const shop = $<HTMLDialogElement>("shop");
  // The upgrade prompts are rendered again and again: one listener for every opener.
  document.addEventListener("click", (e) => {
    if (!(e.target as HTMLElement).closest(OPENERS)) return;
    update({ shopError: null });
    if (!shop.open) shop.showModal();
  });
  $("shop-close").addEventListener("click", () => shop.close());
  $("manage-plan").addEventListener("click", () => {
    void client.manageSubscription({ returnUrl: returnUrl() }).catch((err) => update({ shopError: shopMessage(toCreditsError(err)) }));
  });
  $("products").addEventListener("click", (e) => {
    const button = (e.target as HTMLElement).closest<HTMLButtonElement>("button[data-product]");
    if (button) void buy(client, button.dataset.product!);
  });
}

async function buy(client: CreditsClient, productId: string): Promise<void> {
  if (getState().buying !== null) return;
  update({ buying: productId, shopError: null });
  try {
    // Leaves the page for Stripe Checkout; the credits come with Stripe's webhook.
    await client.buyCredits(productId, { successUrl: returnUrl("success"), cancelUrl: returnUrl("cancel") });
  } catch (err) {
    update({ buying: null, shopError: shopMessage(toCreditsError(err)) });
  }
}

function returnUrl(outcome?: string): string {
  const url = new URL(location.pathname, location.origin);
  if (outcome) url.searchParams.set("checkout", outcome);
  return url.toString();
}

function shopMessage(e: CreditsFailure): string {
  if (e.reason === "payments_disabled") return "Payments are not available here.";
  if (e.reason === "account_suspended") return "A suspended account cannot buy credits.";
  if (e.reason === "ip_blocked") return "Requests from your network are blocked.";
  if (e.reason === "invalid_request") return "That product is not on sale any more.";
  return "Checkout could not be opened. Please try again.";
}

export function renderShop(s: Readonly<State>): void {
  const list = $("products");
  list.replaceChildren(
    ...(s.products.length
      ? s.products.map((p) => {
          const what = p.kind === "pack" ? `${fmtInt(p.credits ?? 0)} credits` : `${p.planName ?? p.planId ?? p.id} plan`;
          const detail = p.kind === "pack" ? (p.expiresInDays ? `valid ${p.expiresInDays} days` : "never expire") : `${fmtInt(p.credits ?? 0)} credits every month`;
          const button = h("button.primary", {
            testid: `buy-${p.id}`,
            "data-product": p.id,
            text: s.buying === p.id ? "Opening checkout…" : p.kind === "pack" ? "Buy" : "Subscribe",
          });
          button.disabled = s.buying !== null;
          return h("li", { testid: `product-${p.id}` }, h("span.product", {}, h("strong", { text: what }), ` · ${detail} `), button);
        })
      : [h("li.empty", { text: "Nothing is on sale right now." })]),
  );
  const plan = s.status?.plan;
  $("shop-plan").hidden = !plan;
  $("shop-plan").textContent = plan ? `Your plan: ${plan.name}, ${fmtInt(plan.monthlyCredits)} credits a month (this period ends ${shortDate(plan.periodEnd)}).` : "";
  $("manage-plan").hidden = !plan;
  $("shop-error").hidden = !s.shopError;
  $("shop-error").textContent = s.shopError ?? "";
}
