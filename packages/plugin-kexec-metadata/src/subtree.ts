import { defineSubtree, KhoError, type SubtreeDescription, type SubtreeVersion } from "@khosim/kho-core";
import {
  KEXEC_METADATA_RELEASE_LEN,
  KHO_KEXEC_METADATA_VERSION,
  KHO_METADATA_NODE_NAME,
  kexecMetadataCompatible,
  kexecMetadataV1,
  kho_kexec_metadata,
} from "./abi/index.js";

/** The blob as the next kernel reads it. */
export interface KexecMetadata {
  readonly version: number;
  /** `previous_release` as strscpy(dst, src, 65) copies it. */
  readonly previous_release: string;
  readonly kexec_count: number;
}

const VERSION_AT = kho_kexec_metadata.offsetOf("version");
const RELEASE_AT = kho_kexec_metadata.offsetOf("previous_release");
const COUNT_AT = kho_kexec_metadata.offsetOf("kexec_count");
const latin1 = new TextDecoder("latin1");

/** Reads the u32 version at its offset, whatever the rest of the blob holds. */
function identify(blob: Uint8Array): string | null {
  if (blob.length < VERSION_AT + 4) return null;
  return kexecMetadataCompatible(new DataView(blob.buffer, blob.byteOffset).getUint32(VERSION_AT, true));
}

/**
 * strscpy(dst, src, 65): up to the first NUL, at most 64 bytes; what
 * follows the NUL, or a field with no NUL at all, is not an error. Bytes
 * are kept one to one (latin1): the kernel copies bytes, not characters.
 */
function strscpyRelease(blob: Uint8Array): string {
  const raw = blob.subarray(RELEASE_AT, RELEASE_AT + KEXEC_METADATA_RELEASE_LEN - 1);
  const nul = raw.indexOf(0);
  return latin1.decode(nul < 0 ? raw : raw.subarray(0, nul));
}

/**
 * The next kernel's checks in its order (spec §8), each with the words it
 * logs; the first one failing is the problem, null when the blob passes.
 */
export function kexecMetadataCheck(blob: Uint8Array): string | null {
  if (blob.length < VERSION_AT + 4) return `kexec-metadata blob too small (${blob.length} bytes)`;
  const v = new DataView(blob.buffer, blob.byteOffset).getUint32(VERSION_AT, true);
  if (v !== KHO_KEXEC_METADATA_VERSION)
    return `kexec-metadata version ${v} not supported (expected ${KHO_KEXEC_METADATA_VERSION})`;
  if (blob.length < kho_kexec_metadata.size)
    return `kexec-metadata blob too small for v${v} (${blob.length} < ${kho_kexec_metadata.size})`;
  return null;
}

function decode(blob: Uint8Array): KexecMetadata {
  const problem = kexecMetadataCheck(blob);
  if (problem) throw new KhoError("EINVAL", problem, KHO_METADATA_NODE_NAME);
  const dv = new DataView(blob.buffer, blob.byteOffset, kho_kexec_metadata.size);
  return {
    version: dv.getUint32(VERSION_AT, true),
    previous_release: strscpyRelease(blob),
    kexec_count: dv.getUint32(COUNT_AT, true),
  };
}

/** `uname -r` as the kernel copies it into the blob: at most __NEW_UTS_LEN bytes. */
export function truncateRelease(release: string): string {
  const bytes = new TextEncoder().encode(release);
  if (bytes.length < KEXEC_METADATA_RELEASE_LEN) return release;
  return new TextDecoder().decode(bytes.subarray(0, KEXEC_METADATA_RELEASE_LEN - 1));
}

function encode(m: KexecMetadata): Uint8Array {
  return kho_kexec_metadata.encode({ ...m, previous_release: truncateRelease(m.previous_release) });
}

function describe(blob: Uint8Array, v: SubtreeVersion<KexecMetadata>): SubtreeDescription {
  const problem = kexecMetadataCheck(blob);
  if (problem) return { fields: null, problems: [problem] };
  const m = v.decode(blob);
  return { fields: { version: m.version, previous_release: m.previous_release, kexec_count: m.kexec_count } };
}

/** Version 1, the only one at v7.2-rc1. */
export const kexecMetadataSubtree: SubtreeVersion<KexecMetadata> = defineSubtree({
  abi: kexecMetadataV1,
  identify,
  decode,
  encode,
  describe,
});
