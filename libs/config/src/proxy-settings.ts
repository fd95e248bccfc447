import { isIP } from 'node:net';
import { InvalidSettingError } from './invalid-setting-error';
import { listSetting } from './list-setting';
import type { WesSettings } from './settings';

/** Names of address ranges Fastify's trustProxy (proxy-addr) knows. */
const RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function isAddressOrCidr(item: string): boolean {
  if (RANGE_NAMES.includes(item)) return true;
  const [address, bits, extra] = item.split('/');
  const family = isIP(address);
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * Fastify's `trustProxy` from WES_TRUSTED_PROXIES: `false` (empty: X-Forwarded-* are ignored, so
 * no client can choose the host of the URLs the API returns), a hop count, or the addresses and
 * CIDRs of the proxies whose X-Forwarded-Host/-Proto/-For are believed.
 */
export function trustProxyOf(settings: Pick<WesSettings, 'trustedProxies'>): false | number | string[] {
  const text = settings.trustedProxies.trim();
  if (text === '') return false;
  if (/^\d+$/.test(text)) return Number(text) === 0 ? false : Number(text);
  const items = listSetting(text);
  const bad = items.filter((i) => !isAddressOrCidr(i));
  if (bad.length) {
    throw new InvalidSettingError(
      `invalid setting WES_TRUSTED_PROXIES=${JSON.stringify(settings.trustedProxies)}: ${bad.map((b) => JSON.stringify(b)).join(', ')} ` +
        `is not an IP address, a CIDR or one of ${RANGE_NAMES.join(', ')} (or give a hop count)`,
    );
  }
  return items;
}
