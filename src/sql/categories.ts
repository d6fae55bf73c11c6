// Category order and the name tables that decide categories: which statements, functions and settings are how sensitive.
import { CATEGORIES, type Category } from './types.js';

/** Bit per category, in CATEGORIES order (read=1 … privileged=32, unknown=64): a statement's categories are one number while walking. */
export const CategoryBit = {
  read: 1,
  write: 2,
  export: 4,
  ddl: 8,
  grant: 16,
  privileged: 32,
  unknown: 64,
} as const satisfies Record<Category, number>;
export type CategoryBit = (typeof CategoryBit)[keyof typeof CategoryBit];

/** Frozen category arrays for every bit mask, built once so facts share them instead of allocating. */
const MASK_TO_LIST: readonly (readonly Category[])[] = Array.from({ length: 128 }, (_, mask) =>
  Object.freeze(CATEGORIES.filter((c) => (mask & CategoryBit[c]) !== 0)),
);

export function categoriesFromMask(mask: number): readonly Category[] {
  return MASK_TO_LIST[mask & 127] ?? MASK_TO_LIST[CategoryBit.unknown]!;
}

export function maskFromCategories(categories: readonly Category[]): number {
  let mask = 0;
  for (const c of categories) mask |= CategoryBit[c];
  return mask;
}

/** Rank of a category: read 0 … privileged 5; `unknown` ranks above all because it fails closed. */
export function categoryRank(category: Category): number {
  return CATEGORIES.indexOf(category);
}

/** The most sensitive category of a list (`unknown` wins: it fails closed); `read` for an empty list. */
export function strictestCategory(categories: readonly Category[]): Category {
  let best: Category = 'read';
  for (const c of categories) if (categoryRank(c) > categoryRank(best)) best = c;
  return best;
}

/** Deduplicate and sort categories into CATEGORIES order. */
export function sortCategories(categories: Iterable<Category>): readonly Category[] {
  let mask = 0;
  for (const c of categories) mask |= CategoryBit[c];
  return categoriesFromMask(mask);
}

/** True when `a` is at least as sensitive as `b`. */
export function isAtLeast(a: Category, b: Category): boolean {
  return categoryRank(a) >= categoryRank(b);
}

const R = CategoryBit.read;
const W = CategoryBit.write;
const D = CategoryBit.ddl;
const G = CategoryBit.grant;
const P = CategoryBit.privileged;

/**
 * Category of each statement node type by itself (nested parts add their own). A top-level node type
 * missing here is `unknown`: a parser upgrade that adds statements fails closed until it is classified.
 * Statements whose category depends on their fields (COPY, EXPLAIN, SET, VACUUM, DO, …) are handled in walk.ts
 * and listed here with their base category.
 */
export const STATEMENT_CATEGORY: Readonly<Record<string, number>> = Object.freeze({
  // read
  SelectStmt: R, VariableShowStmt: R, TransactionStmt: R, VariableSetStmt: R, DiscardStmt: R,
  ListenStmt: R, UnlistenStmt: R, DeclareCursorStmt: R, FetchStmt: R, ClosePortalStmt: R,
  DeallocateStmt: R, ConstraintsSetStmt: R, ExplainStmt: R, PrepareStmt: R, DoStmt: R, ReturnStmt: R,
  PLAssignStmt: R,
  // write
  InsertStmt: W, UpdateStmt: W, DeleteStmt: W, MergeStmt: W, LockStmt: W, CallStmt: W,
  // NOTIFY is a side effect other sessions act on (job queues, cache invalidation): write, not read.
  NotifyStmt: W,
  CopyStmt: 0, VacuumStmt: 0,
  // ExecuteStmt: its own parameters only; analyze() adds the prepared statement's facts, or `write` when the session does not know the name.
  ExecuteStmt: R,
  // ddl
  CreateStmt: D, CreateTableAsStmt: D, ViewStmt: D, IndexStmt: D, AlterTableStmt: D, AlterTableMoveAllStmt: D,
  DropStmt: D, TruncateStmt: D, CommentStmt: D, RenameStmt: D, AlterObjectSchemaStmt: D,
  AlterObjectDependsStmt: D, RuleStmt: D, CreateTrigStmt: D, CreateFunctionStmt: D, AlterFunctionStmt: D,
  CreateSeqStmt: D, AlterSeqStmt: D, CreateDomainStmt: D, AlterDomainStmt: D, DefineStmt: D,
  CompositeTypeStmt: D, CreateEnumStmt: D, AlterEnumStmt: D, CreateRangeStmt: D, AlterTypeStmt: D,
  CreateCastStmt: D, CreateConversionStmt: D, CreateOpClassStmt: D, CreateOpFamilyStmt: D,
  AlterOpFamilyStmt: D, AlterOperatorStmt: D, AlterCollationStmt: D, CreateStatsStmt: D, AlterStatsStmt: D,
  AlterTSDictionaryStmt: D, AlterTSConfigurationStmt: D, CreateTransformStmt: D, CreatePublicationStmt: D,
  AlterPublicationStmt: D, CreatedbStmt: D, DropdbStmt: D, AlterDatabaseStmt: D, AlterDatabaseSetStmt: D,
  AlterDatabaseRefreshCollStmt: D, CreateSchemaStmt: D, ReindexStmt: D, ClusterStmt: D,
  RefreshMatViewStmt: D, CreateForeignTableStmt: D | P, AlterDefaultPrivilegesStmt: G,
  // grant
  GrantStmt: G, GrantRoleStmt: G, CreateRoleStmt: G, AlterRoleStmt: G, AlterRoleSetStmt: G, DropRoleStmt: G,
  AlterOwnerStmt: G, ReassignOwnedStmt: G, DropOwnedStmt: G, CreatePolicyStmt: G, AlterPolicyStmt: G,
  SecLabelStmt: G,
  // privileged: server-side code, files, external connections, cluster-wide settings
  AlterSystemStmt: P, LoadStmt: P, CheckPointStmt: P, CreateExtensionStmt: P, AlterExtensionStmt: P,
  AlterExtensionContentsStmt: P, CreatePLangStmt: P, CreateFdwStmt: P, AlterFdwStmt: P,
  CreateForeignServerStmt: P, AlterForeignServerStmt: P, CreateUserMappingStmt: P, AlterUserMappingStmt: P,
  DropUserMappingStmt: P, ImportForeignSchemaStmt: P, CreateEventTrigStmt: P, AlterEventTrigStmt: P,
  CreateTableSpaceStmt: P, DropTableSpaceStmt: P, AlterTableSpaceOptionsStmt: P, CreateSubscriptionStmt: P,
  AlterSubscriptionStmt: P, DropSubscriptionStmt: P, CreateAmStmt: P,
});

