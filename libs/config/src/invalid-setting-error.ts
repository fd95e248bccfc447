/** A setting with a bad value; the message names the setting and where it came from. */
export class InvalidSettingError extends Error {
  override name = 'InvalidSettingError';
}
