/**
 * A rate limit's `retryAfterSeconds` as ticking seconds for a person to watch.
 *
 * Ticks are scheduled against a deadline (not by counting intervals), so a throttled
 * background tab that fires late still shows the right number when it wakes up.
 */

export interface Countdown {
  /** Stops ticking; `onDone` is not called. */
  cancel(): void;
  /** Whole seconds left now. */
  remaining(): number;
  /** Resolves when the countdown reaches zero (never, if cancelled). */
  readonly done: Promise<void>;
}

export interface CountdownOptions {
  /** Called once when the countdown reaches zero (after the final `onTick(0)`). */
  onDone?: () => void;
  /** Injected for tests. */
  now?: () => number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
}

/**
 * Calls `onTick(secondsLeft)` at once and then every second down to `onTick(0)`.
 * @param seconds - e.g. `RateLimited.retryAfterSeconds` or a preview's `retryAfterSeconds`.
 */
export function countdown(seconds: number, onTick: (secondsLeft: number) => void, options: CountdownOptions = {}): Countdown {
  const now = options.now ?? Date.now;
  const set = options.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
  const clear = options.clearTimeout ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  const deadline = now() + Math.max(0, Math.ceil(Number.isFinite(seconds) ? seconds : 0)) * 1000;
  let handle: unknown;
  let cancelled = false;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  const left = () => Math.max(0, Math.ceil((deadline - now()) / 1000));

  const tick = () => {
    if (cancelled) return;
    const s = left();
    onTick(s);
    if (s === 0) {
      options.onDone?.();
      finish();
      return;
    }
    // Wake just after the next whole-second boundary before the deadline.
    const untilNext = (deadline - now()) % 1000 || 1000;
    handle = set(tick, untilNext + 5);
  };
  tick();
  return {
    cancel() {
      cancelled = true;
      if (handle !== undefined) clear(handle);
    },
    remaining: left,
    done,
  };
}

/** `75` -> `"1:15"`, `3725` -> `"1:02:05"`. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
}
