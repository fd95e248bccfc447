import { Command } from 'commander';
// The one file, not libs/auth's index (it brings the OIDC verifier and jose, loaded for nothing at every start).
import { hashPassword, hashToken, newToken } from '../../../../libs/auth/src/credential-hashes';
import { UsageError } from '../cli-errors';
import { printText } from '../cli-context';

/** All of stdin, less one trailing newline: a secret never goes on a command line. */
async function readSecret(what: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(`wes: type the ${what}, then Enter and Ctrl-D\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (text === '') throw new UsageError(`no ${what} on standard input`);
  return text;
}

/**
 * `auth-hash token|password`: what an authUsers entry of the server's config holds (authMode
 * static). Works offline; the secret is read from stdin, never from the command line.
 */
export function authHashCommand(): Command {
  const cmd = new Command('auth-hash').description('make a token hash or a password hash for the server\'s authUsers (authMode static)');
  cmd
    .command('token')
    .description('a new random bearer token and its tokenSha256 (--stdin: hash a token read from stdin)')
    .option('--stdin', 'hash the token on standard input instead of making one')
    .action(async (options: { stdin?: boolean }) => {
      const token = options.stdin ? await readSecret('token') : newToken();
      if (!options.stdin) printText(`token: ${token}`);
      printText(`tokenSha256: ${hashToken(token)}`);
    });
  cmd
    .command('password')
    .description('the passwordScrypt of the password on standard input (scrypt$N$r$p$<salt>$<hash>, base64)')
    .action(async () => {
      printText(`passwordScrypt: "${await hashPassword(await readSecret('password'))}"`);
    });
  return cmd;
}
