// The approvals Lua script (decide.lua), read once at load. `npm run build` copies it next to the compiled module,
// so the same relative URL works from src/ (tests, tsx) and from dist/.
import { readFileSync } from 'node:fs';

export const APPROVALS_LUA = readFileSync(new URL('./decide.lua', import.meta.url), 'utf8');
