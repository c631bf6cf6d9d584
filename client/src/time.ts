/** Time values as the documents hold them. */

/** Epoch milliseconds of a Firestore timestamp (or a Date, or a number); null otherwise. */
export function millisOf(value: unknown): number | null {
  if (value && typeof value === "object" && typeof (value as { toMillis?: unknown }).toMillis === "function") {
    return (value as { toMillis(): number }).toMillis();
  }
  if (value instanceof Date) return value.getTime();
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}
