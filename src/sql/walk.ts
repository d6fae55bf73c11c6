// One generic pass over a libpg-query JSON tree that collects categories, tables, columns and functions from every nested node.
import {
  CategoryBit, GRANT_ALTER_TABLE_CMDS, GRANT_DROP_TYPES, GRANT_SETTINGS, PRIVILEGED_DROP_TYPES, PRIVILEGED_ROLE_OPTIONS,
  PRIVILEGED_ROLES, PROTECTED_CATALOGS, PROTECTED_INFORMATION_SCHEMA, READ_PROTECTED_SETTINGS, ROW_ARGUMENT_FUNCTIONS,
  STATEMENT_CATEGORY,
  isPrivilegedFunction, isPrivilegedSetting,
} from './categories.js';
import { SYSTEM_CATALOGS } from './system-catalogs.js';
import { columnRefName, constString, defElems, defTrue, lastName, nameList, rangeVarName, resTargetNames, stringOf, type Json } from './ast-names.js';
import { isInputBounded, isRowSetBounded } from './bounds.js';
import type { Collector } from './collector.js';
import { constStringThroughCasts, visitDo, visitFieldSelection, visitFunction, visitFunctionDefinition } from './walk-functions.js';

const P = CategoryBit.privileged;

/** Walks a statement's tree, adding what it finds to `c`. */
export function walk(c: Collector, node: unknown): void {
  visit(c, node);
}

/** Walks a statement that is planned but not run (plain EXPLAIN): only read and privileged stick. */
export function walkNotRun(c: Collector, node: unknown): void {
  c.notRun++;
  visit(c, node);
  c.notRun--;
}

/** Casts whose constant names a catalog object (`'pg_authid'::regclass`): the name is part of the statement's shape. */
const OBJECT_NAME_TYPES: ReadonlySet<string> = new Set([
  'regclass', 'regproc', 'regprocedure', 'regoper', 'regoperator', 'regtype', 'regnamespace', 'regrole', 'regconfig',
  'regdictionary', 'regcollation',
]);

function visit(c: Collector, node: unknown): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) visit(c, node[i]);
    return;
  }
  visitFields(c, node as Json, undefined);
}

function visitFields(c: Collector, obj: Json, skip: string | undefined): void {
  for (const key in obj) {
    const v = obj[key];
    if (v === null || typeof v !== 'object' || key === skip) continue;
    const ch = key.charCodeAt(0);
    // libpg-query JSON: node wrappers are keyed by their PascalCase type name, fields are lower/snake case.
    if (ch >= 65 && ch <= 90) visitNode(c, key, v as Json);
    else visitField(c, v);
  }
}

/**
 * A statement with a WITH clause: CTE names are in scope (not tables) where PostgreSQL resolves them
 * to the CTE — in later CTEs and the main query, and in every CTE when RECURSIVE. A CTE body that
 * names a table like itself (`WITH users AS (SELECT * FROM users)`) still reads the real table.
 */
function visitWithScope(c: Collector, n: Json): void {
  const w = n.withClause as Json;
  const ctes = Array.isArray(w.ctes) ? w.ctes : [];
  const base = c.cteScope.length;
  const name = (cte: unknown): string | undefined => {
    const x = (cte as Json).CommonTableExpr as Json | undefined;
    return typeof x?.ctename === 'string' ? x.ctename : undefined;
  };
  if (w.recursive === true) for (const cte of ctes) c.cteScope.push(name(cte) ?? '');
  for (const cte of ctes) {
    visit(c, cte);
    if (w.recursive !== true) c.cteScope.push(name(cte) ?? '');
  }
  visitFields(c, n, 'withClause');
  c.cteScope.length = base;
}

/**
 * A typed (unwrapped) field: libpg-query writes struct-typed fields such as `relation` (RangeVar),
 * `func` (ObjectWithArgs) or `onConflictClause` without the type-name wrapper, so recognise them by shape.
 */
function visitField(c: Collector, v: unknown): void {
  if (!Array.isArray(v)) {
    const o = v as Json;
    if (typeof o.relname === 'string') {
      visitNode(c, 'RangeVar', o);
      return;
    }
    if (typeof o.kind === 'string' && o.kind.startsWith('VAR_')) {
      // ALTER DATABASE/ROLE … SET carry their VariableSetStmt unwrapped in `setstmt`.
      visitNode(c, 'VariableSetStmt', o);
      return;
    }
    if (o.objname !== undefined) {
      visitNode(c, 'ObjectWithArgs', o);
      return;
    }
  }
  visit(c, v);
}

