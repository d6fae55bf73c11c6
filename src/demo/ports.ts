// Checks, before anything starts, that the demo's listen addresses are free, so a taken port fails with the port's
// name and the flag that changes it instead of a bare EADDRINUSE after the database has been seeded.
import net from 'node:net';
import { ConfigError } from '../errors.js';
import { splitHostPort } from '../config.js';

/** Resolves when HOST:PORT can be bound (port 0 always can); throws ConfigError naming the port and `flag` otherwise. */
export async function assertPortFree(hostPort: string, flag: string, what: string): Promise<void> {
  const { host, port } = splitHostPort(hostPort);
  if (port === 0) return;
  const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(null)));
  });
  if (!err) return;
  const example = `${host.includes(':') ? `[${host}]` : host}:${port + 10}`;
  if (err.code === 'EADDRINUSE') throw new ConfigError(`port ${port} on ${host} (${what}) is already in use — is another pgwarden running? Choose another with ${flag} ${example}`);
  if (err.code === 'EACCES') throw new ConfigError(`not allowed to listen on ${host}:${port} (${what}); choose a port above 1024 with ${flag} ${example}`);
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') throw new ConfigError(`${host} is not an address of this machine (${what}); use e.g. ${flag} 127.0.0.1:${port}`);
  throw new ConfigError(`cannot listen on ${host}:${port} (${what}): ${err.code ?? err.message}; choose another address with ${flag}`);
}
