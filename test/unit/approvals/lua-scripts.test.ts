// Keeps the embedded Lua (what runs, also from dist/) identical to the readable src/approvals/decide.lua.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { APPROVALS_LUA } from '../../../src/approvals/lua-scripts.js';

describe('approvals Lua script', () => {
  it('embeds decide.lua verbatim', () => {
    const file = readFileSync(new URL('../../../src/approvals/decide.lua', import.meta.url), 'utf8');
    expect(APPROVALS_LUA).toBe(file);
  });
});
