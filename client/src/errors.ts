/**
 * Every refusal the backend can give, as one class per `details.reason` (docs/contract.md).
 *
 * `toCreditsError` is the only place that reads a Firebase `FunctionsError`: whatever a call
 * throws reaches the caller as one of these, so a page switches on `err.reason` (or uses
 * `instanceof`) and never parses codes or messages itself. The union type {@link CreditsFailure}
 * narrows on `reason`, so `err.reason === "rate_limited"` gives `err.retryAfterSeconds`.
 */

/** The callable error codes (`FunctionsError.code` without its `functions/` prefix). */
export type CallableCode =
  | "invalid-argument"
  | "permission-denied"
  | "resource-exhausted"
  | "failed-precondition"
  | "not-found"
  | "aborted"
  | "unavailable"
  | "unauthenticated"
  | "internal"
  | "deadline-exceeded"
  | "cancelled"
  | "unknown"
  | (string & {});

type Details = Record<string, unknown>;

/** Base of every error this library throws. */
export abstract class CreditsError extends Error {
  abstract readonly reason: string;
  /** True when sending the same request again (same `requestId`) is safe and may succeed. */
  readonly retryable: boolean = false;
  /** For errors thrown by `CreditsClient.generate`: the idempotency key to send again. */
  requestId?: string;
  constructor(
    message: string,
    /** The callable error code the backend answered with. */
    readonly code: CallableCode,
    /** `details` as the backend sent them (`reason` included). */
    readonly details: Details = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** `invalid-argument` / `invalid_request`: `errors` maps each offending field to a message. */
export class InvalidRequest extends CreditsError {
  readonly reason = "invalid_request" as const;
  readonly errors: Record<string, string>;
  constructor(message: string, details: Details = {}) {
    super(message, "invalid-argument", details);
    this.errors = isRecord(details.errors) ? (details.errors as Record<string, string>) : {};
  }
}

/** `invalid-argument` / `prompt_rejected`: moderation refused the prompt; nothing was charged. */
export class PromptRejected extends CreditsError {
  readonly reason = "prompt_rejected" as const;
  readonly category: string;
  constructor(message: string, details: Details = {}) {
    super(message, "invalid-argument", details);
    this.category = str(details.category, "policy");
  }
}

/** `permission-denied` / `account_suspended`. */
export class AccountSuspended extends CreditsError {
  readonly reason = "account_suspended" as const;
  constructor(message: string, details: Details = {}) {
    super(message, "permission-denied", details);
  }
}

/** `permission-denied` / `ip_blocked`. */
export class IpBlocked extends CreditsError {
  readonly reason = "ip_blocked" as const;
  constructor(message: string, details: Details = {}) {
    super(message, "permission-denied", details);
  }
}

/** `permission-denied` / `not_owner`: the activity belongs to someone else. */
export class NotOwner extends CreditsError {
  readonly reason = "not_owner" as const;
  constructor(message: string, details: Details = {}) {
    super(message, "permission-denied", details);
  }
}

/** `permission-denied` / `admin_required`. */
export class AdminRequired extends CreditsError {
  readonly reason = "admin_required" as const;
  constructor(message: string, details: Details = {}) {
    super(message, "permission-denied", details);
  }
}

/** `permission-denied` / `not_allowed`: this caller may not do `action` (e.g. an owner settling). */
export class NotAllowed extends CreditsError {
  readonly reason = "not_allowed" as const;
  readonly action: string;
  constructor(message: string, details: Details = {}) {
    super(message, "permission-denied", details);
    this.action = str(details.action, "");
  }
}

/** `resource-exhausted` / `rate_limited`: wait `retryAfterSeconds` (see `countdown`). */
export class RateLimited extends CreditsError {
  readonly reason = "rate_limited" as const;
  readonly scope: "user" | "ip";
  readonly limit: number;
  readonly windowSeconds: number;
  readonly retryAfterSeconds: number;
  constructor(message: string, details: Details = {}) {
    super(message, "resource-exhausted", details);
    this.scope = details.scope === "ip" ? "ip" : "user";
    this.limit = num(details.limit, 0);
    this.windowSeconds = num(details.windowSeconds, 0);
    this.retryAfterSeconds = Math.max(0, Math.ceil(num(details.retryAfterSeconds, 0)));
  }
}

/** `failed-precondition` / `insufficient_credits`: `required` credits, `available` on the account. */
export class InsufficientCredits extends CreditsError {
  readonly reason = "insufficient_credits" as const;
  readonly required: number;
  readonly available: number;
  constructor(message: string, details: Details = {}) {
    super(message, "failed-precondition", details);
    this.required = num(details.required, 0);
    this.available = num(details.available, 0);
  }
  /** How many credits are missing. */
  get shortfall(): number {
    return Math.max(0, this.required - this.available);
  }
}

/** `failed-precondition` / `invalid_transition`: the activity is `from` and cannot become `to`. */
export class InvalidTransition extends CreditsError {
  readonly reason = "invalid_transition" as const;
  readonly from: string;
  readonly to: string;
  constructor(message: string, details: Details = {}) {
    super(message, "failed-precondition", details);
    this.from = str(details.from, "");
    this.to = str(details.to, "");
  }
}

/** `failed-precondition` / `data_invalid`: a stored document is damaged; admins were notified. */
export class DataInvalid extends CreditsError {
  readonly reason = "data_invalid" as const;
  readonly document: string;
  constructor(message: string, details: Details = {}) {
    super(message, "failed-precondition", details);
    this.document = str(details.document, "");
  }
}

/**
 * `failed-precondition` / `config_invalid`: no valid configuration exists at all (never because
 * of a hand edit, which is checked and put back); admins were notified.
 */
export class ConfigInvalid extends CreditsError {
  readonly reason = "config_invalid" as const;
  constructor(message: string, details: Details = {}) {
    super(message, "failed-precondition", details);
  }
}

/** `failed-precondition` / `bucket_limit`: the user holds as many live grants as it may (`limit`). */
export class BucketLimit extends CreditsError {
  readonly reason = "bucket_limit" as const;
  constructor(message: string, details: Details = {}) {
    super(message, "failed-precondition", details);
  }
}

/** `failed-precondition` / `payments_disabled`: this deployment sells nothing (no Stripe secrets). */
export class PaymentsDisabled extends CreditsError {
  readonly reason = "payments_disabled" as const;
  constructor(message: string, details: Details = {}) {
    super(message, "failed-precondition", details);
  }
}

/** `not-found` / `not_found`. */
export class NotFound extends CreditsError {
  readonly reason = "not_found" as const;
  constructor(message: string, details: Details = {}) {
    super(message, "not-found", details);
  }
}

/** `aborted` / `contention`: nothing was written; the same request may be sent again. */
export class Contention extends CreditsError {
  readonly reason = "contention" as const;
  override readonly retryable = true;
  constructor(message: string, details: Details = {}) {
    super(message, "aborted", details);
  }
}

/** `unavailable` / `backend_unavailable`: nothing was written; the same request may be sent again. */
export class BackendUnavailable extends CreditsError {
  readonly reason = "backend_unavailable" as const;
  override readonly retryable = true;
  constructor(message: string, details: Details = {}) {
    super(message, "unavailable", details);
  }
}

/** `unauthenticated`: no ID token, or one the backend did not accept (sign in again). */
export class Unauthenticated extends CreditsError {
  readonly reason = "unauthenticated" as const;
  constructor(message: string, details: Details = {}) {
    super(message, "unauthenticated", details);
  }
}

/**
 * No answer from the backend: the network failed, the request timed out, or something between
 * the client and the function dropped it. The outcome is unknown, so only a request that is
 * safe to repeat (a charge with its `requestId`, a status read) is sent again.
 */
export class NetworkError extends CreditsError {
  readonly reason = "network" as const;
  override readonly retryable = true;
  constructor(message: string, code: CallableCode = "unavailable") {
    super(message, code, {});
  }
}

/** `internal`: the contract says this never happens; mapped so that a client still has a name for it. */
export class InternalError extends CreditsError {
  readonly reason = "internal" as const;
  constructor(message: string, code: CallableCode = "internal", details: Details = {}) {
    super(message, code, details);
  }
}

/** Every error a call can throw, discriminated by `reason`. */
export type CreditsFailure =
  | InvalidRequest
  | PromptRejected
  | AccountSuspended
  | IpBlocked
  | NotOwner
  | AdminRequired
  | NotAllowed
  | RateLimited
  | InsufficientCredits
  | InvalidTransition
  | DataInvalid
  | ConfigInvalid
  | BucketLimit
  | PaymentsDisabled
  | NotFound
  | Contention
  | BackendUnavailable
  | Unauthenticated
  | NetworkError
  | InternalError;

export type CreditsReason = CreditsFailure["reason"];

type Ctor = new (message: string, details?: Details) => CreditsFailure;

const BY_REASON: Record<string, Ctor> = {
  invalid_request: InvalidRequest,
  prompt_rejected: PromptRejected,
  account_suspended: AccountSuspended,
  ip_blocked: IpBlocked,
  not_owner: NotOwner,
  admin_required: AdminRequired,
  not_allowed: NotAllowed,
  rate_limited: RateLimited,
  insufficient_credits: InsufficientCredits,
  invalid_transition: InvalidTransition,
  data_invalid: DataInvalid,
  config_invalid: ConfigInvalid,
  bucket_limit: BucketLimit,
  payments_disabled: PaymentsDisabled,
  not_found: NotFound,
  contention: Contention,
  backend_unavailable: BackendUnavailable,
  unauthenticated: Unauthenticated,
};

/** When the backend sent no `details.reason`, the code alone decides. */
const BY_CODE: Record<string, Ctor> = {
  "invalid-argument": InvalidRequest,
  "not-found": NotFound,
  aborted: Contention,
  unavailable: BackendUnavailable,
  unauthenticated: Unauthenticated,
  "resource-exhausted": RateLimited,
};

/**
 * Turns anything a Firebase call threw into a {@link CreditsFailure}.
 *
 * The Functions SDK reports "no answer" (fetch failed: HTTP status 0; a proxy's bare 500; its
 * own timeout) as `internal` or `deadline-exceeded` with its default message and no details;
 * the backend's own errors always carry a message of their own. That difference is what
 * separates a {@link NetworkError} (outcome unknown) from a real answer.
 */
export function toCreditsError(err: unknown): CreditsFailure {
  if (err instanceof CreditsError) return err as CreditsFailure;
  const e = (err ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
  const code = typeof e.code === "string" ? e.code.replace(/^functions\//, "") : "";
  const message = typeof e.message === "string" ? e.message : String(err);
  const details: Details = isRecord(e.details) ? e.details : {};
  const reason = typeof details.reason === "string" ? details.reason : undefined;
  if (reason && BY_REASON[reason]) return new BY_REASON[reason](message, details);
  if (!code) return new NetworkError(message); // a fetch/TypeError thrown before any answer
  if (code === "deadline-exceeded" || code === "cancelled") return new NetworkError(message, code);
  if (code === "internal" && details.reason === undefined && /^internal \[\d+\]$/.test(message)) {
    return new NetworkError(message, code);
  }
  if (code === "permission-denied") {
    // An admin callable refused by the SDK itself carries no reason; the backend always sends one.
    return new NotAllowed(message, details);
  }
  const ctor = BY_CODE[code];
  return ctor ? new ctor(message, details) : new InternalError(message, code, details);
}

function isRecord(v: unknown): v is Details {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function num(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) ? v : fallback;
}
function str(v: unknown, fallback: string): string {
  return typeof v === "string" ? v : fallback;
}
