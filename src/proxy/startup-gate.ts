// Judges the settings of a StartupMessage through the gate, each as the equivalent SET statement, before the upstream
// connection is opened: `options=-c role=priv` must not reach the server unchecked (issue 11, finding 8).
import { ProtocolError, StartupSettingRefused, type PgwardenError } from '../errors.js';
import type { Actor } from '../policy/verdict.js';
import type { Gate, GateOutcome } from './gate.js';
import { settingStatement, startupSettings } from './startup-settings.js';

export interface StartupJudgement {
  readonly gate: Gate;
  readonly actor: Actor;
  readonly database: string;
  readonly connectionId: string;
}

/** Null when every setting is allowed; else the FATAL error naming the first one that is not. */
export async function judgeStartupSettings(params: ReadonlyMap<string, string>, j: StartupJudgement): Promise<PgwardenError | null> {
  const read = startupSettings(params);
  if (!read.ok) return ProtocolError.malformed(`StartupMessage: ${read.reason}`);
  for (const s of read.settings) {
    const text = settingStatement(s);
    const outcome: GateOutcome = await j.gate.decide({
      source: 'startup',
      text,
      actor: j.actor,
      database: j.database,
      connectionId: j.connectionId,
      inTransactionBlock: false,
      standardConformingStrings: true,
      sessionReason: null,
      sqlSession: { prepared: new Map() },
    });
    if (outcome.kind === 'hold') {
      // Nobody can approve a connection that is not open yet.
      outcome.withdraw('client_disconnect');
      return new StartupSettingRefused(`${s.name}=${s.value}`, s.source, 'it needs review, which a startup setting cannot wait for');
    }
    if (outcome.kind === 'deny') return new StartupSettingRefused(`${s.name}=${s.value}`, s.source, outcome.error.message);
  }
  return null;
}
