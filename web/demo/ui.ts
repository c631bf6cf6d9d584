/** The demo page's wording that more than one view uses: units, field errors, rate windows. */
import { formatSeconds, type GenerationType } from "@credit-backend/client";

export const UNITS: Record<GenerationType, [one: string, many: string]> = {
  image: ["image", "images"],
  video: ["second of video", "seconds of video"],
  voice: ["minute of voice", "minutes of voice"],
  chat: ["token", "tokens"],
};

/** "image" or "images", "second of video" or "seconds of video", as the quantity asks. */
export const unitOf = (type: GenerationType, quantity: number | null | undefined): string => (quantity === 1 ? UNITS[type][0] : UNITS[type][1]);

/** The backend's field errors, one sentence ("quantity: must be more than 0; prompt: ..."). */
export function fieldMessage(errors: Record<string, string>): string {
  return Object.entries(errors).map(([field, message]) => `${field.replace(/^preview\./, "")}: ${message}`).join("; ") || "The request is invalid.";
}

/** A rate limit's window: "minute", "hour", "day", or "1:30 (min:s)". */
export function windowText(seconds: number): string {
  const named: Record<number, string> = { 60: "minute", 3600: "hour", 86400: "day" };
  return named[seconds] ?? `${formatSeconds(seconds)} (min:s)`;
}
