/**
 * Redis Cluster's slot of a key (CRC16/XMODEM of its hash tag, or of the whole key without one,
 * mod 16384), as `CLUSTER KEYSLOT` computes it: the tests check a deployment's keys share one.
 */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b); // {
  let hashed = bytes;
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) hashed = bytes.subarray(open + 1, close);
  }
  return crc16(hashed) % 16384;
}

function crc16(bytes: Buffer): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
