// The server functions and catalogs only a superuser or a privileged built-in role may use: calling or reading one is `privileged`.
//
// Two sources, each kept honest by test/security/sql-privileged-catalog.test.ts against a real PostgreSQL 15 with every
// contrib extension installed:
// 1. what the server itself restricts by ACL — generated with
//      SELECT DISTINCT proname FROM pg_proc WHERE NOT has_function_privilege('public', oid, 'EXECUTE')
//    (the test fails when the server restricts a function this list does not name);
// 2. functions PUBLIC may call that check superuser, REPLICATION or pg_signal_backend membership in their C code, and
//    functions that build and run SQL from their text arguments (curated; the test checks every name exists).
// Names are matched on the last name part, lowercased, whatever the schema or quoting (a user function of the same
// name is refused too: failing closed on a name clash is the price of not knowing the search_path).

/** PostgreSQL 15.18 core + contrib: EXECUTE revoked from PUBLIC (server files, config/auth files, WAL, backups, stats resets, …). */
export const SERVER_RESTRICTED_FUNCTIONS: readonly string[] = [
  // core (pg_catalog)
  'lo_export', 'lo_import', 'pg_backup_start', 'pg_backup_stop', 'pg_config', 'pg_create_restore_point',
  'pg_current_logfile', 'pg_get_backend_memory_contexts', 'pg_get_shmem_allocations', 'pg_hba_file_rules',
  'pg_ident_file_mappings', 'pg_log_backend_memory_contexts', 'pg_ls_archive_statusdir', 'pg_ls_dir', 'pg_ls_logdir',
  'pg_ls_logicalmapdir', 'pg_ls_logicalsnapdir', 'pg_ls_replslotdir', 'pg_ls_tmpdir', 'pg_ls_waldir', 'pg_promote',
  'pg_read_binary_file', 'pg_read_file', 'pg_reload_conf', 'pg_replication_origin_advance', 'pg_replication_origin_create',
  'pg_replication_origin_drop', 'pg_replication_origin_oid', 'pg_replication_origin_progress',
  'pg_replication_origin_session_is_setup', 'pg_replication_origin_session_progress', 'pg_replication_origin_session_reset',
  'pg_replication_origin_session_setup', 'pg_replication_origin_xact_reset', 'pg_replication_origin_xact_setup',
  'pg_rotate_logfile', 'pg_show_all_file_settings', 'pg_show_replication_origin_status', 'pg_stat_file',
  'pg_stat_have_stats', 'pg_stat_reset', 'pg_stat_reset_replication_slot', 'pg_stat_reset_shared',
  'pg_stat_reset_single_function_counters', 'pg_stat_reset_single_table_counters', 'pg_stat_reset_slru',
  'pg_stat_reset_subscription_stats', 'pg_switch_wal', 'pg_wal_replay_pause', 'pg_wal_replay_resume',
  // adminpack
  'pg_file_rename', 'pg_file_sync', 'pg_file_unlink', 'pg_file_write', 'pg_logdir_ls',
  // amcheck, dblink, pg_surgery, pg_buffercache, pg_visibility, pg_freespacemap, pg_walinspect, pgstattuple, pg_stat_statements
  'bt_index_check', 'bt_index_parent_check', 'verify_heapam', 'dblink_connect_u', 'heap_force_freeze', 'heap_force_kill',
  'pg_buffercache_pages', 'pg_check_frozen', 'pg_check_visible', 'pg_truncate_visibility_map', 'pg_visibility',
  'pg_visibility_map', 'pg_visibility_map_summary', 'pg_freespace', 'pg_get_wal_record_info', 'pg_get_wal_records_info',
  'pg_get_wal_records_info_till_end_of_wal', 'pg_get_wal_stats', 'pg_get_wal_stats_till_end_of_wal', 'pg_relpages',
  'pgstatginindex', 'pgstathashindex', 'pgstatindex', 'pgstattuple', 'pgstattuple_approx', 'pg_stat_statements_reset',
];

/**
 * Callable by PUBLIC, refused inside unless the caller is a superuser, has REPLICATION, or is a member of
 * pg_signal_backend (PostgreSQL 15 C sources), or runs SQL it builds from text arguments.
 */
