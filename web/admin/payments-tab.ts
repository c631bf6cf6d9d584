/**
 * The Payments tab: purchases, refunds and disputes (the newest 200 payments, live), revenue by
 * day and by product, refused webhook signatures over 24 hours, and one user's payments. It
 * reads through the client library's bounded listeners and changes nothing.
 */
import { paymentSummary, watchPayments, watchUserPayments, watchWebhookFailures, type AdminPayment, type RevenueRow } from "@credit-backend/client/admin";
import type { Ctx } from "./context";
import { $, fmtInt, fmtWhen, h, setText } from "../shared/kit";

const DAY_MS = 86_400_000;

function money(minor: number, currency: string): string {
  return `${(minor / 100).toFixed(2)} ${currency.toUpperCase()}`;
}

export class PaymentsTab {
  private stops: (() => void)[] = [];
  private userStop: (() => void) | null = null;

  constructor(private readonly ctx: Ctx) {
    $("pay-user-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.showUser($<HTMLInputElement>("pay-user").value.trim());
    });
  }

  start(): void {
    if (this.stops.length) return;
    const onError = (error: Error) => {
      $("pay-error").hidden = false;
      setText($("pay-error"), `Payments cannot be read: ${error.message}`);
    };
    const fs = this.ctx.client.firestore;
    this.stops.push(
      watchPayments(fs, (items) => this.render(items), { onError }),
      watchWebhookFailures(fs, Date.now() - DAY_MS, (n) => setText($("pay-failures"), fmtInt(n)), { onError }),
    );
  }

  stop(): void {
    this.stops.forEach((stop) => stop());
    this.stops = [];
    this.userStop?.();
    this.userStop = null;
  }

  private latest: AdminPayment[] = [];

  private showUser(uid: string): void {
    this.userStop?.();
    this.userStop = null;
    if (!uid) {
      this.rows(this.latest);
      return;
    }
    this.userStop = watchUserPayments(this.ctx.client.firestore, uid, (items) => this.rows(items));
  }

  private render(items: AdminPayment[]): void {
    this.latest = items;
    const s = paymentSummary(items);
    setText($("pay-purchases"), fmtInt(s.purchases));
    setText($("pay-refunds"), fmtInt(s.refunds));
    setText($("pay-disputes"), fmtInt(s.disputes));
    setText($("pay-credits"), `${fmtInt(s.creditsGranted)} / ${fmtInt(s.creditsClawedBack)}`);
    const revenue = (row: RevenueRow) =>
      h("tr", null, h("td", { text: row.key }), h("td", { text: fmtInt(row.payments) }), h("td", { text: money(row.gross, row.currency) }), h("td", { text: money(row.net, row.currency) }));
    $("revenue-day").replaceChildren(...s.byDay.map(revenue));
    $("revenue-product").replaceChildren(...s.byProduct.map(revenue));
    if (!this.userStop) this.rows(items);
  }

  private rows(items: AdminPayment[]): void {
    $("payments-rows").replaceChildren(
      ...items.map((p) =>
        h(
          "tr",
          { testid: `payment-${p.id}` },
          h("td", { text: fmtWhen(p.createdAtMs) }),
          h("td", { text: p.userId }),
          h("td", { text: p.productId }),
          h("td", { text: money(p.amount, p.currency) }),
          h("td", { text: fmtInt(p.credits) }),
          h("td", { text: p.status + (p.disputeStatus ? ` (${p.disputeStatus})` : "") }),
          h("td", { text: p.clawedBack ? `${fmtInt(p.clawedBack)}${p.debtCreated ? `, ${fmtInt(p.debtCreated)} as debt` : ""}` : "–" }),
        ),
      ),
    );
    $("payments-empty").hidden = items.length > 0;
  }
}
