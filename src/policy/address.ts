// CIDR matching of client addresses (IPv4 and IPv6) with node:net BlockList, compiled once at load.
import { BlockList, isIP } from 'node:net';

export interface AddressMatcher {
  readonly blocks: readonly string[];
  matches(address: string): boolean;
}

/** `10.0.0.0/8`, `192.168.1.7`, `fd00::/8`, `::1`. Inputs are validated by the schema first. */
export function compileAddresses(blocks: readonly string[]): AddressMatcher {
  const list = new BlockList();
  for (const block of blocks) {
    const [ip = '', prefix] = block.split('/');
    const family = isIP(ip) === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(ip, family);
    else list.addSubnet(ip, Number(prefix), family);
  }
  return {
    blocks,
    matches(address: string): boolean {
      // IPv4 clients on a dual-stack socket show up as ::ffff:a.b.c.d; compare them as IPv4.
      const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
      const family = isIP(plain);
      if (family === 0) return false; // Unix socket or unknown: no address rule matches
      return list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}
