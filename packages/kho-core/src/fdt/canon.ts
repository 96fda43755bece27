import { checkFull, FdtView, nodeNameAt, propAt, stepTag } from "./check.js";
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_PROP } from "./constants.js";
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
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** The canon listing of `blob`, or `INVALID <libfdt error name>` for a blob libfdt rejects. */
export function toCanon(blob: Uint8Array): string {
  try {
    return canonLines(blob).join("");
  } catch (e) {
    if (e instanceof FdtError) return `INVALID ${e.fdtErr}\n`;
    throw e;
  }
}

function canonLines(blob: Uint8Array): string[] {
  checkFull(blob);
  const v = new FdtView(blob);
  const out: string[] = [`header version=${v.version} last_comp=${v.lastComp} boot_cpuid=${v.bootCpuid}\n`];
  for (const r of memReserveOf(v)) out.push(`memreserve 0x${r.address.toString(16)} 0x${r.size.toString(16)}\n`);

  const paths: string[] = [];
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
      const parent = paths.length === 0 ? "" : paths[paths.length - 1]!;
      const path = paths.length === 0 ? canonName(name) : `${parent}/${canonName(name)}`;
      paths.push(path);
      out.push(`node ${path || "/"}\n`);
      inProps = true;
    } else if (step.tag === FDT_END_NODE) {
      paths.pop();
      inProps = false;
    } else if (step.tag === FDT_PROP && inProps) {
      const p = propAt(v, offset);
      if (typeof p === "string") throw new FdtError(p, "bad property", `struct offset 0x${offset.toString(16)}`);
      const path = paths[paths.length - 1] || "/";
      // libfdt's own length check wraps for lengths of 2^31 and more, so it
      // accepts such a property; its int length is negative and no bytes exist.
      const shown = p.len > 0 && p.len < 0x80000000;
      const value = shown ? blob.subarray(p.valueAt, p.valueAt + p.len) : new Uint8Array(0);
      out.push(`prop ${path} ${canonName(p.name)} ${p.len}${shown ? ` ${hexBytes(value)}` : ""}\n`);
    }
    offset = step.next;
  }
  return out;
}
