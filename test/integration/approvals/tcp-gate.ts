// A TCP forwarder a test can close and reopen: it decides *when* one pgwarden instance gets back to Redis after a restart.
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';

export class TcpGate {
  private open = true;
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server) {}

  static async start(targetPort: number): Promise<TcpGate> {
    let gate!: TcpGate;
    const server = createServer((client) => {
      if (!gate.open) {
        client.destroy();
        return;
      }
      const upstream = connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        gate.sockets.add(s);
        s.on('close', () => gate.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    gate = new TcpGate(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return gate;
  }

  get url(): string {
    return `redis://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Cuts every connection through the gate and refuses new ones. */
  close(): void {
    this.open = false;
    for (const s of this.sockets) s.destroy();
  }

  reopen(): void {
    this.open = true;
  }

  async destroy(): Promise<void> {
    this.close();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
