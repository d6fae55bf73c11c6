// The audit file itself: appends whole batches of lines or nothing (a failed write is cut back to the last whole
// record), fdatasync on demand, and at open sets aside a torn last line left by a crash or a full disk.
import { createHash } from 'node:crypto';
import { mkdir, open, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** A partial last line found at open: moved to `side_file` and cut from the log before the chain continues. */
export interface TornTail {
  readonly sha256: string;
  readonly bytes: number;
  /** Where the fragment was saved; null when it could not be (e.g. the disk is still full): its hash is the evidence. */
  readonly sideFile: string | null;
}

const CHUNK = 64 * 1024;

/** Offset just after the last '\n' at or before `size` (0 when there is none). */
async function lastLineEnd(handle: FileHandle, size: number): Promise<number> {
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    const buf = Buffer.alloc(end - start);
    await handle.read(buf, 0, buf.length, start);
    const nl = buf.lastIndexOf(10);
    if (nl !== -1) return start + nl + 1;
    end = start;
  }
  return 0;
}

async function readRange(handle: FileHandle, start: number, end: number): Promise<Buffer> {
  const buf = Buffer.alloc(end - start);
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await handle.read(buf, done, buf.length - done, start + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

/** Writes `data` to a new file and fsyncs it; null (and nothing left behind) when that fails. */
async function saveFragment(path: string, data: Buffer): Promise<string | null> {
  let handle: FileHandle | null = null;
  try {
    handle = await open(path, 'wx', 0o600);
    await handle.write(data);
    await handle.sync();
    return path;
  } catch {
    await unlink(path).catch(() => undefined);
    return null;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class AuditFile {
  /** End of the last whole record: every byte before it is a complete line. */
  #size: number;
  #handle: FileHandle;
  /** A failed write could not be cut back yet; the next append cuts first. */
  #dirtyTail = false;

  private constructor(
    readonly path: string,
    handle: FileHandle,
    size: number,
  ) {
    this.#handle = handle;
    this.#size = size;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Opens (creating) the file for appending. A last line without '\n' is a record cut short by a crash or a full
   * disk: appending after it would glue the next record onto it and break the chain for good, so it is saved to
   * `<file>.torn-<ms>`, cut from the log and reported to the caller, which records the recovery.
   */
  static async open(path: string, now: () => number = Date.now): Promise<{ file: AuditFile; torn: TornTail | null }> {
    await mkdir(dirname(path), { recursive: true });
    const created = await stat(path).then(
      () => false,
      () => true,
    );
    // O_APPEND: records always go to the end; reads (the tail check) use explicit positions.
    const handle = await open(path, 'a+', 0o640);
    try {
      const { size } = await handle.stat();
      let torn: TornTail | null = null;
      let end = size;
      if (size > 0) {
        const last = await readRange(handle, size - 1, size);
        if (last[0] !== 10) {
          end = await lastLineEnd(handle, size);
          const fragment = await readRange(handle, end, size);
          const sideFile = await saveFragment(`${path}.torn-${now()}`, fragment);
          await handle.truncate(end);
          await handle.sync();
          torn = { sha256: createHash('sha256').update(fragment).digest('hex'), bytes: fragment.length, sideFile };
        }
      }
      if (created) await syncDirectory(dirname(path)).catch(() => undefined);
      return { file: new AuditFile(path, handle, end), torn };
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Appends all of `data` (then fdatasyncs when `sync`) or, on any error (ENOSPC, EIO, a short write followed by
   * one, a failed fdatasync), cuts the file back to where it was and throws: after a failure the file holds only
   * whole records, none of this batch.
   */
  async append(data: Buffer, sync: boolean): Promise<void> {
    if (this.#dirtyTail) {
      await this.#handle.truncate(this.#size);
      this.#dirtyTail = false;
    }
    let done = 0;
    try {
      while (done < data.length) {
        const { bytesWritten } = await this.#handle.write(data, done, data.length - done);
        if (bytesWritten === 0) throw Object.assign(new Error('write wrote 0 bytes'), { code: 'EIO' });
        done += bytesWritten;
      }
      if (sync) await this.#handle.datasync();
    } catch (err) {
      if (done > 0) await this.#rollback();
      throw err;
    }
    this.#size += data.length;
  }

  /** Cuts the file back to its last whole record; if even that fails, the next append tries first. */
  async #rollback(): Promise<void> {
    try {
      await this.#handle.truncate(this.#size);
      this.#dirtyTail = false;
    } catch {
      this.#dirtyTail = true;
    }
  }

  /** fdatasync: the bytes appended so far survive a power loss (audit.flush interval calls this on its timer). */
  async sync(): Promise<void> {
    await this.#handle.datasync();
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}
