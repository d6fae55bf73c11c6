// Category order and the name tables that decide categories: which statements, functions and settings are how sensitive.
import {
  INTERNALLY_RESTRICTED_FUNCTIONS, OTHER_VERSION_FUNCTIONS, PRIVILEGED_FUNCTION_PREFIXES, PROTECTED_CATALOGS,
  PRIVILEGED_ROLE_OPTIONS, PRIVILEGED_ROLES, PROTECTED_INFORMATION_SCHEMA, READ_PROTECTED_SETTINGS,
  SERVER_RESTRICTED_FUNCTIONS, SUPERUSER_SETTINGS,
} from './privileged-functions.js';
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

/** Privileged functions by exact name (privileged-functions.ts says where each list comes from). */
export const PRIVILEGED_FUNCTIONS: ReadonlySet<string> = new Set([
  ...SERVER_RESTRICTED_FUNCTIONS, ...INTERNALLY_RESTRICTED_FUNCTIONS, ...OTHER_VERSION_FUNCTIONS,
]);

export {
  PRIVILEGED_FUNCTION_PREFIXES, PRIVILEGED_ROLE_OPTIONS, PRIVILEGED_ROLES, PROTECTED_CATALOGS, PROTECTED_INFORMATION_SCHEMA,
  READ_PROTECTED_SETTINGS,
};

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

/**
 * Aggregates that make a SELECT without GROUP BY return one small row (for `bounded`). Aggregates that collect their
 * whole input into one value are not here: one row of `string_agg(ssn, ',')` holds the whole table.
 */
export const AGGREGATE_FUNCTIONS: ReadonlySet<string> = new Set([
  'count', 'sum', 'avg', 'min', 'max', 'bool_and', 'bool_or', 'every', 'stddev', 'stddev_pop',
  'stddev_samp', 'variance', 'var_pop', 'var_samp', 'bit_and', 'bit_or', 'bit_xor', 'corr', 'covar_pop',
  'covar_samp', 'percentile_cont', 'percentile_disc', 'mode', 'range_intersect_agg',
]);

/**
 * Aggregates that gather every input row into one value (arrays, strings, JSON, XML documents, multiranges): an
 * export of their input wherever they appear, unless that input is statically bounded. PostgreSQL 15 names plus the
 * PostgreSQL 16+ strict/unique JSON variants (the parser knows them; a newer server would run them).
 */
export const COLLECTING_AGGREGATES: ReadonlySet<string> = new Set([
  'array_agg', 'string_agg', 'json_agg', 'jsonb_agg', 'json_object_agg', 'jsonb_object_agg', 'xmlagg', 'range_agg',
  'json_agg_strict', 'jsonb_agg_strict', 'json_object_agg_strict', 'jsonb_object_agg_strict',
  'json_object_agg_unique', 'jsonb_object_agg_unique', 'json_object_agg_unique_strict',
  'jsonb_object_agg_unique_strict', 'json_arrayagg', 'json_objectagg',
]);

/**
 * Functions a whole row can be passed to by field notation (`c.row_to_json` is `row_to_json(c)` when `c` has no such
 * column): one argument of type record/any* (the rest defaulted or variadic). PostgreSQL 15's pg_proc, checked by
 * test/security/sql-exports.test.ts. `c.<one of these>` reads every column of `c`.
 */
export const ROW_ARGUMENT_FUNCTIONS: ReadonlySet<string> = new Set([
  'any_out', 'anycompatible_out', 'anycompatiblenonarray_out', 'anyelement_out', 'anynonarray_out', 'array_agg',
  'concat', 'count', 'cume_dist', 'dense_rank', 'first_value', 'hash_record', 'json_agg', 'json_build_array',
  'json_build_object', 'jsonb_agg', 'jsonb_build_array', 'jsonb_build_object', 'lag', 'last_value', 'lead', 'mode',
  'num_nonnulls', 'num_nulls', 'percent_rank', 'pg_collation_for', 'pg_column_compression', 'pg_column_size',
  'pg_typeof', 'quote_literal', 'quote_nullable', 'rank', 'record_out', 'record_send', 'row_to_json', 'to_json', 'to_jsonb',
]);

/** Export functions that name the relation they read as an argument (`table_to_xml('customers', …)`): index of that argument. */
export const RELATION_ARGUMENT_FUNCTIONS: ReadonlyMap<string, number> = new Map([
  ['table_to_xml', 0], ['table_to_xmlschema', 0], ['table_to_xml_and_xmlschema', 0],
]);

/** Export functions whose first argument names a schema: they read every table in it. */
export const SCHEMA_ARGUMENT_FUNCTIONS: ReadonlySet<string> = new Set([
  'schema_to_xml', 'schema_to_xmlschema', 'schema_to_xml_and_xmlschema',
]);

/** Export functions that read every table of the database. */
export const WHOLE_DATABASE_FUNCTIONS: ReadonlySet<string> = new Set([
  'database_to_xml', 'database_to_xmlschema', 'database_to_xml_and_xmlschema',
]);

/** Procedural languages whose bodies pgwarden reads; any other language is opaque server code (privileged). */
export const READABLE_LANGUAGES: ReadonlySet<string> = new Set(['sql', 'plpgsql']);

export function isPrivilegedFunction(name: string): boolean {
  if (PRIVILEGED_FUNCTIONS.has(name)) return true;
  for (const p of PRIVILEGED_FUNCTION_PREFIXES) if (name.startsWith(p)) return true;
  return false;
}

export function isPrivilegedSetting(name: string): boolean {
  if (PRIVILEGED_SETTINGS.has(name) || SUPERUSER_SETTINGS.has(name)) return true;
  for (const p of PRIVILEGED_SETTING_PREFIXES) if (name.startsWith(p)) return true;
  return false;
}
