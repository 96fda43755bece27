/**
 * Test-side tooling for the DTB corpus: a tiny independent DTB builder, seeded
 * mutations, and batch runners for the reference tools (gcc + libfdt's
 * fdt_check_full through test/c/fdt_canon.c, and dtc 1.6.1).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const TEST_DIR = fileURLToPath(new URL("..", import.meta.url));
export const CORPUS_DIR = join(TEST_DIR, "corpus");
export const CANON_C = join(TEST_DIR, "c", "fdt_canon.c");

/** Throws, naming the tool, when gcc, dtc or libfdt-dev is missing. */
export function requireTools(): void {
  for (const tool of ["gcc", "dtc", "bash"]) {
    const r = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`required tool not found: ${tool}`);
  }
  if (!existsSync("/usr/include/libfdt.h"))
    throw new Error("required tool not found: libfdt (libfdt-dev, /usr/include/libfdt.h)");
  const v = spawnSync("dtc", ["--version"], { encoding: "utf8" });
  if (!/DTC 1\.6\.1/.test(v.stdout)) throw new Error(`dtc 1.6.1 required, found: ${v.stdout.trim()}`);
}

/** Compiles fdt_canon.c into `dir` and returns the binary path. */
export function buildCanonTool(dir: string): string {
  const out = join(dir, "fdt_canon");
  try {
    execFileSync("gcc", ["-O2", "-Wall", "-o", out, CANON_C, "-lfdt"], { stdio: "pipe" });
  } catch (e) {
    throw new Error(
      `gcc could not build fdt_canon.c against libfdt: ${String((e as { stderr?: unknown }).stderr ?? e)}`,
    );
  }
  return out;
}