export const INTERNALLY_RESTRICTED_FUNCTIONS: readonly string[] = [
  // pg_signal_backend (or same role): ends or interrupts other sessions
  'pg_terminate_backend', 'pg_cancel_backend',
  // REPLICATION attribute (CheckSlotPermissions): replication slots read every change in the database
  'pg_create_physical_replication_slot', 'pg_create_logical_replication_slot', 'pg_drop_replication_slot',
  'pg_copy_physical_replication_slot', 'pg_copy_logical_replication_slot', 'pg_logical_slot_get_changes',
  'pg_logical_slot_peek_changes', 'pg_logical_slot_get_binary_changes', 'pg_logical_slot_peek_binary_changes',
  'pg_replication_slot_advance', 'pg_logical_emit_message',
  // superuser only
  'pg_nextoid', 'pg_stop_making_pinned_objects', 'pg_import_system_collations',
  // pageinspect: raw pages of any relation, superuser only
  'get_raw_page', 'page_header', 'page_checksum', 'heap_page_items', 'heap_page_item_attrs', 'tuple_data_split',
  'heap_tuple_infomask_flags', 'bt_metap', 'bt_page_stats', 'bt_page_items', 'brin_page_type', 'brin_metapage_info',
  'brin_revmap_data', 'brin_page_items', 'gin_metapage_info', 'gin_page_opaque_info', 'gin_leafpage_items',
  'gist_page_opaque_info', 'gist_page_items', 'gist_page_items_bytea', 'hash_page_type', 'hash_page_stats',
  'hash_page_items', 'hash_bitmap_info', 'hash_metapage_info', 'fsm_page_contents',
  // adminpack's old log rotation (superuser only)
  'pg_rotate_logfile_old',
  // pg_prewarm background workers
  'autoprewarm_start_worker', 'autoprewarm_dump_now',
  // build SQL from text arguments and run it (dynamic SQL): xml2's xpath_table, tablefunc's connectby
  'xpath_table', 'connectby',
];

/** Names from other PostgreSQL versions (older or newer than 15) with the same meaning: a server upgrade must not open them. */
export const OTHER_VERSION_FUNCTIONS: readonly string[] = [
  'pg_start_backup', 'pg_stop_backup', 'pg_switch_xlog', 'pg_xlog_replay_pause', 'pg_xlog_replay_resume',
  'pg_ls_summariesdir', 'pg_sync_replication_slots', 'bt_multi_page_stats',
];

/** Families matched by prefix: every dblink function opens connections from the server; the rest are revoked families. */
export const PRIVILEGED_FUNCTION_PREFIXES: readonly string[] = [
  'dblink', 'pg_replication_origin_', 'pg_stat_reset', 'binary_upgrade_', 'pg_ls_', 'pg_file_', 'pg_read_',
];

/**
 * Relations only a superuser (or pg_read_all_settings / pg_monitor) may read, whole or some column: PostgreSQL 15's
 * `SELECT relname FROM pg_class WHERE relnamespace = 'pg_catalog'::regnamespace AND (NOT has_table_privilege('public',
 * oid, 'SELECT') OR <any column NOT has_column_privilege('public', …)>)` — password hashes, large objects, column
 * statistics with real values, auth and config files, subscription connection strings, server memory.
 */
export const PROTECTED_CATALOGS: ReadonlySet<string> = new Set([
  'pg_authid', 'pg_backend_memory_contexts', 'pg_config', 'pg_file_settings', 'pg_hba_file_rules',
  'pg_ident_file_mappings', 'pg_largeobject', 'pg_replication_origin_status', 'pg_shadow', 'pg_shmem_allocations',
  'pg_statistic', 'pg_statistic_ext_data', 'pg_subscription', 'pg_user_mapping',
  // Readable by PUBLIC, but a superuser sees every user mapping's options in it: passwords.
  'pg_user_mappings',
]);

/**
 * information_schema relations PUBLIC may not read (the same ACL query for schema information_schema), and
 * user_mapping_options, which shows a superuser every mapping's password. Matched when qualified with information_schema
 * (it is not on the default search_path); the user-mapping ones also unqualified.
 */
