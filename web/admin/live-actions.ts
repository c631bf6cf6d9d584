/**
 * What an admin does from the Live AI tab, each through the confirmation dialog (a reason is
 * audited with every change): suspend or reactivate an account, block or unblock an address or
 * range; and "Try a prompt", the verdict a charge would get from `testModeration`.
 */
import { toCreditsError } from "@credit-backend/client/admin";
import { $, h } from "../shared/kit";
import type { Ctx } from "./context";
import type { UserEmails } from "./user-emails";

export class LiveActions {
  constructor(
    private readonly ctx: Ctx,
    private readonly emails: UserEmails,
  ) {
    $("ip-block").addEventListener("click", () => void this.ipAction(true));
    $("ip-unblock").addEventListener("click", () => void this.ipAction(false));
    $("moderation-form").addEventListener("submit", (e) => {
      e.preventDefault();
      void this.tryPrompt();
    });
  }

  /** A small button of a list row that runs `run` (`data-action` names it for the tests). */
  button(label: string, action: string, run: () => void): HTMLButtonElement {
    const b = h("button.small", { type: "button", "data-action": action, text: label });
    b.addEventListener("click", run);
    return b;
  }

  async setStatus(uid: string, status: "active" | "suspended"): Promise<void> {
    const who = this.emails.of(uid);
    const result = await this.ctx.confirmAction({
      title: status === "suspended" ? "Suspend this account?" : "Reactivate this account?",
      text: status === "suspended" ? `${who} will be refused every generation until reactivated.` : `${who} will be able to generate again.`,
      confirm: status === "suspended" ? "Suspend" : "Reactivate",
      danger: status === "suspended",
      run: (reason) => this.ctx.client.admin.setUserStatus({ userId: uid, status, reason }),
    });
    if (result) this.ctx.toast(`${who} is ${status === "suspended" ? "suspended" : "active again"}.`);
  }

  async blockIp(ip: string, blocked: boolean): Promise<void> {
    const result = await this.ctx.confirmAction({
      title: blocked ? `Block ${ip}?` : `Unblock ${ip}?`,
      text: blocked ? "Every charge from this address (an IPv6 address: its /64) is refused until it is unblocked." : "Charges from this address are accepted again.",
      confirm: blocked ? "Block" : "Unblock",
      danger: blocked,
      run: (reason) => this.ctx.client.admin.setIpBlock({ ip, blocked, reason }),
    });
    if (result) this.ctx.toast(`${result.ip} (${result.kind}) is ${result.blocked ? "blocked" : "unblocked"}.`);
  }

  /** "Try a prompt": the verdict a charge would get, from `testModeration` (charges and records nothing). */
  private async tryPrompt(): Promise<void> {
    const prompt = $<HTMLTextAreaElement>("moderation-prompt").value;
    const out = $("moderation-result");
    if (!prompt.trim()) {
      this.ctx.toast("Enter a prompt first.", "bad");
      return;
    }
    const button = $<HTMLButtonElement>("moderation-test");
    button.disabled = true;
    try {
      const result = await this.ctx.client.admin.testModeration(prompt);
      const category = result.category ? ` · ${result.category.replace(/_/g, " ")}` : "";
      const words = { refuse: "Refused", flag: "Flagged (charged, recorded for review)", allow: "Allowed" } as const;
      out.textContent = `${words[result.verdict]}${category} · decided by ${result.source === "provider" ? "the provider" : "the local rules"}`;
      out.dataset.verdict = result.verdict;
      out.dataset.category = result.category ?? "";
      out.dataset.source = result.source;
    } catch (err) {
      out.textContent = `The prompt could not be tested (${toCreditsError(err).reason.replace(/_/g, " ")}).`;
      out.dataset.verdict = "error";
    } finally {
      out.hidden = false;
      button.disabled = false;
    }
  }

  private async ipAction(blocked: boolean): Promise<void> {
    const ip = $<HTMLInputElement>("ip-target").value.trim();
    if (!ip) {
      this.ctx.toast("Enter an IP address or a CIDR range first.", "bad");
      return;
    }
    await this.blockIp(ip, blocked);
  }
}
