// The Emulator Suite as the tests reach it: the hosts firebase emulators:exec exports, real
// Auth-emulator accounts (claims set through its admin endpoint, as the Admin SDK does) and the
// client library on the official Firebase JS SDK, one Firebase app per signed-in user.
import { deleteApp } from "firebase/app";
import { connectCredits } from "../dist/index.js";

export const PROJECT = process.env.GCLOUD_PROJECT || process.env.CREDITS_PROJECT_ID || "demo-credits";
const hostPort = (value, fallback) => {
  const [host, port] = (value || fallback).split(":");
  return { host, port: Number(port) };
};
export const AUTH = hostPort(process.env.FIREBASE_AUTH_EMULATOR_HOST, "127.0.0.1:9099");
export const FIRESTORE = hostPort(process.env.FIRESTORE_EMULATOR_HOST, "127.0.0.1:8080");
export const FUNCTIONS = hostPort(process.env.CREDITS_FUNCTIONS_HOST, "127.0.0.1:5001");
const IDENTITY = `http://${AUTH.host}:${AUTH.port}/identitytoolkit.googleapis.com/v1`;

export const PASSWORD = "correct-horse-battery";
let counter = 0;
const sessions = [];

export function uniqueEmail(tag = "user") {
  return `${tag}-${process.pid}-${Date.now().toString(36)}-${++counter}@example.com`;
}

/** A session (Firebase app + credit client) that nobody has signed into yet. */
export function newSession({ functionsPort = FUNCTIONS.port, retry } = {}) {
  const session = connectCredits({
    firebaseConfig: { projectId: PROJECT, apiKey: "demo-api-key", appId: "1:0:web:test" },
    emulators: { host: FIRESTORE.host, auth: AUTH.port, firestore: FIRESTORE.port, functions: functionsPort },
    appName: `test-${process.pid}-${++counter}`,
    ...(retry ? { retry } : {}),
  });
  sessions.push(session);
  return session;
}

async function post(url, body, headers = {}) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
  const json = await r.json();
  if (!r.ok) throw new Error(`${url}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * A signed-in user. With `claims`, the account is made through the Auth emulator's REST API,
 * the claims are set, and the session signs in afterwards (claims appear in new tokens only).
 */
export async function signedInUser({ claims, tag = "user", ...options } = {}) {
  const session = newSession(options);
  const email = uniqueEmail(tag);
  let user;
  if (claims) {
    const { localId } = await post(`${IDENTITY}/accounts:signUp?key=any`, { email, password: PASSWORD, returnSecureToken: true });
    await post(
      `${IDENTITY}/projects/${PROJECT}/accounts:update`,
      { localId, customAttributes: JSON.stringify(claims) },
      { Authorization: "Bearer owner" },
    );
    user = await session.signIn(email, PASSWORD);
  } else {
    user = await session.signUp(email, PASSWORD);
  }
  return { session, client: session.client, uid: user.uid, email };
}

export const admin = () => signedInUser({ claims: { admin: true }, tag: "admin" });
export const generator = () => signedInUser({ claims: { generator: true }, tag: "generator" });

/**
 * Every test user comes from 127.0.0.1: the per-IP and per-network limits (requests, sign-up grants) are raised
 * so that one address can run the whole file. Tests that need a limit set their own.
 */
export async function openLimits(adminClient) {
  await adminClient.admin.updateConfiguration({
    rateLimits: { ipRequests: 10_000, image: 10_000, video: 10_000, voice: 10_000, chat: 10_000 },
    signup: { grantsPerIpPerDay: 1_000_000, grantsPerNetworkPerDay: 1_000_000, grantsPerAllocationPerDay: 1_000_000 },
  });
}

/** Resolves with the first value `watch` reports that satisfies `predicate`. */
export function until(watch, predicate, timeoutMs = 20_000) {
  const promise = new Promise((resolve, reject) => {
    const seen = [];
    let stop = () => {};
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out; saw ${JSON.stringify(seen)}`));
    }, timeoutMs);
    stop = watch((value) => {
      seen.push(value);
      if (predicate(value)) {
        clearTimeout(timer);
        queueMicrotask(() => stop());
        resolve({ value, seen });
      }
    });
  });
  // Handled even when a test fails before awaiting it (the listener stops at the timeout).
  promise.catch(() => {});
  return promise;
}

/**
 * Records every value `watch` reports; `next(predicate)` resolves with the first recorded value
 * (already seen or still to come) that satisfies it.
 */
export function record(watch) {
  const events = [];
  const waiting = [];
  const stop = watch((value) => {
    events.push(value);
    for (const w of waiting.splice(0)) {
      if (w.predicate(value)) w.resolve(value);
      else waiting.push(w);
    }
  });
  return {
    events,
    stop,
    next(predicate, timeoutMs = 20_000) {
      const found = events.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out; saw ${JSON.stringify(events)}`)), timeoutMs);
        waiting.push({ predicate, resolve: (v) => (clearTimeout(timer), resolve(v)) });
      });
    },
  };
}

export async function closeAll() {
  await Promise.all(sessions.splice(0).map(async (s) => {
    await s.signOut().catch(() => {});
    await deleteApp(s.app);
  }));
}