export const PROTECTED_INFORMATION_SCHEMA: ReadonlySet<string> = new Set([
  '_pg_foreign_data_wrappers', '_pg_foreign_servers', '_pg_foreign_table_columns', '_pg_foreign_tables',
  '_pg_user_mappings', 'sql_parts', 'transforms', 'user_mapping_options',
]);

/**
 * Predefined roles that hand out server-file, program, signal, all-data or monitoring powers (PostgreSQL 15's roles
 * with oid < 16384, except pg_database_owner, which cannot be granted), and `postgres`, the usual bootstrap superuser.
 * GRANTing one is privileged, not only a grant.
 */
export const PRIVILEGED_ROLES: ReadonlySet<string> = new Set([
  'pg_checkpoint', 'pg_execute_server_program', 'pg_monitor', 'pg_read_all_data', 'pg_read_all_settings',
  'pg_read_all_stats', 'pg_read_server_files', 'pg_signal_backend', 'pg_stat_scan_tables', 'pg_write_all_data',
  'pg_write_server_files', 'postgres',
]);

/** Role attributes that bypass every check (CREATE/ALTER ROLE … SUPERUSER, REPLICATION, BYPASSRLS): privileged. */
export const PRIVILEGED_ROLE_OPTIONS: ReadonlySet<string> = new Set(['superuser', 'isreplication', 'bypassrls']);

/**
 * Settings only superusers and pg_read_all_settings may read (SHOW, current_setting): server paths, key files, the
 * replication connection string with its password. PostgreSQL 15: the names in pg_settings for a superuser that a plain
 * login role does not see (the test compares the two on the real server).
 */
export const READ_PROTECTED_SETTINGS: ReadonlySet<string> = new Set([
  'config_file', 'data_directory', 'dynamic_library_path', 'extension_destdir', 'external_pid_file', 'hba_file',
  'ident_file', 'jit_provider', 'krb_server_keyfile', 'log_directory', 'log_filename', 'primary_conninfo',
  'session_preload_libraries', 'shared_preload_libraries', 'ssl_ciphers', 'ssl_dh_params_file', 'ssl_ecdh_curve',
  'ssl_max_protocol_version', 'ssl_min_protocol_version', 'ssl_passphrase_command', 'unix_socket_directories',
]);

/**
 * Settings only a superuser may change (PostgreSQL 15 `pg_settings.context` 'superuser' or 'superuser-backend'):
 * changing one is a superuser power — hiding activity (log_*, track_*), weakening checks (zero_damaged_pages,
 * lo_compat_privileges, session_replication_role), loading code (session_preload_libraries). SET, set_config and
 * ALTER … SET of them are privileged; the test compares this list with the server's.
 */
export const SUPERUSER_SETTINGS: ReadonlySet<string> = new Set([
  'allow_in_place_tablespaces', 'allow_system_table_mods', 'backtrace_functions', 'commit_delay', 'compute_query_id',
  'deadlock_timeout', 'debug_discard_caches', 'dynamic_library_path', 'extension_destdir', 'ignore_checksum_failure',
  'jit_dump_bitcode', 'lc_messages', 'lo_compat_privileges', 'log_duration', 'log_error_verbosity', 'log_executor_stats',
  'log_lock_waits', 'log_min_duration_sample', 'log_min_duration_statement', 'log_min_error_statement', 'log_min_messages',
  'log_parameter_max_length', 'log_parser_stats', 'log_planner_stats', 'log_replication_commands', 'log_statement',
  'log_statement_sample_rate', 'log_statement_stats', 'log_temp_files', 'log_transaction_sample_rate', 'max_stack_depth',
  'session_preload_libraries', 'session_replication_role', 'temp_file_limit', 'track_activities', 'track_counts',
  'track_functions', 'track_io_timing', 'track_wal_io_timing', 'update_process_title', 'wal_compression',
  'wal_consistency_checking', 'wal_init_zero', 'wal_recycle', 'zero_damaged_pages', 'jit_debugging_support',
  'jit_profiling_support', 'log_connections', 'log_disconnections',
  // extensions' superuser settings (plpgsql is always installed)
  'plpgsql.variable_conflict',
]);
