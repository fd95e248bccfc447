import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hashToken } from '../../libs/auth/src';
import { WesClient } from './client';

/**
 * Users of authMode static with a Bearer token each (random, this process only), written to a
 * config file: `env` starts a stack with them, `as(origin, user)` is a client for one.
 */
export function staticUsers<U extends string>(users: Record<U, { admin?: boolean }>) {
  const tokens = Object.fromEntries(Object.keys(users).map((u) => [u, `${u}-${randomBytes(12).toString('hex')}`])) as Record<U, string>;
  const configFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'wes-users-')), 'wes.yaml');
  const authUsers = (Object.keys(users) as U[]).map((name) => ({ name, roles: users[name].admin ? ['admin'] : [], tokenSha256: hashToken(tokens[name]) }));
  writeFileSync(configFile, JSON.stringify({ authUsers }));
  return {
    env: { WES_CONFIG_FILE: configFile, WES_AUTH_MODE: 'static' },
    as: (origin: string, user: U) => new WesClient(origin, { authorization: `Bearer ${tokens[user]}` }),
  };
}
