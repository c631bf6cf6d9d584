/**
 * What the two tabs share: the session and the library's clients, the statistics (one
 * `getUsageStats` call per range serves both tabs for a while), the live indicator, the
 * confirmation dialog with its reason field, and the toast.
 */
import { toCreditsError, type CreditsAdmin, type CreditsClient, type CreditsSession, type StatsRange, type UsageStats } from "@credit-backend/client/admin";
import { $ } from "../shared/kit";

export interface Ctx {
  session: CreditsSession;
  client: CreditsClient;
  admin: CreditsAdmin;
  stats: StatsCache;
  live: LiveIndicator;
  toast(message: string, kind?: "ok" | "bad"): void;
  /** Asks for a reason; resolves with what the action returned, or null when cancelled. */
  confirmAction<T>(options: { title: string; text: string; confirm: string; danger?: boolean; run: (reason: string) => Promise<T> }): Promise<T | null>;
}

// ------------------------------------------------------------------ statistics

/**
 * `getUsageStats` per range, kept for `maxAgeMs`; calls for a range already on its way share
 * that call. Every call is audited by the backend (`get_usage_stats`), so the page does not
 * ask more often than its views refresh.
 */
export class StatsCache {
  private entries = new Map<StatsRange, { at: number; value: Promise<UsageStats> }>();
  private listeners = new Set<(range: StatsRange, stats: UsageStats) => void>();

  constructor(private readonly client: CreditsClient) {}

  get(range: StatsRange, maxAgeMs = 15_000): Promise<UsageStats> {
    const entry = this.entries.get(range);
    if (entry && Date.now() - entry.at < maxAgeMs) return entry.value;
    const value = this.client.admin.getUsageStats(range);
    this.entries.set(range, { at: Date.now(), value });
    value.then(
      (stats) => this.listeners.forEach((l) => l(range, stats)),
      () => this.entries.get(range)?.value === value && this.entries.delete(range),
    );
    return value;
  }

  /** Called with every fresh result, whichever view asked for it. */
  onResult(listener: (range: StatsRange, stats: UsageStats) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  clear(): void {
    this.entries.clear();
  }
}

// ------------------------------------------------------------------ live indicator

type SourceState = "connecting" | "live" | "offline" | "error";

/**
 * The header's dot: live while every open listener has its latest data from the server,
 * "updating" for a moment whenever one of them brings changes, reconnecting while any serves
 * from the cache, and an error when the rules refused one.
 */
export class LiveIndicator {
  private sources = new Map<string, SourceState>();
  private flashTimer: ReturnType<typeof setTimeout> | undefined;
  private updating = false;

  snapshot(name: string, fromCache: boolean, changed: boolean): void {
    this.sources.set(name, fromCache ? (this.sources.get(name) === "live" ? "offline" : "connecting") : "live");
    if (changed && !fromCache) {
      this.updating = true;
      clearTimeout(this.flashTimer);
      this.flashTimer = setTimeout(() => {
        this.updating = false;
        this.render();
      }, 700);
    }
    this.render();
  }

  error(name: string): void {
    this.sources.set(name, "error");
    this.render();
  }

  remove(name: string): void {
    this.sources.delete(name);
    this.render();
  }

  private render(): void {
    const states = [...this.sources.values()];
    let state: string;
    let text: string;
    if (states.includes("error")) [state, text] = ["error", "Live views refused"];
    else if (states.includes("offline")) [state, text] = ["offline", "Reconnecting…"];
    else if (!states.length || states.includes("connecting")) [state, text] = ["connecting", "Connecting…"];
    else if (this.updating) [state, text] = ["updating", "Live · updating"];
    else [state, text] = ["live", "Live"];
    const el = $("live-indicator");
    if (el.dataset.state !== state) el.dataset.state = state;
    const label = $("live-text");
    if (label.textContent !== text) label.textContent = text;
  }
}

// ------------------------------------------------------------------ dialog and toast

let toastTimer: ReturnType<typeof setTimeout> | undefined;

export function toast(message: string, kind: "ok" | "bad" = "ok"): void {
  const el = $("toast");
  el.textContent = message;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 5000);
}

/** The dialog asks for a reason (every admin action is audited with one) and runs the action. */
export function confirmAction<T>(options: {
  title: string;
  text: string;
  confirm: string;
  danger?: boolean;
  run: (reason: string) => Promise<T>;
}): Promise<T | null> {
  const dialog = $<HTMLDialogElement>("action-dialog");
  const reason = $<HTMLInputElement>("action-reason");
  const confirm = $<HTMLButtonElement>("action-confirm");
  const error = $("action-error");
  $("action-title").textContent = options.title;
  $("action-text").textContent = options.text;
  confirm.textContent = options.confirm;
  confirm.classList.toggle("danger", options.danger === true);
  reason.value = "";
  error.hidden = true;
  dialog.showModal();
  reason.focus();
  return new Promise((resolve) => {
    const form = $<HTMLFormElement>("action-form");
    const cancel = $("action-cancel");
    const done = (value: T | null) => {
      form.removeEventListener("submit", onSubmit);
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
      dialog.close();
      resolve(value);
    };
    const onCancel = (e: Event) => {
      e.preventDefault();
      done(null);
    };
    const onSubmit = async (e: Event) => {
      e.preventDefault();
      const why = reason.value.trim();
      if (!why) {
        error.textContent = "Give a reason: it goes into the audit log.";
        error.hidden = false;
        return;
      }
      confirm.disabled = true;
      try {
        done(await options.run(why));
      } catch (err) {
        const failure = toCreditsError(err);
        error.textContent =
          failure.reason === "invalid_request" ? Object.values(failure.errors).join("; ") || failure.message : `Refused: ${failure.reason.replace(/_/g, " ")}.`;
        error.hidden = false;
      } finally {
        confirm.disabled = false;
      }
    };
    form.addEventListener("submit", onSubmit);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
  });
}
