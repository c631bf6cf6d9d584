/** The emails of the uids the Live AI tab shows, looked up once each (`lookupUsers`). */
import type { CreditsAdmin } from "@credit-backend/client/admin";

export class UserEmails {
  private emails = new Map<string, string | null>();

  constructor(private readonly admin: CreditsAdmin) {}

  /** The email when known, else the uid. */
  of(uid: string): string {
    return this.emails.get(uid) ?? uid;
  }

  /** The email when known (null: being looked up, or none). */
  known(uid: string): string | null {
    return this.emails.get(uid) ?? null;
  }

  /** Looks up the uids not asked for yet, then calls `then` (to render again what shows them). */
  resolve(uids: string[], then: () => void): void {
    const missing = uids.filter((u) => !this.emails.has(u));
    if (!missing.length) return;
    for (const uid of missing) this.emails.set(uid, null);
    void this.admin.lookupUsers(missing).then((users) => {
      for (const [uid, user] of users) this.emails.set(uid, user?.email ?? null);
      then();
    });
  }
}
