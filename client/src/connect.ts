/**
 * One call that sets up everything a web page needs: the Firebase app, Auth, the credit
 * client, App Check, and (for local work) the Emulator Suite. Pages that already have a
 * Firebase app build a {@link CreditsClient} themselves instead.
 */
import { getApps, initializeApp, type FirebaseApp, type FirebaseOptions } from "firebase/app";
import {
  connectAuthEmulator,
  createUserWithEmailAndPassword,
  getAuth,
  onAuthStateChanged,
  signInWithEmailAndPassword,
  signOut,
  updateProfile,
  type Auth,
  type User,
} from "firebase/auth";
import { connectFirestoreEmulator, getFirestore } from "firebase/firestore";
import { connectFunctionsEmulator, getFunctions } from "firebase/functions";
import { initAppCheck, type AppCheckOptions } from "./appcheck.js";
import { CreditsClient, DEFAULT_REGION, type Unsubscribe } from "./client.js";
import type { RetryOptions } from "./retry.js";

/** Where the Emulator Suite listens (firebase.json's ports; all shifted alike by a port offset). */
export interface EmulatorHosts {
  host?: string;
  auth?: number;
  firestore?: number;
  functions?: number;
}

export const DEFAULT_EMULATOR_PORTS = { auth: 9099, firestore: 8080, functions: 5001 } as const;

export interface ConnectOptions {
  firebaseConfig: FirebaseOptions;
  /** Use the Emulator Suite (local work, tests) instead of the project's services. */
  emulators?: EmulatorHosts | false;
  /** App Check; leave out only where the backend does not enforce it (the emulators). */
  appCheck?: AppCheckOptions | false;
  region?: string;
  retry?: RetryOptions;
  /** A name for the Firebase app (default: the default app). */
  appName?: string;
}

export interface CreditsSession {
  app: FirebaseApp;
  auth: Auth;
  client: CreditsClient;
  signIn(email: string, password: string): Promise<User>;
  /** Creates the account (the backend decides the sign-up grant on the first call). */
  signUp(email: string, password: string, displayName?: string): Promise<User>;
  signOut(): Promise<void>;
  /** Calls `callback` with the signed-in user (or null) now and on every change. */
  onUserChanged(callback: (user: User | null) => void): Unsubscribe;
}

/** Sets up Firebase and the credit client. Call once per page. */
export function connectCredits(options: ConnectOptions): CreditsSession {
  const name = options.appName ?? "[DEFAULT]";
  const existing = getApps().find((a) => a.name === name);
  const app = existing ?? initializeApp(options.firebaseConfig, options.appName);
  // App Check first: the other services pick it up when they are created.
  if (options.appCheck) initAppCheck(app, options.appCheck);

  const auth = getAuth(app);
  const functions = getFunctions(app, options.region ?? DEFAULT_REGION);
  const firestore = getFirestore(app);
  if (options.emulators) {
    const host = options.emulators.host ?? "127.0.0.1";
    const ports = { ...DEFAULT_EMULATOR_PORTS, ...withoutUndefined(options.emulators) };
    connectAuthEmulator(auth, `http://${host}:${ports.auth}`, { disableWarnings: true });
    connectFirestoreEmulator(firestore, host, ports.firestore);
    connectFunctionsEmulator(functions, host, ports.functions);
  }
  const clientOptions: ConstructorParameters<typeof CreditsClient>[0] = { app, functions, firestore };
  if (options.retry) clientOptions.retry = options.retry;
  const client = new CreditsClient(clientOptions);

  return {
    app,
    auth,
    client,
    async signIn(email, password) {
      return (await signInWithEmailAndPassword(auth, email, password)).user;
    },
    async signUp(email, password, displayName) {
      const { user } = await createUserWithEmailAndPassword(auth, email, password);
      if (displayName) await updateProfile(user, { displayName });
      return user;
    },
    signOut: () => signOut(auth),
    onUserChanged: (callback) => onAuthStateChanged(auth, callback),
  };
}

function withoutUndefined(hosts: EmulatorHosts): Partial<Record<"auth" | "firestore" | "functions", number>> {
  const out: Partial<Record<"auth" | "firestore" | "functions", number>> = {};
  for (const key of ["auth", "firestore", "functions"] as const) {
    if (typeof hosts[key] === "number") out[key] = hosts[key];
  }
  return out;
}
