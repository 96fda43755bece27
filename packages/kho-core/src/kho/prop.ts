/** A u64 FDT property value as KHO stores it: CPU-native (little-endian), maybe unaligned. */
export function propU64(v: Uint8Array): bigint {
  return new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true);
}
