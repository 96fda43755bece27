/**
 * Runs the same FDT call scripts through the system libfdt (test/c/fdt_harness.c)
 * and through this package's FDT code, producing the same one-line-per-command
 * transcript on both sides so they can be compared exactly.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FdtError } from "../../src/fdt/errors.js";
import { be32 } from "../../src/fdt/header.js";
import {
  checkHeaderRc,
  fdtErrno,
  firstPropertyOffsetRc,
  firstSubnodeRc,
  getMemRsv,
  getNameRc,
  getPropRc,
  getStringRc,
  nextPropertyOffsetRc,
  nextSubnodeRc,
  nodeCheckCompatibleRc,
  numMemRsvRc,
  pathOffsetRc,
  subnodeOffsetRc,
} from "../../src/fdt/ro.js";
import { FdtRw } from "../../src/fdt/rw.js";
import { FdtSw } from "../../src/fdt/sw.js";

const here = dirname(fileURLToPath(import.meta.url));
export const HARNESS_SOURCE = join(here, "..", "c", "fdt_harness.c");

/**
 * Compiles the harness against the installed libfdt into a fresh temp dir.
 * Throws a message that says what is missing; a missing oracle is a failure,
 * never a skip.
 */
export function compileHarness(): string {
  const gcc = spawnSync("gcc", ["--version"], { encoding: "utf8" });
  if (gcc.error || gcc.status !== 0) {
    throw new Error("fdt-libfdt: gcc not found; install gcc and libfdt-dev (the libfdt oracle cannot be built)");
  }
  if (!existsSync(HARNESS_SOURCE)) throw new Error(`fdt-libfdt: harness source missing at ${HARNESS_SOURCE}`);
  const dir = mkdtempSync(join(tmpdir(), "khosim-fdt-harness-"));
  const bin = join(dir, "fdt_harness");
  const cc = spawnSync("gcc", ["-O1", "-Wall", "-o", bin, HARNESS_SOURCE, "-lfdt"], { encoding: "utf8" });
  if (cc.status !== 0) {
    throw new Error(
      `fdt-libfdt: cannot build the libfdt harness (is libfdt-dev installed? ` +
        `gcc ${HARNESS_SOURCE} -lfdt):\n${cc.stderr}`,
    );
  }
  return bin;
}

export function runHarness(bin: string, script: string): string[] {
  const r = spawnSync(bin, [], { input: script, encoding: "utf8", maxBuffer: 1 << 30 });
  const lines = (r.stdout ?? "").split("\n").slice(0, -1);
  if (r.error || r.status !== 0) {
    // Name the command libfdt died on: it is the first one without output.
    const cmds = script.split("\n").filter((l) => l.trim());
    let from = Math.min(lines.length, cmds.length - 1);
    while (from > 0 && !cmds[from]!.startsWith("buf ")) from--;
    const ctx = cmds.slice(from, lines.length + 1).join("\n");
    throw new Error(
      `libfdt harness failed (status ${r.status}, signal ${r.signal}, ${r.error?.message ?? ""}) ` +
        `at command #${lines.length}; its sequence:\n${ctx}\n${r.stderr}`,
    );
  }
  return lines;
}

// ---------------------------------------------------------------------------
// Script building

const enc = new TextEncoder();

export function hex(b: Uint8Array | string): string {
  const bytes = typeof b === "string" ? enc.encode(b) : b;
  if (bytes.length === 0) return ".";
  return Buffer.from(bytes).toString("hex");
}

export function unhex(s: string): Uint8Array {
  return s === "." ? new Uint8Array(0) : new Uint8Array(Buffer.from(s, "hex"));
}

export function le64(v: bigint | number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
  return b;
}

