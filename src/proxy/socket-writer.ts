// Writes a list of buffers to a socket in as few syscalls as possible: views adjacent in one chunk are merged,
// and several pieces go out corked (one writev). Returns false when the socket's buffer is full (backpressure).
import type net from 'node:net';

export function writePieces(socket: net.Socket, pieces: readonly Buffer[]): boolean {
  if (pieces.length === 1) return socket.write(pieces[0]!);
  const merged: Buffer[] = [];
  let cur = pieces[0]!;
  for (let i = 1; i < pieces.length; i++) {
    const p = pieces[i]!;
    if (p.buffer === cur.buffer && p.byteOffset === cur.byteOffset + cur.length) cur = Buffer.from(cur.buffer, cur.byteOffset, cur.length + p.length);
    else {
      merged.push(cur);
      cur = p;
    }
  }
  merged.push(cur);
  if (merged.length === 1) return socket.write(merged[0]!);
  socket.cork();
  let ok = true;
  for (const m of merged) ok = socket.write(m) && ok;
  socket.uncork();
  return ok;
}
