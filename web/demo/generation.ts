/**
 * What the page does about generating: the cost preview (debounced; only the newest answer
 * counts), the generation itself (a lost answer is retried with the same request id), the
 * followed activity, cancelling it, and a rate limit's countdown. It owns the timers and the
 * activity listener; everything it learns goes into the state.
 */
import { countdown, toCreditsError, type Countdown, type CreditsClient, type Unsubscribe } from "@credit-backend/client";
import { getState, previewKey, setProblem, update } from "./state";

export interface Generation {
  /** Works out the cost of what the form asks for, after `delayMs` without another call. */
  schedulePreview(delayMs?: number): void;
  generate(): Promise<void>;
  cancel(): Promise<void>;
  /** Stops following the activity and the countdown (on sign-out, or another user). */
  reset(): void;
}

export function createGeneration(client: CreditsClient): Generation {
  let previewTimer: ReturnType<typeof setTimeout> | undefined;
  let previewSeq = 0;
  let activityListener: Unsubscribe | null = null;
  let ticking: Countdown | null = null;

  function schedulePreview(delayMs = 250): void {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(() => void refreshPreview(), delayMs);
  }

  async function refreshPreview(): Promise<void> {
    const { uid, form } = getState();
    if (!uid) return;
    const seq = ++previewSeq;
    try {
      const status = await client.previewCost({ type: form.type, quantity: form.quantity });
      if (seq !== previewSeq) return; // a newer preview is on its way
      if (status.preview.reason === "rate_limited" && status.preview.retryAfterSeconds) startCountdown(status.preview.retryAfterSeconds);
      update({ status, preview: status.preview, previewFor: previewKey(form), previewError: null });
    } catch (err) {
      if (seq !== previewSeq) return;
      update({ preview: null, previewError: toCreditsError(err) });
    }
  }

  async function generate(): Promise<void> {
    const { busy, form, retryRequestId } = getState();
    if (busy) return;
    update({ busy: true, problem: null });
    try {
      const request = { type: form.type, quantity: form.quantity, prompt: form.prompt };
      const result = await client.generate(retryRequestId ? { ...request, requestId: retryRequestId } : request);
      update({ retryRequestId: null });
      follow(result.activityId);
    } catch (err) {
      const failure = toCreditsError(err);
      // A charge whose answer was lost may have gone through: "Try again" resends the same key.
      update({ problem: failure, retryRequestId: failure.retryable ? (failure.requestId ?? null) : null });
      if (failure.reason === "rate_limited") startCountdown(failure.retryAfterSeconds);
    } finally {
      update({ busy: false });
      schedulePreview(0);
    }
  }

  function follow(activityId: string): void {
    activityListener?.();
    update({ activity: null });
    activityListener = client.watchActivity(activityId, (activity) => update({ activity }));
  }

  async function cancel(): Promise<void> {
    const { activity } = getState();
    if (!activity) return;
    try {
      await client.cancel(activity.id);
    } catch (err) {
      setProblem(toCreditsError(err));
    }
  }

  function startCountdown(seconds: number): void {
    stopCountdown();
    ticking = countdown(seconds, (left) => update({ waitSeconds: left }), {
      onDone: () => {
        ticking = null;
        update({ waitSeconds: null, ...(getState().problem?.reason === "rate_limited" ? { problem: null } : {}) });
        schedulePreview(0);
      },
    });
  }

  function stopCountdown(): void {
    ticking?.cancel();
    ticking = null;
    update({ waitSeconds: null });
  }

  function reset(): void {
    activityListener?.();
    activityListener = null;
    stopCountdown();
  }

  return { schedulePreview, generate, cancel, reset };
}
