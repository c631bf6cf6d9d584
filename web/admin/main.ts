/**
 * The admin dashboard: admin sign-in (a clear refusal for anyone else), the Credits tab and the
 * Live AI tab. The page renders state and calls the client library (`CreditsClient.admin` for
 * every change, `CreditsAdmin` for the live views); it never talks to Firebase itself.
 *
 * The admin check here only decides what to show: the data itself is guarded by the rules
 * (admin-only collections need the ID token's `admin` claim) and by the callables.
 */
import { CreditsAdmin, hasAdminClaim } from "@credit-backend/client/admin";
import { connectBackend } from "../shared/backend";
import { confirmAction, LiveIndicator, StatsCache, toast, type Ctx } from "./context";
import { CreditsTab } from "./credits-tab";
import { $, withAuthMessage } from "../shared/kit";
import { LiveTab } from "./live-tab";
import { PaymentsTab } from "./payments-tab";

const { session, emulated, projectId } = connectBackend();
const ctx: Ctx = {
  session,
  client: session.client,
  admin: new CreditsAdmin(session.client),
  stats: new StatsCache(session.client),
  live: new LiveIndicator(),
  toast,
  confirmAction,
};
const credits = new CreditsTab(ctx);
const live = new LiveTab(ctx);
const payments = new PaymentsTab(ctx);
type Tab = "credits" | "live" | "payments";
let tab: Tab = location.hash === "#live" ? "live" : location.hash === "#payments" ? "payments" : "credits";
let admitted = false;

// On the emulators, the session and the admin helpers are reachable from the console, the tests
// and bench/bench_dashboard.py (never in a production build).
if (emulated) Object.assign(window, { creditsAdmin: { session, admin: ctx.admin } });

function show(view: "signed-out" | "checking" | "refused" | "dashboard"): void {
  $("signed-out").hidden = view !== "signed-out";
  $("checking").hidden = view !== "checking";
  $("refused").hidden = view !== "refused";
  $("tabs").hidden = view !== "dashboard";
  $("who").hidden = view === "signed-out" || view === "checking";
  $("live-indicator").hidden = view !== "dashboard" || tab !== "live";
  $("credits-tab").hidden = view !== "dashboard" || tab !== "credits";
  $("live-tab").hidden = view !== "dashboard" || tab !== "live";
  $("payments-tab").hidden = view !== "dashboard" || tab !== "payments";
  document.body.dataset.view = view;
}

function selectTab(next: Tab): void {
  tab = next;
  for (const button of $("tabs").querySelectorAll<HTMLButtonElement>("[data-tab]")) button.setAttribute("aria-selected", String(button.dataset.tab === next));
  $("credits-tab").hidden = next !== "credits";
  $("live-tab").hidden = next !== "live";
  $("payments-tab").hidden = next !== "payments";
  $("live-indicator").hidden = next !== "live";
  history.replaceState(null, "", next === "credits" ? location.pathname + location.search : `#${next}`);
  if (!admitted) return;
  if (next !== "payments") payments.stop();
  if (next === "live") {
    credits.stop();
    live.start();
  } else if (next === "payments") {
    credits.stop();
    live.stop();
    payments.start();
  } else {
    live.stop();
    credits.start();
  }
}

$("tabs").addEventListener("click", (e) => {
  const button = (e.target as HTMLElement).closest<HTMLButtonElement>("[data-tab]");
  if (button) selectTab(button.dataset.tab as Tab);
});

session.onUserChanged(async (user) => {
  admitted = false;
  live.stop();
  payments.stop();
  credits.dispose();
  ctx.stats.clear();
  if (!user) {
    show("signed-out");
    return;
  }
  $("who-email").textContent = user.email ?? user.uid;
  show("checking");
  // A fresh token: a claim granted since the last sign-in shows at once.
  const isAdmin = await hasAdminClaim(user, true).catch(() => false);
  if (session.auth.currentUser?.uid !== user.uid) return; // signed out meanwhile
  if (!isAdmin) {
    $("refused-email").textContent = user.email ?? user.uid;
    show("refused");
    return;
  }
  admitted = true;
  show("dashboard");
  selectTab(tab);
});

$("sign-in-form").addEventListener("submit", (e) => {
  e.preventDefault();
  void withAuthMessage($("auth-error"), () => session.signIn($<HTMLInputElement>("email").value.trim(), $<HTMLInputElement>("password").value));
});
for (const id of ["sign-out", "refused-sign-out"]) $(id).addEventListener("click", () => void session.signOut());

if (emulated) {
  // The seeded demo admin (scripts/seed.py), for a person trying the dashboard on the emulators.
  $<HTMLInputElement>("email").value = "admin@demo.test";
  $<HTMLInputElement>("password").value = "demo-admin-password";
  $("demo-hint").hidden = false;
}
$("env").textContent = emulated ? `Emulator Suite · project ${projectId}` : `Project ${projectId}`;
show("checking"); // until Firebase Auth says who is signed in (a session may persist)
