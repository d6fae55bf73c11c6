// Draws the Teams app icons (color 192x192, outline 32x32 white on transparent) as PNGs with node:zlib only.
// Run: node docker/teams-app/make-icons.mjs  (writes color.png and outline.png next to this file)
import { deflateSync, crc32 } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** RGBA pixels (width*height*4) → PNG bytes (8-bit RGBA, no interlace, filter 0 on every row). */
function encodePng(width, height, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) rgba.copy(raw, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Shield silhouette in unit coordinates: straight sides, then a curve to the point at the bottom. */
function inShield(u, v, inset = 0) {
  const half = 0.34 - inset;
  const top = 0.12 + inset;
  const shoulder = 0.52;
  const tip = 0.9 - inset * 1.6;
  if (v < top || v > tip) return false;
  const dx = Math.abs(u - 0.5);
  if (v <= shoulder) return dx <= half;
  const t = (v - shoulder) / (tip - shoulder);
  return dx <= half * Math.sqrt(Math.max(0, 1 - t * t));
}

/** A check mark: two thick segments. */
function inCheck(u, v) {
  const seg = (ax, ay, bx, by, w) => {
    const dx = bx - ax, dy = by - ay;
    const t = Math.max(0, Math.min(1, ((u - ax) * dx + (v - ay) * dy) / (dx * dx + dy * dy)));
    const px = ax + t * dx - u, py = ay + t * dy - v;
    return px * px + py * py <= w * w;
  };
  return seg(0.36, 0.47, 0.47, 0.6, 0.045) || seg(0.47, 0.6, 0.66, 0.36, 0.045);
}

/** Renders with 4x4 supersampling; `shade(u, v)` returns [r, g, b, a] or null. */
function render(size, shade) {
  const out = Buffer.alloc(size * size * 4);
  const S = 4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const c = shade((x + (sx + 0.5) / S) / size, (y + (sy + 0.5) / S) / size);
          if (!c) continue;
          r += c[0] * c[3]; g += c[1] * c[3]; b += c[2] * c[3]; a += c[3];
        }
      }
      const i = (y * size + x) * 4;
      if (a > 0) {
        out[i] = Math.round(r / a); out[i + 1] = Math.round(g / a); out[i + 2] = Math.round(b / a);
      }
      out[i + 3] = Math.round(a / (S * S));
    }
  }
  return out;
}

const BLUE = [11, 92, 173, 255];
const WHITE = [255, 255, 255, 255];

// Color icon: full-bleed blue background (Teams rounds the corners), white shield, blue check mark.
const color = render(192, (u, v) => (inShield(u, v) ? (inCheck(u, v) ? BLUE : WHITE) : BLUE));
// Outline icon: white shield outline and check on transparent, as the Teams manifest requires.
const outline = render(32, (u, v) => {
  const edge = inShield(u, v) && !inShield(u, v, 0.075);
  return edge || inCheck(u, v) ? WHITE : null;
});

writeFileSync(join(here, 'color.png'), encodePng(192, 192, color));
writeFileSync(join(here, 'outline.png'), encodePng(32, 32, outline));
console.log('wrote color.png (192x192) and outline.png (32x32)');
