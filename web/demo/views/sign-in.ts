/** The sign-in card (sign in, or create the account typed in) and the header's sign-out. */
import type { CreditsSession } from "@credit-backend/client";
import { $, withAuthMessage } from "../../shared/kit";

export function mountSignIn(session: CreditsSession): void {
  const value = (id: string) => $<HTMLInputElement>(id).value.trim();
  const authAction = (action: () => Promise<unknown>) => void withAuthMessage($("auth-error"), action);
  $("sign-in-form").addEventListener("submit", (e) => {
    e.preventDefault();
    authAction(() => session.signIn(value("email"), value("password")));
  });
  $("sign-up").addEventListener("click", () => authAction(() => session.signUp(value("email"), value("password"))));
  $("sign-out").addEventListener("click", () => void session.signOut());
}
