// Field types shared by the config schema's parts: durations and sizes in human units, secrets.
import { z } from 'zod';
import { parseBytes, parseDuration, Secret } from '../units.js';

export const duration = (fallback: string) =>
  z
    .union([z.string(), z.number()])
    .default(fallback)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: `'${v}' is not a duration; write e.g. 250ms, 30s, 5m, 1h` });
        return z.NEVER;
      }
      return ms;
    });

export const bytes = (fallback: string) =>
  z
    .union([z.string(), z.number()])
    .default(fallback)
    .transform((v, ctx) => {
      const n = parseBytes(v);
      if (n === null) {
        ctx.addIssue({ code: 'custom', message: `'${v}' is not a size; write e.g. 64KiB, 16MiB` });
        return z.NEVER;
      }
      return n;
    });

/** A string held as a Secret (never printed, logged or serialised). */
export const secret = z.union([z.string(), z.instanceof(Secret)]).transform((v) => (v instanceof Secret ? v : new Secret(v)));
