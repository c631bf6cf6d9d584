/**
 * Retries with exponential backoff and full jitter, for the refusals the contract calls safe
 * to repeat (`aborted`/contention and `unavailable`/backend_unavailable: "the call wrote
 * nothing") and, where the request itself is idempotent, for no answer at all (network).
 * Nothing else is ever retried: an insufficient balance or a rate limit does not change by
 * asking again at once.
 */
import { CreditsError, NetworkError, toCreditsError } from "./errors.js";

export interface RetryOptions {
  /** Total tries, the first included (default 4). 1 disables retries. */
  attempts?: number;
  /** First backoff ceiling in milliseconds (default 300); doubles every try. */
  baseDelayMs?: number;
  /** Largest backoff ceiling (default 5000). */
  maxDelayMs?: number;
  /** Called before each retry (for logs or a "retrying..." hint). */
  onRetry?: (error: CreditsError, attempt: number, delayMs: number) => void;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const DEFAULT_RETRY: Required<Omit<RetryOptions, "onRetry" | "sleep" | "random">> = {
  attempts: 4,
  baseDelayMs: 300,
  maxDelayMs: 5000,
};

/** The delay before retry number `attempt` (1-based): uniform in [0, min(max, base * 2^(attempt-1))]. */
export function backoffDelay(attempt: number, options: RetryOptions = {}, random: () => number = Math.random): number {
  const base = options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const max = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}

/** Whether `error` may be retried: contention and unavailability always, no answer only if `idempotent`. */
export function shouldRetry(error: CreditsError, idempotent: boolean): boolean {
  if (error instanceof NetworkError) return idempotent;
  return error.retryable;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `attempt` until it succeeds, fails with an error that is not retryable, or tries run out. */
export async function withRetry<T>(attempt: () => Promise<T>, idempotent: boolean, options: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? DEFAULT_RETRY.attempts);
  const sleep = options.sleep ?? realSleep;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (raw) {
      const error = toCreditsError(raw);
      if (n >= attempts || !shouldRetry(error, idempotent)) throw error;
      const delay = backoffDelay(n, options, options.random);
      options.onRetry?.(error, n, delay);
      await sleep(delay);
    }
  }
}
