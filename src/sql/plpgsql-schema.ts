// The allow-list of PL/pgSQL tree node types and fields (libpg-query's parsePlPgSQL JSON) and what each field holds.
//
// The walk in plpgsql.ts reads a function body only through this table: a node type or field not listed here, or a
// value of another JSON type than listed, makes the whole body opaque (privileged). A libpg-query upgrade that adds a
// statement type or a field that holds code therefore fails closed until it is classified here.
// Source: libpg_query src/pg_query_json_plpgsql.c (dump_* functions), checked against every PL/pgSQL body of
// PostgreSQL 15's regression suite (test/unit/sql/plpgsql.test.ts).

/**
 * What a field holds:
 * - `int`, `bool`: numbers (line numbers, datum numbers, enum codes) and flags; no code.
 * - `name`: text that is not SQL (variable and label names, RAISE format strings, condition names, GET DIAGNOSTICS
 *   items, type names — a PL/pgSQL type name is resolved, never executed).
 * - `expr`: one PLpgSQL_expr (SQL text the server parses and runs); `exprs`: a list of them.
 * - `node`: one wrapped node of a listed type; `nodes`: a list of them.
 * - `rowFields`: PLpgSQL_row's field list (`{name, varno}` or null entries).
 */
export type PlFieldKind = 'int' | 'bool' | 'name' | 'expr' | 'exprs' | 'node' | 'nodes' | 'rowFields';

const LINENO = { lineno: 'int' } as const;
const LABELLED = { lineno: 'int', label: 'name' } as const;

export const PLPGSQL_NODES: Readonly<Record<string, Readonly<Record<string, PlFieldKind>>>> = Object.freeze({
  PLpgSQL_function: { new_varno: 'int', old_varno: 'int', out_param_varno: 'int', datums: 'nodes', aliases: 'nodes', action: 'node' },
  // Datums
  PLpgSQL_var: {
    refname: 'name', lineno: 'int', datatype: 'node', isconst: 'bool', notnull: 'bool', default_val: 'expr',
    cursor_explicit_expr: 'expr', cursor_explicit_argrow: 'int', cursor_options: 'int',
  },
  PLpgSQL_row: { refname: 'name', lineno: 'int', fields: 'rowFields' },
  PLpgSQL_rec: { refname: 'name', dno: 'int', lineno: 'int', datatype: 'node' },
  PLpgSQL_recfield: { fieldname: 'name', recparentno: 'int' },
  PLpgSQL_alias: { name: 'name', varno: 'int', lineno: 'int' },
  PLpgSQL_type: { typname: 'name' },
  // Statements
  PLpgSQL_stmt_block: { ...LABELLED, body: 'nodes', exceptions: 'node' },
  PLpgSQL_exception_block: { exc_list: 'nodes' },
  PLpgSQL_exception: { conditions: 'nodes', action: 'nodes' },
  PLpgSQL_condition: { condname: 'name' },
  PLpgSQL_stmt_assign: { ...LINENO, varno: 'int', expr: 'expr' },
  PLpgSQL_stmt_if: { ...LINENO, cond: 'expr', then_body: 'nodes', elsif_list: 'nodes', else_body: 'nodes' },
  PLpgSQL_if_elsif: { ...LINENO, cond: 'expr', stmts: 'nodes' },
  PLpgSQL_stmt_case: { ...LINENO, t_expr: 'expr', t_varno: 'int', case_when_list: 'nodes', have_else: 'bool', else_stmts: 'nodes' },
  PLpgSQL_case_when: { ...LINENO, expr: 'expr', stmts: 'nodes' },
  PLpgSQL_stmt_loop: { ...LABELLED, body: 'nodes' },
  PLpgSQL_stmt_while: { ...LABELLED, cond: 'expr', body: 'nodes' },
  PLpgSQL_stmt_fori: { ...LABELLED, var: 'node', lower: 'expr', upper: 'expr', step: 'expr', reverse: 'bool', body: 'nodes' },
  PLpgSQL_stmt_fors: { ...LABELLED, var: 'node', body: 'nodes', query: 'expr' },
  PLpgSQL_stmt_forc: { ...LABELLED, var: 'node', body: 'nodes', curvar: 'int', argquery: 'expr' },
  PLpgSQL_stmt_foreach_a: { ...LABELLED, varno: 'int', slice: 'int', expr: 'expr', body: 'nodes' },
  PLpgSQL_stmt_exit: { ...LINENO, is_exit: 'bool', label: 'name', cond: 'expr' },
  PLpgSQL_stmt_return: { ...LINENO, expr: 'expr', retvarno: 'int' },
  PLpgSQL_stmt_return_next: { ...LINENO, expr: 'expr', retvarno: 'int' },
  PLpgSQL_stmt_return_query: { ...LINENO, query: 'expr', dynquery: 'expr', params: 'exprs' },
  PLpgSQL_stmt_raise: { ...LINENO, elog_level: 'int', condname: 'name', message: 'name', params: 'exprs', options: 'nodes' },
  PLpgSQL_raise_option: { opt_type: 'int', expr: 'expr' },
  PLpgSQL_stmt_assert: { ...LINENO, cond: 'expr', message: 'expr' },
  PLpgSQL_stmt_execsql: { ...LINENO, sqlstmt: 'expr', into: 'bool', strict: 'bool', target: 'node' },
  PLpgSQL_stmt_dynexecute: { ...LINENO, query: 'expr', into: 'bool', strict: 'bool', target: 'node', params: 'exprs' },
  PLpgSQL_stmt_dynfors: { ...LABELLED, var: 'node', body: 'nodes', query: 'expr', params: 'exprs' },
  PLpgSQL_stmt_getdiag: { ...LINENO, is_stacked: 'bool', diag_items: 'nodes' },
  PLpgSQL_diag_item: { kind: 'name', target: 'int' },
  PLpgSQL_stmt_open: { ...LINENO, curvar: 'int', cursor_options: 'int', argquery: 'expr', query: 'expr', dynquery: 'expr', params: 'exprs' },
  PLpgSQL_stmt_fetch: {
    ...LINENO, target: 'node', curvar: 'int', direction: 'int', how_many: 'int', expr: 'expr', is_move: 'bool',
    returns_multiple_rows: 'bool',
  },
  PLpgSQL_stmt_close: { ...LINENO, curvar: 'int' },
  PLpgSQL_stmt_perform: { ...LINENO, expr: 'expr' },
  PLpgSQL_stmt_call: { ...LINENO, expr: 'expr', is_call: 'bool', target: 'node' },
  PLpgSQL_stmt_commit: { ...LINENO, chain: 'bool' },
  PLpgSQL_stmt_rollback: { ...LINENO, chain: 'bool' },
});

/**
 * Statements that run a query built at run time (EXECUTE, FOR … IN EXECUTE) and fields that hold such a query's string
 * expression (OPEN … FOR EXECUTE, RETURN QUERY EXECUTE): dynamic SQL, privileged whatever the string.
 */
export const DYNAMIC_PLPGSQL_NODES: ReadonlySet<string> = new Set(['PLpgSQL_stmt_dynexecute', 'PLpgSQL_stmt_dynfors']);
export const DYNAMIC_PLPGSQL_FIELDS: ReadonlySet<string> = new Set(['dynquery']);

/**
 * PLpgSQL_expr parse modes (RawParseMode in PostgreSQL's parser.h): how the server parses the expression's text.
 * RAW_PARSE_TYPE_NAME (1) never appears in an expression; any mode not listed fails closed.
 */
export const PARSE_MODE = { statement: 0, expression: 2, assign1: 3, assign2: 4, assign3: 5 } as const;
