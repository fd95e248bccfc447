import { describe, expect, it } from 'vitest';
import { embeddedIPv4 } from './embedded-ipv4';

describe('embeddedIPv4', () => {
  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::ffff:7f00:1', '127.0.0.1'],
    ['::127.0.0.1', '127.0.0.1'],
    ['::7f00:1', '127.0.0.1'],
    ['0:0:0:0:0:0:a9fe:a9fe', '169.254.169.254'],
    ['::2', '0.0.0.2'],
    ['64:ff9b::127.0.0.1', '127.0.0.1'],
    ['64:ff9b::a00:1', '10.0.0.1'],
    ['64:FF9B:0:0:0:0:C0A8:101', '192.168.1.1'],
    ['2002:7f00:1::', '127.0.0.1'],
    ['2002:a9fe:a9fe:1234::1', '169.254.169.254'],
    ['2002:808:808::1', '8.8.8.8'],
    ['fe80::ffff:7f00:1%eth0', undefined],
    ['::ffff:7f00:1%1', '127.0.0.1'],
  ])('%s → %s', (address, v4) => {
    expect(embeddedIPv4(address)).toBe(v4);
  });

  it.each(['::', '::1', '2001:db8::1', '2606:4700::1111', 'fd00::7f00:1', '64:ff9b:1::7f00:1', '1::7f00:1', '127.0.0.1', 'example.org', ''])('%s embeds none', (address) => {
    expect(embeddedIPv4(address)).toBeUndefined();
  });
});