/** DROP of these object types is privileged (they are server-level or external-connection objects). */
export const PRIVILEGED_DROP_TYPES: ReadonlySet<string> = new Set([
  'OBJECT_EXTENSION', 'OBJECT_FOREIGN_SERVER', 'OBJECT_FDW', 'OBJECT_EVENT_TRIGGER', 'OBJECT_TABLESPACE',
  'OBJECT_LANGUAGE', 'OBJECT_ACCESS_METHOD', 'OBJECT_SUBSCRIPTION', 'OBJECT_FOREIGN_TABLE',
]);

/** DROP of these object types changes who may do what. */
export const GRANT_DROP_TYPES: ReadonlySet<string> = new Set(['OBJECT_POLICY']);

/** ALTER TABLE sub-commands that change ownership or row-level security. */
export const GRANT_ALTER_TABLE_CMDS: ReadonlySet<string> = new Set([
  'AT_ChangeOwner', 'AT_EnableRowSecurity', 'AT_DisableRowSecurity', 'AT_ForceRowSecurity', 'AT_NoForceRowSecurity',
]);

/**
 * Server file, large-object-file, replication and process-control functions (matched on the last
 * name part, lowercased, whatever the schema or quoting). Source: PostgreSQL 15 "System
 * Administration Functions" (§9.27) and adminpack.
 */
export const PRIVILEGED_FUNCTIONS: ReadonlySet<string> = new Set([
  'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'pg_ls_logdir', 'pg_ls_waldir',
  'pg_ls_tmpdir', 'pg_ls_archive_statusdir', 'pg_ls_logicalsnapdir', 'pg_ls_logicalmapdir',
  'pg_ls_replslotdir', 'pg_ls_summariesdir', 'pg_file_write', 'pg_file_rename', 'pg_file_unlink',
  'pg_file_sync', 'pg_logdir_ls', 'lo_import', 'lo_export', 'pg_terminate_backend', 'pg_cancel_backend',
  'pg_signal_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_rotate_logfile_old', 'pg_promote',
  'pg_switch_wal', 'pg_switch_xlog', 'pg_create_restore_point', 'pg_start_backup', 'pg_stop_backup',
  'pg_backup_start', 'pg_backup_stop', 'pg_create_physical_replication_slot',
  'pg_create_logical_replication_slot', 'pg_drop_replication_slot', 'pg_copy_physical_replication_slot',
  'pg_copy_logical_replication_slot', 'pg_logical_slot_get_changes', 'pg_logical_slot_peek_changes',
  'pg_logical_slot_get_binary_changes', 'pg_logical_slot_peek_binary_changes', 'pg_replication_slot_advance',
  'pg_logical_emit_message', 'pg_sync_replication_slots', 'pg_wal_replay_pause', 'pg_wal_replay_resume',
  'pg_xlog_replay_pause', 'pg_xlog_replay_resume', 'pg_log_backend_memory_contexts',
  'pg_import_system_collations', 'pg_stat_statements_reset', 'pg_current_logfile', 'xpath_table',
  'pg_truncate_visibility_map',
]);

