import type { Command } from 'commander';
import { UsageError } from './cli-errors';
import { stringifyJson } from '../../../libs/json/src';
import { DEFAULT_WES_URL, WesApiClient } from './wes-api-client';

/**
 * The client configured by the global options: --url / WES_URL, and --token / WES_TOKEN or
 * --user / WES_USER with --password / WES_PASSWORD (HTTP Basic).
 */
export function clientOf(cmd: Command): WesApiClient {
  const { url, token, user, password } = cmd.optsWithGlobals<{ url?: string; token?: string; user?: string; password?: string }>();
  if (user && token) throw new UsageError('give either a token (--token, WES_TOKEN) or a user and password (--user, WES_USER), not both');
  if (user && password === undefined) throw new UsageError('--user (WES_USER) needs --password (WES_PASSWORD)');
  return new WesApiClient(url || DEFAULT_WES_URL, { token: token || undefined, user: user || undefined, password });
}

export function printJson(value: unknown): void {
  process.stdout.write(`${stringifyJson(value, 2)}\n`);
}

export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
}

/** One progress or warning line on stderr. */
export function note(line: string): void {
  process.stderr.write(`wes: ${line}\n`);
}

/** Collects repeated `--opt key=value` options into an object (`key` alone: an empty value, when allowed). */
export function keyValues(flag: string, bareKeyAllowed: boolean) {
  return (value: string, previous: Record<string, string> | undefined): Record<string, string> => {
    const eq = value.indexOf('=');
    if (eq <= 0 && !(bareKeyAllowed && eq === -1 && value !== '')) {
      throw new UsageError(`${flag} takes key=value, not "${value}"`);
    }
    const [key, val] = eq === -1 ? [value, ''] : [value.slice(0, eq), value.slice(eq + 1)];
    return { ...previous, [key]: val };
  };
}

/** A whole number option ≥ 1. */
export function positiveInt(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} takes a whole number ≥ 1, not "${value}"`);
    return Number(value);
  };
}

/** `1 file`, `2 files`. */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Human-readable byte count. */
export function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(1)} ${units[u]}`;
}