/** Runs the C tool once over many files; returns each file's listing. */
export function runCanon(tool: string, dir: string, files: readonly string[]): Map<string, string> {
  const list = join(dir, `list-${files.length}-${Date.now()}.txt`);
  writeFileSync(list, `${files.join("\n")}\n`);
  const r = spawnSync(tool, [list], { encoding: "latin1", maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`fdt_canon failed (${r.status}): ${r.stderr}`);
  const out = new Map<string, string>();
  let cur: string | undefined;
  let lines: string[] = [];
  for (const line of r.stdout.split("\n")) {
    if (line.startsWith("#file ")) {
      if (cur !== undefined) out.set(cur, lines.join(""));
      cur = line.slice(6);
      lines = [];
    } else if (line !== "") lines.push(`${line}\n`);
  }
  if (cur !== undefined) out.set(cur, lines.join(""));
  return out;
}

export interface DtcResult {
  status: number;
  stdout: string;
}

/** Runs `dtc -I dtb -O dts` on each file from one shell; stderr is dropped. */
export function runDtc(dir: string, files: readonly string[]): Map<string, DtcResult> {
  const script = files
    .map(
      (f, i) =>
        `dtc -I dtb -O dts -o ${JSON.stringify(join(dir, `dtc-${i}.out`))} ${JSON.stringify(f)} 2>/dev/null; ` +
        `echo $? > ${JSON.stringify(join(dir, `dtc-${i}.rc`))}`,
    )
    .join("\n");
  const scriptPath = join(dir, `dtc-batch-${files.length}.sh`);
  writeFileSync(scriptPath, `${script}\n`);
  const r = spawnSync("bash", [scriptPath], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`dtc batch failed: ${String(r.error ?? r.stderr)}`);
  const out = new Map<string, DtcResult>();
  files.forEach((f, i) => {
    const status = Number(readFileSync(join(dir, `dtc-${i}.rc`), "utf8").trim());
    const o = join(dir, `dtc-${i}.out`);
    out.set(f, { status, stdout: status === 0 && existsSync(o) ? readFileSync(o, "latin1") : "" });
  });
  return out;
}

/** Compiles every .dts in test/corpus with dtc; returns name -> blob. */
export function compileCorpus(dir: string): Map<string, Uint8Array> {
  const names = readFileSync(join(CORPUS_DIR, "INDEX"), "utf8")
    .split("\n")
    .map((s) => s.trim())
    .filter(Boolean);
  mkdirSync(dir, { recursive: true });
  const out = new Map<string, Uint8Array>();
  for (const n of names) {
    const dtb = join(dir, `${n}.dtb`);
    const r = spawnSync("dtc", ["-I", "dts", "-O", "dtb", "-o", dtb, join(CORPUS_DIR, `${n}.dts`)], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`dtc could not compile corpus/${n}.dts: ${r.stderr}`);
    out.set(n, new Uint8Array(readFileSync(dtb)));
  }
  return out;
}

// ------------------------------------------------------------------ builder

export interface TNode {
  name: Uint8Array | string;
  props: { name: Uint8Array | string; value: Uint8Array }[];
  children: TNode[];
}

export interface BuildOpts {
  version?: number;
  lastComp?: number;
  bootCpuid?: number;
  memreserve?: [bigint, bigint][];
  /** NOP tags sprinkled before every property and node (libfdt tolerates them). */
  nops?: boolean;
  /** Share identical property names in the strings block (dtc does). */
  dedup?: boolean;
  /** Free bytes appended after the strings block, covered by totalsize. */
  pad?: number;
}

const enc = (s: Uint8Array | string): Uint8Array => (typeof s === "string" ? new TextEncoder().encode(s) : s);

function be32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function be64(n: bigint): number[] {
  return [...be32(Number((n >> 32n) & 0xffffffffn)), ...be32(Number(n & 0xffffffffn))];
}

/**
 * Writes a DTB in dtc's layout (header, reserve map at 40, struct, strings).
 * Before v16 node names are full paths and values of 8 bytes or more are
 * padded to an 8-byte boundary, as the old format demands.
 */
export function buildDtb(root: TNode, o: BuildOpts = {}): Uint8Array {
  const version = o.version ?? 17;
  const lastComp = o.lastComp ?? 16;
  const strings: number[] = [];
  const strOff = new Map<string, number>();
  const nameOff = (n: Uint8Array): number => {
    const key = Array.from(n).join(",");
    if (o.dedup !== false && strOff.has(key)) return strOff.get(key)!;
    const off = strings.length;
    strings.push(...n, 0);
    strOff.set(key, off);
    return off;
  };
  const st: number[] = [];
  const pad4 = (): void => {
    while (st.length % 4) st.push(0);
  };
  const emit = (n: TNode, parentPath: number[] | null): void => {
    if (o.nops) st.push(...be32(4));
    st.push(...be32(1));
    let name = Array.from(enc(n.name));
    if (version < 16) {
      const base = parentPath === null ? [] : parentPath.length === 1 ? parentPath : [...parentPath, 0x2f];
      name = parentPath === null ? [0x2f] : [...base, ...name];
    }
    st.push(...name, 0);
    pad4();
    for (const p of n.props) {
      if (o.nops) st.push(...be32(4));
      st.push(...be32(3), ...be32(p.value.length), ...be32(nameOff(enc(p.name))));
      if (version < 16 && p.value.length >= 8 && st.length % 8) st.push(0, 0, 0, 0);
      st.push(...p.value);
      pad4();
    }
    for (const c of n.children) emit(c, name);
    st.push(...be32(2));
  };
  emit(root, null);
  st.push(...be32(9));
  const rsv: number[] = [];
  for (const [a, s] of o.memreserve ?? []) rsv.push(...be64(a), ...be64(s));
  rsv.push(...be64(0n), ...be64(0n));
  const offRsv = 40;
  const offStruct = offRsv + rsv.length;
  const offStrings = offStruct + st.length;
  const total = offStrings + strings.length + (o.pad ?? 0);
  const hdr = [
    ...be32(0xd00dfeed),
    ...be32(total),
    ...be32(offStruct),
    ...be32(offStrings),
    ...be32(offRsv),
    ...be32(version),
    ...be32(lastComp),
    ...be32(o.bootCpuid ?? 0),
    ...be32(strings.length),
    ...be32(st.length),
  ];
  const out = new Uint8Array(total);
  out.set([...hdr, ...rsv, ...st, ...strings]);
  return out;
}

// ------------------------------------------------------------------ mutations

/** Small seeded PRNG (mulberry32) so every corpus run is identical. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function setWord(b: Uint8Array, off: number, v: number): Uint8Array {
  const c = b.slice();
  c.set(be32(v >>> 0), off);
  return c;
}

function getWord(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/** Offsets of every tag in a well-formed v16+ struct block, with the tag value. */
function tagOffsets(b: Uint8Array): { at: number; tag: number }[] {
  const offStruct = getWord(b, 8);
  const size = getWord(b, 36);
  const out: { at: number; tag: number }[] = [];
  let o = 0;
  while (o + 4 <= size) {
    const tag = getWord(b, offStruct + o);
    out.push({ at: offStruct + o, tag });
    if (tag === 1) {
      let e = offStruct + o + 4;
      while (b[e] !== 0) e++;
      o = (e + 1 - offStruct + 3) & ~3;
    } else if (tag === 3) {
      o = (o + 12 + getWord(b, offStruct + o + 4) + 3) & ~3;
    } else if (tag === 9) break;
    else o += 4;
  }
  return out;
}

/** Deterministic damage to a valid blob: every header field, tags, names, strings, lengths. */
export function mutations(base: Uint8Array, seed: number): Uint8Array[] {
  const rnd = prng(seed);
  const out: Uint8Array[] = [];
  const total = base.length;
  out.push(setWord(base, 0, 0xd00dfeee));
  out.push(setWord(base, 0, 0xfeed0dd0));
  out.push(setWord(base, 0, ~0xd00dfeed >>> 0));
  for (const v of [0, 1, 2, 3, 15, 16, 17, 18, 0x20, 0xffffffff]) out.push(setWord(base, 20, v));
  for (const lc of [0, 1, 2, 16, 17, 18]) out.push(setWord(base, 24, lc));
  out.push(setWord(setWord(base, 20, 16), 24, 17));
  for (const cut of new Set([0, 4, 27, 28, 36, 39, 40, 41, 56, total >> 1, total - 20, total - 5, total - 1]))
    if (cut >= 0 && cut < total) out.push(base.slice(0, cut));
  for (const t of [0, 1, 27, 28, 39, 40, total - 1, total + 1, total + 100, 0x7fffffff, 0x80000000, 0xffffffff])
    out.push(setWord(base, 4, t));
  for (const field of [8, 12, 16, 32, 36]) {
    const cur = getWord(base, field);
    for (const d of [-8, -4, -1, 1, 2, 4, 8, 64]) out.push(setWord(base, field, cur + d));
    for (const v of [0, 20, 40, total, total + 4, 0x7fffffff, 0xfffffffc, 0xffffffff])
      out.push(setWord(base, field, v));
  }
  out.push(setWord(base, 28, 0xdeadbeef));
  // Reserve map: drop the terminator so the list runs into the struct block.
  out.push(setWord(setWord(base, getWord(base, 16) + 12, 1), getWord(base, 16) + 8, 0));
  const tags = tagOffsets(base);
  for (const { at, tag } of tags) {
    for (const bad of [0, 5, 8, 0x10, tag === 2 ? 9 : 2, tag === 4 ? 1 : 4, 1, 3]) out.push(setWord(base, at, bad));
    if (tag === 1) {
      // Unterminated name: overwrite the NUL and padding with letters.
      const c = base.slice();
      let e = at + 4;
      while (c[e] !== 0 && e < c.length) e++;
      for (let i = e; i < Math.min(e + 8, c.length); i++) c[i] = 0x61;
      out.push(c);
      const d = base.slice();
      if (at + 4 < d.length) d[at + 4] = 0x2f;
      out.push(d);
    }
    if (tag === 3) {
      const len = getWord(base, at + 4);
      for (const l of [len + 1, len + 4, len + 0x100, 0x7ffffff0, 0xfffffffc, 0xffffffff, len === 0 ? 0 : len - 1])
        out.push(setWord(base, at + 4, l));
      const off = getWord(base, at + 8);
      const strSize = getWord(base, 32);
      for (const so of [off + 1, strSize - 1, strSize, strSize + 1, 0x7fffffff, 0x80000000, 0xffffffff])
        out.push(setWord(base, at + 8, so));
    }
  }
  // Unterminated strings block: replace its last NUL.
  {
    const c = base.slice();
    const end = getWord(base, 12) + getWord(base, 32);
    if (end > 0 && end <= c.length) {
      c[end - 1] = 0x7a;
      out.push(c);
    }
  }
  // Misaligned / overlapping blocks.
  out.push(setWord(base, 8, getWord(base, 8) + 2));
  out.push(setWord(base, 16, getWord(base, 16) + 4));
  out.push(setWord(base, 12, getWord(base, 8)));
  out.push(setWord(base, 8, getWord(base, 16)));
  // Random flips.
  for (let i = 0; i < 24; i++) {
    const c = base.slice();
    const n = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < n; k++) c[Math.floor(rnd() * c.length)] ^= 1 << Math.floor(rnd() * 8);
    out.push(c);
  }
  for (let i = 0; i < 6; i++) {
    const c = base.slice();
    c[Math.floor(rnd() * c.length)] = Math.floor(rnd() * 256);
    out.push(c);
  }
  return out;
}