/** Prefixes of privileged function families (dblink_connect, dblink_exec, pg_replication_origin_*, …). */
export const PRIVILEGED_FUNCTION_PREFIXES: readonly string[] = [
  'dblink', 'pg_replication_origin_', 'pg_stat_reset', 'binary_upgrade_',
];

/** Functions that export whole results as a document (DESIGN: export). */
export const EXPORT_FUNCTIONS: ReadonlySet<string> = new Set([
  'query_to_xml', 'query_to_xmlschema', 'query_to_xml_and_xmlschema',
  'table_to_xml', 'table_to_xmlschema', 'table_to_xml_and_xmlschema',
  'cursor_to_xml', 'cursor_to_xmlschema',
  'schema_to_xml', 'schema_to_xmlschema', 'schema_to_xml_and_xmlschema',
  'database_to_xml', 'database_to_xmlschema', 'database_to_xml_and_xmlschema',
]);

/**
 * Functions that run a query given as a string argument. A literal argument is parsed and its facts
 * merged; anything else is dynamic SQL (privileged).
 */
export const QUERY_STRING_FUNCTIONS: ReadonlyMap<string, readonly number[]> = new Map([
  ['query_to_xml', [0]], ['query_to_xmlschema', [0]], ['query_to_xml_and_xmlschema', [0]],
  ['ts_stat', [0]], ['ts_rewrite', [1]],
  // tablefunc: crosstab(source_sql [, category_sql])
  ['crosstab', [0, 1]], ['crosstab2', [0]], ['crosstab3', [0]], ['crosstab4', [0]],
]);

/**
 * System catalogs only a superuser may write (pg_settings writes are set_config in disguise) or read
 * (password hashes, every large object's bytes, column statistics with real values, auth files).
 */
export const PROTECTED_CATALOGS: ReadonlySet<string> = new Set([
  'pg_authid', 'pg_shadow', 'pg_largeobject', 'pg_statistic', 'pg_statistic_ext_data', 'pg_user_mapping', 'pg_hba_file_rules',
  'pg_ident_file_mappings', 'pg_file_settings',
]);

/** Functions that change data or server state (sequences, large objects, notifications). */
export const WRITE_FUNCTIONS: ReadonlySet<string> = new Set([
  'nextval', 'setval', 'lo_create', 'lo_creat', 'lo_unlink', 'lo_put', 'lo_from_bytea', 'lowrite',
  'lo_truncate', 'lo_truncate64', 'pg_notify',
]);

/** Settings whose change is role-switching (SET ROLE, set_config('role', …)). */
export const GRANT_SETTINGS: ReadonlySet<string> = new Set(['role', 'session_authorization']);

/**
 * Settings only a superuser may change that weaken the server's own safety or audit trail
 * (replication role disables triggers and FKs, preload libraries load code, log_* hides activity).
 */
export const PRIVILEGED_SETTINGS: ReadonlySet<string> = new Set([
  'session_replication_role', 'session_preload_libraries', 'local_preload_libraries',
  'shared_preload_libraries', 'dynamic_library_path', 'allow_system_table_mods', 'lo_compat_privileges',
  'zero_damaged_pages', 'ignore_checksum_failure', 'ignore_system_indexes', 'allow_in_place_tablespaces',
  'jit_provider', 'wal_consistency_checking', 'data_sync_retry',
]);
export const PRIVILEGED_SETTING_PREFIXES: readonly string[] = ['log_', 'debug_', 'trace_'];

/** Aggregates that make a SELECT without GROUP BY return one row (for `bounded`). */
export const AGGREGATE_FUNCTIONS: ReadonlySet<string> = new Set([
  'count', 'sum', 'avg', 'min', 'max', 'bool_and', 'bool_or', 'every', 'array_agg', 'string_agg',
  'json_agg', 'jsonb_agg', 'json_object_agg', 'jsonb_object_agg', 'xmlagg', 'stddev', 'stddev_pop',
  'stddev_samp', 'variance', 'var_pop', 'var_samp', 'bit_and', 'bit_or', 'bit_xor', 'corr', 'covar_pop',
  'covar_samp', 'percentile_cont', 'percentile_disc', 'mode', 'range_agg', 'range_intersect_agg',
]);

/** Procedural languages whose bodies pgwarden reads; any other language is opaque server code (privileged). */
export const READABLE_LANGUAGES: ReadonlySet<string> = new Set(['sql', 'plpgsql']);

export function isPrivilegedFunction(name: string): boolean {
  if (PRIVILEGED_FUNCTIONS.has(name)) return true;
  for (const p of PRIVILEGED_FUNCTION_PREFIXES) if (name.startsWith(p)) return true;
  return false;
}

export function isPrivilegedSetting(name: string): boolean {
  if (PRIVILEGED_SETTINGS.has(name)) return true;
  for (const p of PRIVILEGED_SETTING_PREFIXES) if (name.startsWith(p)) return true;
  return false;
}