/** A pg_catalog relation: anything qualified with pg_catalog, or an unqualified system catalog name. */
function isSystemCatalog(n: Json): boolean {
  const rel = n.relname;
  if (typeof rel !== 'string') return false;
  if (n.schemaname === 'pg_catalog') return true;
  return n.schemaname === undefined && SYSTEM_CATALOGS.has(rel);
}

/** information_schema relations with credentials or ACL-restricted contents (user mapping options above all). */
function isProtectedInformationSchema(n: Json): boolean {
  const rel = n.relname;
  if (typeof rel !== 'string' || !PROTECTED_INFORMATION_SCHEMA.has(rel)) return false;
  if (n.schemaname === 'information_schema') return true;
  return n.schemaname === undefined && (rel === 'user_mapping_options' || rel === '_pg_user_mappings');
}

/** Writing a system catalog needs superuser; writing pg_settings is set_config (any setting, role included). */
function writeTarget(c: Collector, rel: unknown): void {
  if (rel === null || typeof rel !== 'object') return;
  // A DML target is always a real table, even when a CTE of the same name is in scope.
  if (typeof (rel as Json).relname === 'string') c.tables.add(rangeVarName(rel as Json));
  if (isSystemCatalog(rel as Json)) c.add(P);
}

function visitCopy(c: Collector, n: Json): void {
  // COPY to/from a server file or program runs with the server's file access: privileged.
  if (typeof n.filename === 'string' || n.is_program === true) c.add(P);
  const attlist = Array.isArray(n.attlist) ? n.attlist : [];
  if (n.is_from === true) {
    c.add(CategoryBit.write);
    writeTarget(c, n.relation);
    for (const a of attlist) {
      const s = stringOf(a);
      if (s !== undefined) c.columnsWritten.add(s);
    }
    if (attlist.length === 0) c.columnsWritten.add('*');
  } else {
    c.add(CategoryBit.export);
    for (const a of attlist) {
      const s = stringOf(a);
      if (s !== undefined) c.columns.add(s);
    }
    if (attlist.length === 0 && n.relation !== undefined) c.columns.add('*');
  }
}

function visitSet(c: Collector, n: Json): void {
  if (n.kind === 'VAR_RESET_ALL') return;
  const name = typeof n.name === 'string' ? n.name.toLowerCase() : '';
  // SET ROLE a and SET ROLE b have one libpg-query fingerprint: the value is part of what the statement does.
  const values = Array.isArray(n.args) ? n.args.map((a) => constStringThroughCasts(a) ?? JSON.stringify(a)) : [];
  c.shapeParts.push(`set:${name}=${values.join(',')}`);
  if (GRANT_SETTINGS.has(name)) c.add(CategoryBit.grant);
  else if (isPrivilegedSetting(name)) c.add(P);
  if (name === 'pgwarden.reason' && n.kind === 'VAR_SET_VALUE' && Array.isArray(n.args)) {
    const v = constString(n.args[0]);
    if (v !== undefined) c.setsReason = v;
  }
}

function visitMergeWhen(c: Collector, n: Json): void {
  resTargetNames(n.targetList, c.columnsWritten);
  if (n.commandType === 'CMD_INSERT' && !(Array.isArray(n.targetList) && n.targetList.length > 0)) c.columnsWritten.add('*');
}

