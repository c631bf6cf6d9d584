/**
 * Who is signed in, and what the page listens to for them: the account's status (the first
 * call creates the account), the live balance, the newest activities and the products on sale.
 * A change of user stops every listener of the previous one.
 */
import { toCreditsError, type CreditsSession, type Unsubscribe } from "@credit-backend/client";
import type { Generation } from "./generation";
import { getState, setProblem, signedIn, update } from "./state";

export function watchAccount(session: CreditsSession, generation: Generation): void {
  const { client } = session;
  let listeners: Unsubscribe[] = [];

  session.onUserChanged(async (user) => {
    listeners.forEach((stop) => stop());
    listeners = [];
    generation.reset();
    signedIn(user);
    if (!user) return;
    try {
      // The first call creates the account (and decides the sign-up grant): the balance is there before any generation.
      update({ status: await client.getCreditStatus() });
    } catch (err) {
      setProblem(toCreditsError(err));
    }
    listeners.push(
      client.watchBalance(user.uid, (balance) => {
        // The first snapshot is no change: the preview scheduled after sign-in already covers it.
        const before = getState().balance;
        const changed = before !== null && (before.credits !== balance.credits || before.status !== balance.status);
        update({ balance });
        if (changed) generation.schedulePreview(0);
      }),
      client.watchActivities(user.uid, (recent) => update({ recent }), { max: 5 }),
      client.watchProducts((products) => update({ products })),
    );
    generation.schedulePreview(0);
  });
}
