// Roles for each authentication method the proxy must relay. scripts/test-services.sh writes the matching pg_hba lines
// (pgw_md5 → md5, pgw_scram → scram-sha-256, pgw_clear → password, everyone else → trust).
import pg from 'pg';
import { pgUrl } from './env.js';

export const AUTH_ROLES = {
  md5: { user: 'pgw_md5', password: 'md5-secret-Pw1' },
  scram: { user: 'pgw_scram', password: 'scram-secret-Pw2' },
  cleartext: { user: 'pgw_clear', password: 'clear-secret-Pw3' },
} as const;

export async function ensureAuthRoles(): Promise<void> {
  const c = new pg.Client(pgUrl());
  await c.connect();
  try {
    for (const [method, role] of Object.entries(AUTH_ROLES)) {
      await c.query(`SET password_encryption = '${method === 'md5' ? 'md5' : 'scram-sha-256'}'`);
      const exists = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role.user]);
      const verb = exists.rowCount ? 'ALTER' : 'CREATE';
      await c.query(`${verb} ROLE ${role.user} LOGIN PASSWORD '${role.password}'`);
    }
  } finally {
    await c.end();
  }
}