export function cstrBytes(s: string): Uint8Array {
  const b = enc.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** A path on the wire: hex, or "#N" (a node by offset) as is. */
function pathTok(p: string): string {
  return p.startsWith("#") ? p : hex(p);
}

/** Fluent builder for harness scripts; names and values are hex-encoded on the wire. */
export class Script {
  readonly lines: string[] = [];
  private push(...t: (string | number)[]): this {
    this.lines.push(t.join(" "));
    return this;
  }
  buf(size: number, seed = 0): this {
    return this.push("buf", size, seed);
  }
  poke(off: number, bytes: Uint8Array): this {
    return this.push("poke", off, hex(bytes));
  }
  create(size: number, flags = 0): this {
    return this.push("create", size, flags);
  }
  rsv(addr: bigint | number, size: bigint | number): this {
    return this.push("rsv", `0x${addr.toString(16)}`, `0x${size.toString(16)}`);
  }
  finishRsvmap(): this {
    return this.push("finish_rsvmap");
  }
  begin(name: string): this {
    return this.push("begin", hex(name));
  }
  prop(name: string, value: Uint8Array | string): this {
    return this.push("prop", hex(name), hex(typeof value === "string" ? cstrBytes(value) : value));
  }
  end(): this {
    return this.push("end");
  }
  finish(): this {
    return this.push("finish");
  }
  openInto(size: number): this {
    return this.push("open_into", size);
  }
  pack(): this {
    return this.push("pack");
  }
  addSubnode(path: string, name: string): this {
    return this.push("add_subnode", pathTok(path), hex(name));
  }
  setprop(path: string, name: string, value: Uint8Array | string): this {
    return this.push("setprop", pathTok(path), hex(name), hex(typeof value === "string" ? cstrBytes(value) : value));
  }
  appendprop(path: string, name: string, value: Uint8Array): this {
    return this.push("appendprop", pathTok(path), hex(name), hex(value));
  }
  delprop(path: string, name: string): this {
    return this.push("delprop", pathTok(path), hex(name));
  }
  delNode(path: string): this {
    return this.push("del_node", pathTok(path));
  }
  setName(path: string, name: string): this {
    return this.push("set_name", pathTok(path), hex(name));
  }
  addMemRsv(addr: bigint | number, size: bigint | number): this {
    return this.push("add_mem_rsv", `0x${addr.toString(16)}`, `0x${size.toString(16)}`);
  }
  delMemRsv(n: number): this {
    return this.push("del_mem_rsv", n);
  }
  checkHeader(): this {
    return this.push("check_header");
  }
  path(path: string): this {
    return this.push("path", pathTok(path));
  }
  subnode(offset: number, name: string): this {
    return this.push("subnode", offset, hex(name));
  }
  getprop(path: string, name: string): this {
    return this.push("getprop", pathTok(path), hex(name));
  }
  compat(path: string, str: string): this {
    return this.push("compat", pathTok(path), hex(str));
  }
  children(path: string): this {
    return this.push("children", pathTok(path));
  }
  props(path: string): this {
    return this.push("props", pathTok(path));
  }
  name(offset: number): this {
    return this.push("name", offset);
  }
  rsvmap(): this {
    return this.push("rsvmap");
  }
  dump(): this {
    return this.push("dump");
  }
  /** Appends another script's lines. */
  add(other: Script): this {
    this.lines.push(...other.lines);
    return this;
  }
  toString(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

// ---------------------------------------------------------------------------
// The TypeScript side of the same interpreter

/** libfdt-style return code of a call: its number, 0 for void, the negated error on FdtError. */
function rc(f: () => unknown): number {
  try {
    const r = f();
    return typeof r === "number" ? r : 0;
  } catch (e) {
    if (e instanceof FdtError) return fdtErrno(e);
    throw e;
  }
}

function fillPattern(size: number, seed: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 131 + seed) & 0xff;
  return b;
}

const dec = new TextDecoder();

/** Path token of a node given by offset ("#N"), accepted wherever the script takes a path. */
export function at(offset: number): string {
  return `#${offset}`;
}

/**
 * The harness interpreter over this package's code, one command at a time,
 * so a test can decide its next step from a result (as kernel code does).
 * The transcript format matches the C side.
 */
export class TsHarness {
  buf: Uint8Array = new Uint8Array(0);
  readonly out: string[] = [];

  run(script: string): string[] {
    for (const line of script.split("\n")) if (line.trim()) this.exec(line);
    return this.out;
  }

  exec(line: string): string {
    const r = this.step(line);
    this.out.push(r);
    return r;
  }

  private node(tok: string): number {
    if (tok.startsWith("#")) return Number.parseInt(tok.slice(1), 10);
    return pathOffsetRc(this.buf, unhex(tok));
  }

  private step(line: string): string {
    const argv = line.trim().split(/\s+/);
    const cmd = argv[0]!;
    const a = argv.slice(1);
    const n = (i: number): number => Number(BigInt(a[i]!));
    const big = (i: number): bigint => BigInt(a[i]!);
    const str = (i: number): string => dec.decode(unhex(a[i]!));
    const sw = (): FdtSw => FdtSw.resume(this.buf);
    const rw = (): FdtRw => new FdtRw(this.buf);
    const buf = (): Uint8Array => this.buf;
    const r = (f: () => unknown): string => String(rc(f));
    switch (cmd) {
      case "buf":
        this.buf = fillPattern(n(0), n(1));
        return "#";
      case "poke":
        this.buf.set(unhex(a[1]!), n(0));
        return "0";
      case "create":
        return r(() => FdtSw.createInto(this.buf, n(0), a[1] === undefined ? 0 : n(1)));
      case "rsv":
        return r(() => sw().addReservemapEntry(big(0), big(1)));
      case "finish_rsvmap":
        return r(() => sw().finishReservemap());
      case "begin":
        return r(() => sw().beginNode(str(0)));
      case "prop":
        return r(() => sw().property(str(0), unhex(a[1]!)));
      case "end":
        return r(() => sw().endNode());
      case "finish":
        return r(() => sw().finish());
      case "open_into":
        return r(() => rw().openInto(n(0)));
      case "pack":
        return r(() => rw().pack());
      case "check_header":
        return String(checkHeaderRc(buf()));
      case "add_mem_rsv":
        return r(() => rw().addMemRsv(big(0), big(1)));
      case "del_mem_rsv":
        return r(() => rw().delMemRsv(n(0)));
      case "subnode":
        return String(subnodeOffsetRc(buf(), n(0), unhex(a[1]!)));
      case "name": {
        const nm = getNameRc(buf(), n(0));
        return typeof nm === "number" ? String(nm) : hex(buf().subarray(nm.pos, nm.pos + nm.len));
      }
      case "rsvmap": {
        const cnt = numMemRsvRc(buf());
        const parts = [String(cnt)];
        for (let i = 0; i < cnt; i++) {
          const e = getMemRsv(buf(), i);
          parts.push(`${e.address.toString(16)}:${e.size.toString(16)}`);
        }
        return parts.join(" ");
      }
      case "dump":
        return hex(buf());
      default:
        break;
    }
    const off = this.node(a[0]!);
    if (off < 0) return String(off);
    switch (cmd) {
      case "path":
        return String(off);
      case "add_subnode":
        return r(() => rw().addSubnode(off, str(1)));
      case "setprop":
        return r(() => rw().setprop(off, str(1), unhex(a[2]!)));
      case "appendprop":
        return r(() => rw().appendprop(off, str(1), unhex(a[2]!)));
      case "delprop":
        return r(() => rw().delprop(off, str(1)));
      case "del_node":
        return r(() => rw().delNode(off));
      case "set_name":
        return r(() => rw().setName(off, str(1)));
      case "getprop": {
        const p = getPropRc(buf(), off, unhex(a[1]!));
        return typeof p === "number" ? String(p) : `${p.len} ${hex(buf().subarray(p.valuePos, p.valuePos + p.len))}`;
      }
      case "compat":
        return String(nodeCheckCompatibleRc(buf(), off, str(1)));
      case "children": {
        let s = "";
        let c: number;
        for (c = firstSubnodeRc(buf(), off); c >= 0; c = nextSubnodeRc(buf(), c)) {
          const nm = getNameRc(buf(), c);
          s += `${c}:${typeof nm === "number" ? "." : hex(buf().subarray(nm.pos, nm.pos + nm.len))} `;
        }
        return `${s};${c}`;
      }
      case "props": {
        let s = "";
        let p: number;
        for (p = firstPropertyOffsetRc(buf(), off); p >= 0; p = nextPropertyOffsetRc(buf(), p)) {
          const pos = be32(buf(), 8) + p;
          const nm = getStringRc(buf(), be32(buf(), pos + 8) | 0);
          const len = typeof nm === "number" ? nm : be32(buf(), pos + 4);
          s += `${p}:${typeof nm === "number" ? "" : hex(buf().subarray(nm.pos, nm.pos + nm.len))}:${len} `;
        }
        return `${s};${p}`;
      }
      default:
        throw new Error(`unknown harness command ${cmd}`);
    }
  }
}

/** Interprets a whole script with this package's code. */
export function runTs(script: string): string[] {
  return new TsHarness().run(script);
}

/**
 * Splits a transcript of several sequences (each starting with `buf`) into
 * one transcript per sequence.
 */
export function splitSequences(lines: string[]): string[][] {
  const seqs: string[][] = [];
  for (const l of lines) {
    if (l === "#") seqs.push([]);
    seqs[seqs.length - 1]?.push(l);
  }
  return seqs;
}

/** The first line where two transcripts differ, with the script line that produced it. */
export function firstDifference(script: string[], want: string[], got: string[]): string | undefined {
  const n = Math.max(want.length, got.length);
  for (let i = 0; i < n; i++) {
    if (want[i] !== got[i]) {
      const w = want[i] ?? "<none>";
      const g = got[i] ?? "<none>";
      return (
        `command #${i} "${script[i] ?? "?"}":\n  libfdt: ${w.length > 400 ? describeDump(w, g) : w}\n` +
        `  ts:     ${g.length > 400 ? describeDump(g, w) : g}`
      );
    }
  }
  return undefined;
}

function describeDump(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const byte = Math.floor(i / 2);
  return `dump differs from byte ${byte}: ...${a.slice(Math.max(0, i - 16), i + 48)}...`;
}
