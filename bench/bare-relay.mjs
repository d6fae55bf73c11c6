// The floor for any Node.js proxy on this machine: a TCP relay that forwards bytes both ways and does nothing else.
// Usage: node bench/bare-relay.mjs LISTEN_PORT UPSTREAM_HOST UPSTREAM_PORT   (then point pgbench at LISTEN_PORT)
import net from 'node:net';

const [listenPort, host, port] = process.argv.slice(2);
net
  .createServer({ noDelay: true }, (client) => {
    const upstream = net.connect({ host, port: Number(port), noDelay: true });
    upstream.on('data', (d) => client.write(d));
    client.on('data', (d) => upstream.write(d));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => {});
    upstream.on('error', () => {});
  })
  .listen(Number(listenPort), '127.0.0.1');