function visitNode(c: Collector, type: string, n: Json): void {
  const base = STATEMENT_CATEGORY[type];
  if (base !== undefined) c.add(base);
  switch (type) {
    case 'RangeVar': {
      const alias = (n.alias as Json | undefined)?.aliasname;
      if (n.schemaname === undefined && c.cteScope.length > 0 && c.cteScope.includes(n.relname as string)) {
        c.rangeNames.set(typeof alias === 'string' ? alias : (n.relname as string), n.relname as string);
        return;
      }
      const name = rangeVarName(n);
      c.tables.add(name);
      c.rangeNames.set(typeof alias === 'string' ? alias : (n.relname as string), name);
      if (isSystemCatalog(n) && PROTECTED_CATALOGS.has(n.relname as string)) c.add(P);
      if (isProtectedInformationSchema(n)) c.add(P);
      return;
    }
    case 'ColumnRef': {
      c.columns.add(columnRefName(n));
      // `t.f` may be the call f(t) (functional notation) when t has no column f.
      const fields = n.fields;
      if (Array.isArray(fields) && fields.length >= 2) {
        const last = stringOf(fields[fields.length - 1]);
        if (last !== undefined) {
          visitFieldSelection(c, last);
          // `c.row_to_json` passes the whole row of c: every column is read.
          if (ROW_ARGUMENT_FUNCTIONS.has(last.toLowerCase())) c.columns.add(`${nameList(fields.slice(0, -1))}.*`);
        }
      }
      return;
    }
    case 'A_Indirection':
      // `(expr).f` may be the call f(expr): `('/etc/passwd'::text).pg_read_file` reads the file.
      if (Array.isArray(n.indirection)) for (const el of n.indirection) {
        const field = stringOf(el);
        if (field !== undefined) visitFieldSelection(c, field);
      }
      break;
    case 'TypeCast': {
      const typeName = lastName((n.typeName as Json | undefined)?.names);
      const value = constString(n.arg);
      if (OBJECT_NAME_TYPES.has(typeName) && value !== undefined) c.shapeParts.push(`${typeName}:${value}`);
      break;
    }
    case 'SubLink':
      // ARRAY(SELECT …) gathers the whole sub-select into one value.
      if (n.subLinkType === 'ARRAY_SUBLINK' && !isRowSetBounded(n.subselect, c.maxRows)) c.add(CategoryBit.export);
      break;
    case 'JsonArrayQueryConstructor':
      if (!isRowSetBounded(n.query, c.maxRows)) c.add(CategoryBit.export);
      break;
    case 'JsonArrayAgg':
    case 'JsonObjectAgg':
      if (c.boundedInputs[c.boundedInputs.length - 1] !== true) c.add(CategoryBit.export);
      break;
    case 'GrantRoleStmt':
      // GRANT pg_read_server_files / pg_execute_server_program / … TO x hands out server powers.
      if (n.is_grant === true && Array.isArray(n.granted_roles)) {
        for (const r of n.granted_roles) {
          const role = ((r as Json).AccessPriv as Json | undefined)?.priv_name;
          if (typeof role === 'string' && PRIVILEGED_ROLES.has(role)) c.add(P);
        }
      }
      break;
    case 'CreateRoleStmt':
    case 'AlterRoleStmt':
      for (const d of defElems(n.options)) if (typeof d.defname === 'string' && PRIVILEGED_ROLE_OPTIONS.has(d.defname) && defTrue(d)) c.add(P);
      break;
    case 'CommonTableExpr':
      if (typeof n.ctename === 'string') c.rangeNames.set(n.ctename, n.ctename);
      break;
    case 'String':
    case 'A_Const':
    case 'Integer':
    case 'Float':
    case 'Boolean':
      return;
    case 'FuncCall':
      visitFunction(c, n);
      break;
    case 'ObjectWithArgs': {
      // Functions named in GRANT/DROP/ALTER/CREATE CAST/OPERATOR: recorded, and a privileged one counts.
      const name = lastName(n.objname);
      if (isPrivilegedFunction(name)) c.add(P);
      break;
    }
    case 'DeleteStmt':
    case 'MergeStmt':
      writeTarget(c, n.relation);
      break;
    case 'TruncateStmt':
      if (Array.isArray(n.relations)) for (const r of n.relations) writeTarget(c, (r as Json).RangeVar);
      break;
    case 'InsertStmt':
      writeTarget(c, n.relation);
      resTargetNames(n.cols, c.columnsWritten);
      if (!(Array.isArray(n.cols) && n.cols.length > 0)) c.columnsWritten.add('*');
      if (n.onConflictClause !== undefined) resTargetNames((n.onConflictClause as Json).targetList, c.columnsWritten);
      break;
    case 'UpdateStmt':
      writeTarget(c, n.relation);
      resTargetNames(n.targetList, c.columnsWritten);
      break;
    case 'MergeWhenClause':
      visitMergeWhen(c, n);
      break;
    case 'SelectStmt':
      if (Array.isArray(n.lockingClause) && n.lockingClause.length > 0) c.add(CategoryBit.write);
      if (n.intoClause !== undefined) c.add(CategoryBit.ddl);
      // Aggregates in this SELECT collect the rows of its FROM: bounded only when that input is.
      c.boundedInputs.push(isInputBounded(n, c.maxRows));
      visitChildren(c, n);
      c.boundedInputs.pop();
      return;
    case 'ExplainStmt': {
      let analyze = false;
      for (const d of defElems(n.options)) if (d.defname === 'analyze' && defTrue(d)) analyze = true;
      visit(c, n.options);
      // EXPLAIN ANALYZE runs its statement; plain EXPLAIN only plans it.
      if (analyze) visit(c, n.query);
      else walkNotRun(c, n.query);
      return;
    }
    case 'CopyStmt':
      visitCopy(c, n);
      break;
    case 'VariableSetStmt':
      visitSet(c, n);
      break;
    case 'VariableShowStmt':
      if (typeof n.name === 'string' && READ_PROTECTED_SETTINGS.has(n.name.toLowerCase())) c.add(P);
      break;
    case 'ExecuteStmt':
      if (typeof n.name === 'string') c.executes = n.name;
      break;
    case 'PrepareStmt':
      if (typeof n.name === 'string') c.prepares = n.name;
      break;
    case 'DoStmt':
      visitDo(c, n);
      return;
    case 'CreateFunctionStmt':
      visitFunctionDefinition(c, n);
      break;
    case 'AlterFunctionStmt':
      for (const d of defElems(n.actions)) if (d.defname === 'security' && defTrue(d)) c.add(CategoryBit.grant);
      break;
    case 'DropStmt': {
      const t = typeof n.removeType === 'string' ? n.removeType : '';
      if (PRIVILEGED_DROP_TYPES.has(t)) c.add(P);
      if (GRANT_DROP_TYPES.has(t)) c.add(CategoryBit.grant);
      if (t === 'OBJECT_TABLE' || t === 'OBJECT_VIEW' || t === 'OBJECT_MATVIEW' || t === 'OBJECT_SEQUENCE' || t === 'OBJECT_INDEX') {
        if (Array.isArray(n.objects)) for (const o of n.objects) c.tables.add(nameList(((o as Json).List as Json | undefined)?.items));
      }
      if (t === 'OBJECT_FUNCTION' || t === 'OBJECT_PROCEDURE' || t === 'OBJECT_ROUTINE' || t === 'OBJECT_AGGREGATE') break;
      return;
    }
    case 'AlterTableCmd':
      if (typeof n.subtype === 'string' && GRANT_ALTER_TABLE_CMDS.has(n.subtype)) c.add(CategoryBit.grant);
      break;
    case 'TransactionStmt':
      // COMMIT/ROLLBACK PREPARED finish another (prepared) transaction's writes.
      if (n.kind === 'TRANS_STMT_COMMIT_PREPARED' || n.kind === 'TRANS_STMT_ROLLBACK_PREPARED') c.add(CategoryBit.write);
      return;
    case 'VacuumStmt': {
      // Plain VACUUM/ANALYZE is maintenance (write); VACUUM FULL rewrites the table under an exclusive lock (ddl).
      let full = false;
      for (const d of defElems(n.options)) if (d.defname === 'full' && defTrue(d)) full = true;
      c.add(full ? CategoryBit.ddl : CategoryBit.write);
      break;
    }
    case 'RenameStmt':
      if (n.renameType === 'OBJECT_ROLE') c.add(CategoryBit.grant);
      break;
    case 'CreateTrigStmt':
    case 'CreateEventTrigStmt': {
      c.functions.add(nameList(n.funcname));
      if (isPrivilegedFunction(lastName(n.funcname))) c.add(P);
      break;
    }
    case 'DefineStmt':
      // CREATE OPERATOR/AGGREGATE name their support functions as type-name-like lists.
      for (const d of defElems(n.definition)) {
        const arg = d.arg as Json | undefined;
        const names = (arg?.TypeName as Json | undefined)?.names ?? ((arg?.List as Json | undefined)?.items);
        if (names !== undefined && isPrivilegedFunction(lastName(names))) c.add(P);
      }
      break;
    case 'CreateSchemaStmt':
      if (n.authrole !== undefined) c.add(CategoryBit.grant);
      break;
    default:
      break;
  }
  visitChildren(c, n);
}

function visitChildren(c: Collector, n: Json): void {
  const alias = (n.alias as Json | undefined)?.aliasname;
  if (typeof alias === 'string' && !c.rangeNames.has(alias)) c.rangeNames.set(alias, alias);
  if (n.withClause !== undefined && n.withClause !== null) visitWithScope(c, n);
  else visitFields(c, n, undefined);
}
