import { describe, expect, it } from 'vitest';
import { InvalidSettingError } from './invalid-setting-error';
import { loadSettings } from './load-settings';
import { trustProxyOf } from './proxy-settings';

describe('WES_TRUSTED_PROXIES', () => {
  const of = (value?: string) => trustProxyOf(loadSettings(value === undefined ? {} : { WES_TRUSTED_PROXIES: value }));

  it('trusts no proxy by default (empty, or 0 hops)', () => {
    expect(of()).toBe(false);
    expect(of('')).toBe(false);
    expect(of('0')).toBe(false);
  });

  it('takes a hop count', () => {
    expect(of('2')).toBe(2);
  });

  it('takes addresses, CIDRs and proxy-addr range names', () => {
    expect(of('127.0.0.1, 10.0.0.0/8,fd00::/8, ::1 ,loopback')).toEqual(['127.0.0.1', '10.0.0.0/8', 'fd00::/8', '::1', 'loopback']);
  });

  it.each(['true', 'proxy.example.org', '10.0.0.0/33', '::1/129', '300.1.1.1', '10.0.0.0/8/1', '1.2.3.4/x'])('refuses %j, naming the setting', (value) => {
    expect(() => of(value)).toThrow(InvalidSettingError);
    expect(() => of(value)).toThrow(/WES_TRUSTED_PROXIES/);
  });
});
