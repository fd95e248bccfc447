/** Splits a comma-separated list setting into its items (trimmed, empty ones dropped). */
export function listSetting(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}
