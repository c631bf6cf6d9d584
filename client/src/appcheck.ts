/**
 * App Check for the callables (deployments enforce it on every callable by default).
 *
 * Three modes:
 * - `recaptcha-enterprise` (production): the reCAPTCHA Enterprise provider with the site key
 *   registered for the web app in the Firebase console (App Check > Apps).
 * - `debug` (a real project from a machine reCAPTCHA cannot attest, e.g. CI or localhost):
 *   the SDK's debug provider. The debug token must be registered in the console (App Check >
 *   Apps > Manage debug tokens); the SDK exchanges it with the App Check service for a real
 *   token on each refresh, so this mode needs the network and a real project.
 * - `emulator` (the Emulator Suite with a `demo-*` project): there is no App Check service to
 *   exchange a debug token with. The SDK's debug provider would try the exchange before every
 *   call, fail, log an error and send the call without a token. This mode hands the debug
 *   token to the SDK as the token itself, through a custom provider: no network, no errors,
 *   and every call carries the `X-Firebase-AppCheck` header as in production. The token is the
 *   debug token in base64url, not a JWT, so the backend drops it unread (the emulators do not
 *   enforce App Check; a JWT-shaped token would make the backend's SDK try to fetch App
 *   Check's public keys, which fails offline).
 */
import type { FirebaseApp } from "firebase/app";
import {
  CustomProvider,
  initializeAppCheck,
  ReCaptchaEnterpriseProvider,
  type AppCheck,
} from "firebase/app-check";

export type AppCheckOptions =
  | { mode: "recaptcha-enterprise"; siteKey: string }
  | { mode: "debug"; siteKey: string; debugToken?: string }
  | { mode: "emulator"; debugToken?: string };

/** How long an emulator-mode token lives before the SDK asks the provider again. */
const EMULATOR_TOKEN_TTL_MS = 60 * 60 * 1000;

declare global {
  // The switch the App Check SDK reads to enter debug mode (a registered token, or true to have one generated and logged).
  var FIREBASE_APPCHECK_DEBUG_TOKEN: string | boolean | undefined;
}

/** Initialises App Check on `app` (once per app, before the first call). */
export function initAppCheck(app: FirebaseApp, options: AppCheckOptions): AppCheck {
  switch (options.mode) {
    case "recaptcha-enterprise":
      return initializeAppCheck(app, {
        provider: new ReCaptchaEnterpriseProvider(options.siteKey),
        isTokenAutoRefreshEnabled: true,
      });
    case "debug":
      globalThis.FIREBASE_APPCHECK_DEBUG_TOKEN = options.debugToken ?? true;
      return initializeAppCheck(app, {
        provider: new ReCaptchaEnterpriseProvider(options.siteKey),
        isTokenAutoRefreshEnabled: true,
      });
    case "emulator": {
      // base64url without dots: the SDK can decode it quietly, and it is no JWT.
      const token = base64Url(`debug:${options.debugToken ?? "emulator"}`);
      return initializeAppCheck(app, {
        provider: new CustomProvider({
          getToken: async () => ({ token, expireTimeMillis: Date.now() + EMULATOR_TOKEN_TTL_MS }),
        }),
        isTokenAutoRefreshEnabled: false,
      });
    }
  }
}

function base64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
