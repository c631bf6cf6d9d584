/**
 * The admin side of the client library (`@credit-backend/client/admin`): the admin callables,
 * the bounded live queries of the dashboard, and their pure helpers. Kept out of the main entry
 * so that an end-user app never ships them; this entry re-exports the main one, so an admin
 * page imports from here alone.
 */
export * from "./index.js";
export * from "./admin-types.js";
export {
  CreditsAdmin,
  hasAdminClaim,
  millisOf,
  toAdminActivity,
  toAbuseRecord,
  toAdminUser,
  toNotification,
  toAuditEntry,
  toConfiguration,
  CHANGE_ACTIONS,
  CONFIGURATION_ACTIONS,
  ADMIN_ONLY_READS,
  type AdminOnlyRead,
  type AccessResult,
  type LiveOptions,
} from "./admin.js";
export * from "./admin-logic.js";
export * from "./payments-admin.js";
