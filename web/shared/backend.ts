/**
 * Where the pages' backend is, for every page of this site (demo/, admin/).
 *
 * - Production: build with VITE_FIREBASE_CONFIG (the web app's config object, JSON) and
 *   VITE_RECAPTCHA_ENTERPRISE_SITE_KEY; App Check uses reCAPTCHA Enterprise. For a real project
 *   run from a machine reCAPTCHA cannot attest, VITE_APPCHECK_DEBUG_TOKEN (registered in the
 *   console) switches to the debug provider.
 * - Emulators (no VITE_FIREBASE_CONFIG): the page talks to the Emulator Suite beside the Hosting
 *   emulator that serves it. Every emulator port is firebase.json's plus the same offset
 *   (CREDITS_EMULATOR_PORT_OFFSET), so the offset is this page's port minus Hosting's 5000.
 *   `?emulatorOffset=N` overrides it (e.g. for a page served by `vite dev`).
 */
import { connectCredits, DEFAULT_EMULATOR_PORTS, type ConnectOptions, type CreditsSession } from "@credit-backend/client";

const HOSTING_PORT = 5000;
const DEMO_PROJECT = "demo-credits";

export interface Backend {
  session: CreditsSession;
  emulated: boolean;
  projectId: string;
}

export function connectBackend(): Backend {
  const env = import.meta.env;
  if (env.VITE_FIREBASE_CONFIG) {
    const firebaseConfig = JSON.parse(env.VITE_FIREBASE_CONFIG);
    const options: ConnectOptions = { firebaseConfig };
    if (env.VITE_APPCHECK_DEBUG_TOKEN) {
      options.appCheck = { mode: "debug", siteKey: env.VITE_RECAPTCHA_ENTERPRISE_SITE_KEY ?? "", debugToken: env.VITE_APPCHECK_DEBUG_TOKEN };
    } else if (env.VITE_RECAPTCHA_ENTERPRISE_SITE_KEY) {
      options.appCheck = { mode: "recaptcha-enterprise", siteKey: env.VITE_RECAPTCHA_ENTERPRISE_SITE_KEY };
    }
    return { session: connectCredits(options), emulated: false, projectId: firebaseConfig.projectId };
  }

  const params = new URLSearchParams(location.search);
  const projectId = params.get("project") ?? DEMO_PROJECT;
  const pagePort = Number(location.port || 80);
  const offset = params.has("emulatorOffset") ? Number(params.get("emulatorOffset")) : pagePort - HOSTING_PORT;
  const session = connectCredits({
    firebaseConfig: { projectId, apiKey: "demo-api-key", authDomain: `${projectId}.firebaseapp.com`, appId: "1:0:web:demo" },
    emulators: {
      host: location.hostname || "127.0.0.1",
      auth: DEFAULT_EMULATOR_PORTS.auth + offset,
      firestore: DEFAULT_EMULATOR_PORTS.firestore + offset,
      functions: DEFAULT_EMULATOR_PORTS.functions + offset,
    },
    // `?appCheck=sdk-debug` uses the SDK's own debug provider instead, to see what it does here.
    appCheck:
      params.get("appCheck") === "sdk-debug"
        ? { mode: "debug", siteKey: "emulator-site-key", debugToken: "00000000-0000-4000-8000-000000000000" }
        : { mode: "emulator", debugToken: "demo-page" },
  });
  return { session, emulated: true, projectId };
}
