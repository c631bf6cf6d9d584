/**
 * The credit backend's client: typed callables, typed refusals, safe retries, live balance and
 * activities, cost preview, rate-limit countdown and App Check. See ../README.md.
 */
export * from "./types.js";
export * from "./errors.js";
export { withRetry, backoffDelay, shouldRetry, DEFAULT_RETRY, type RetryOptions } from "./retry.js";
export { countdown, formatSeconds, type Countdown, type CountdownOptions } from "./countdown.js";
export { CreditsClient, toProducts, newRequestId, withWireTimes, DEFAULT_REGION, type CreditsClientOptions, type Unsubscribe } from "./client.js";
export { initAppCheck, type AppCheckOptions } from "./appcheck.js";
export {
  connectCredits,
  DEFAULT_EMULATOR_PORTS,
  type ConnectOptions,
  type CreditsSession,
  type EmulatorHosts,
} from "./connect.js";
export * from "./buckets.js";
