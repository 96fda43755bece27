import { checkFull, FdtView, nodeNameAt, propAt, stepTag } from "./check.js";
import { HEX2, joinChunks, TextChunks, VALUE_SLICE } from "./chunks.js";
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_PROP, type FdtErrName } from "./constants.js";
import { FdtError } from "./errors.js";
import { memReserveOf } from "./parse.js";

/*
 * A line-per-fact listing of a DTB meant for comparison with a C program that
 * walks the same blob with libfdt (fdt_next_node, fdt_first_property_offset,
 * fdt_getprop_by_offset). It therefore shows what libfdt's traversal shows:
 * a property placed after a subnode is invisible to libfdt's property
 * iteration and is left out here too.
 */

/** Printable ASCII except space and backslash stays; every other byte becomes \xHH. */
export function canonName(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) {
    if (b >= 0x21 && b <= 0x7e && b !== 0x5c) s += String.fromCharCode(b);
    else s += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return s;
}

function hexBytes(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX2[b];
  return s;
}

/** The canon listing of `blob`, or `INVALID <libfdt error name>` for a blob libfdt rejects. */
export function toCanon(blob: Uint8Array): string {
  return joinChunks(canonChunks(blob));
}

/**
 * toCanon's text in chunks of about CHUNK_CHARS characters. Every line names
 * its node's full path, so a deep blob lists far more text than it holds:
 * the lines are handed out as they are made, never joined into one string.
 */
export function* canonChunks(blob: Uint8Array): Generator<string> {
  try {
    checkFull(blob);
  } catch (e) {
    if (e instanceof FdtError) {
      yield `INVALID ${e.fdtErr}\n`;
      return;
    }
    throw e;
  }
  // libfdt's traversal can still fail past fdt_check_full (a pre-v16 name
  // without '/'): the listing is then only the INVALID line, so the walk is
  // proven before the first line goes out.
  const fault = walkFault(new FdtView(blob));
  if (fault) {
    yield `INVALID ${fault}\n`;
    return;
  }
  const out = new TextChunks();
  for (const piece of canonPieces(blob)) if (out.add(piece)) yield out.take();
  if (!out.empty) yield out.take();
}

/** The first error libfdt's traversal of an accepted blob meets, or null. */
function walkFault(v: FdtView): FdtErrName | null {
  let offset = 0;
  let inProps = false;
  for (;;) {
    const step = stepTag(v, offset);
    if (typeof step.next === "string") return step.next;
    if (step.tag === FDT_END) return null;
    if (step.tag === FDT_BEGIN_NODE) {
      const name = nodeNameAt(v, offset);
      if (typeof name === "string") return name;
      inProps = true;
    } else if (step.tag === FDT_END_NODE) inProps = false;
    else if (step.tag === FDT_PROP && inProps) {
      const p = propAt(v, offset);
      if (typeof p === "string") return p;
    }
    offset = step.next;
  }
}

/** The listing of a blob checkFull and walkFault accepted; its walk ends at FDT_END with every node closed. */
function* canonPieces(blob: Uint8Array): Generator<string> {
  const v = new FdtView(blob);
  yield `header version=${v.version} last_comp=${v.lastComp} boot_cpuid=${v.bootCpuid}\n`;
  for (const r of memReserveOf(v)) yield `memreserve 0x${r.address.toString(16)} 0x${r.size.toString(16)}\n`;

  // The names of the open nodes; a path is joined when printed, so the open
  // paths of a deep blob never sit in memory all at once.
  const names: string[] = [];
  let path = "/";
  let offset = 0;
  let inProps = false;
  for (;;) {
    const step = stepTag(v, offset);
    if (typeof step.next === "string")
      throw new FdtError(step.next, "struct walk failed", `struct offset 0x${offset.toString(16)}`);
    if (step.tag === FDT_END) break;
    if (step.tag === FDT_BEGIN_NODE) {
      const name = nodeNameAt(v, offset);
      if (typeof name === "string")
        throw new FdtError(name, "unreadable node name", `struct offset 0x${offset.toString(16)}`);
      names.push(canonName(name));
      path = names.join("/") || "/";
      yield `node ${path}\n`;
      inProps = true;
    } else if (step.tag === FDT_END_NODE) {
      names.pop();
      inProps = false;
    } else if (step.tag === FDT_PROP && inProps) {
      const p = propAt(v, offset);
      if (typeof p === "string") throw new FdtError(p, "bad property", `struct offset 0x${offset.toString(16)}`);
      // libfdt's own length check wraps for lengths of 2^31 and more, so it
      // accepts such a property; its int length is negative and no bytes exist.
      const shown = p.len > 0 && p.len < 0x80000000;
      yield `prop ${path} ${canonName(p.name)} ${p.len}`;
      if (shown) {
        yield " ";
        for (let i = 0; i < p.len; i += VALUE_SLICE)
          yield hexBytes(blob.subarray(p.valueAt + i, p.valueAt + Math.min(p.len, i + VALUE_SLICE)));
      }
      yield "\n";
    }
    offset = step.next;
  }
}
