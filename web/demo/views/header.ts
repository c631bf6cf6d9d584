/** The header once signed in: who, the balance, and the chips (low balance, debt, next expiry). */
import { expiryNotice } from "@credit-backend/client";
import { $, fmtInt } from "../../shared/kit";
import { account, type State } from "../state";

export function renderHeader(s: Readonly<State>): void {
  const { credits, low, debt } = account(s);
  $("who-email").textContent = s.email ?? "";
  $("balance").textContent = credits === undefined ? "–" : fmtInt(credits);
  $("low-balance").hidden = !low;
  $("debt").hidden = !debt;
  $("debt").textContent = debt ? `${fmtInt(debt)} credits owed` : "";
  const next = expiryNotice(s.status?.nextExpiry);
  $("next-expiry").hidden = next === null;
  $("next-expiry").textContent = next ?? "";
}
