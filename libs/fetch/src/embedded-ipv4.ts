import net from 'node:net';

/** The eight 16-bit groups of an IPv6 address (a zone id dropped, a trailing dotted quad read). */
function ipv6Groups(address: string): number[] | undefined {
  if (!net.isIPv6(address)) return undefined;
  let text = address.split('%')[0];
  const quad = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(2).map(Number);
    text = `${quad[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const front = head ? head.split(':') : [];
  if (tail === undefined) return front.map((g) => parseInt(g, 16));
  const back = tail ? tail.split(':') : [];
  return [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back].map((g) => parseInt(g, 16));
}

const dotted = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;

/**
 * The IPv4 address an IPv6 address stands for, when it embeds one a packet would reach:
 * IPv4-mapped `::ffff:0:0/96`, IPv4-compatible `::/96` (deprecated, still routed by some
 * stacks; not `::` and `::1`), NAT64's well-known `64:ff9b::/96` (RFC 6052: a NAT64 gateway forwards to the IPv4
 * address) and 6to4 `2002::/16` (a relay forwards to the IPv4 address in bits 16-47).
 * Undefined for any other address.
 */
export function embeddedIPv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  if (!g) return undefined;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && g[5] === 0xffff) return dotted(g[6], g[7]);
  // `::` and `::1` are IPv6's own unspecified and loopback addresses, not IPv4-compatible ones.
  if (zeros(0, 6) && !(g[6] === 0 && g[7] <= 1)) return dotted(g[6], g[7]);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return dotted(g[6], g[7]);
  if (g[0] === 0x2002) return dotted(g[1], g[2]);
  return undefined;
}
