import { type Errno, KhoError } from "../errors.js";
import type { HandoverFormat } from "../kexec/handover.js";
import { pageGeometry } from "../mem/geometry.js";
import { MAX_PHYS_BITS, type RamRange } from "../mem/phys.js";
import { hex } from "../units.js";
import {
  ELFCLASS64,
  ELFDATA2LSB,
  ELFMAG,
  ELFOSABI_NONE,
  Elf64_Ehdr,
  Elf64_Nhdr,
  Elf64_Phdr,
  Elf64_Shdr,
  EM_AARCH64,
  EM_X86_64,
  ET_CORE,
  EV_CURRENT,
  NOTE_ALIGN,
  PF_R,
  PF_W,
  PF_X,
  PN_XNUM,
  PT_LOAD,
  PT_NOTE,
} from "./elf.js";
import {
  KHOSIM_NOTE_NAME,
  KHOSIM_RECORD_DT,
  KHOSIM_RECORD_X86_SETUP_DATA,
  KHOSIM_SEGMENT_KERNEL_IMAGE,
  KHOSIM_SEGMENT_OTHER,
  KHOSIM_SEGMENT_SCRATCH_ARRAY,
  khosim_machine,
  khosim_ram_range,
  khosim_record,
  khosim_release,
  khosim_seeded_run,
  khosim_segment,
  NT_KHOSIM_MACHINE,
  NT_KHOSIM_RECORD,
  NT_KHOSIM_RELEASE,
  NT_KHOSIM_SEEDED,
  NT_KHOSIM_SEGMENTS,
} from "./notes.js";

/** The machine an image was taken on; the handover format decides it. */
export type ImageArch = "x86_64" | "aarch64";

/** The handover record as the loader passed it to the next kernel. */
export interface ImageRecord {
  readonly format: HandoverFormat;
  readonly bytes: Uint8Array;
}

export interface ImageMachine {
  readonly pageSize: number;
  readonly ram: readonly RamRange[];
}

export type ImageSegmentKind = "kernel image" | "scratch array" | "other";

/** A kexec segment the loader placed for the next kernel. */
export interface ImageKexecSegment {
  readonly kind: ImageSegmentKind;
  readonly pa: number;
  readonly size: number;
}

/**
 * One PT_LOAD: `memsz` bytes of memory at `pa`, of which the first
 * `data.length` come from the file and the rest read as zeros (memory the
 * machine owned but never wrote).
 */
export interface ImageLoad {
  readonly pa: number;
  readonly memsz: number;
  readonly data: Uint8Array;
}

/**
 * Pages of a load's zero-filled tail that hold a seeded fill: their
 * contents are recomputed from `seed` and each page's frame number.
 */
export interface ImageSeededRun {
  readonly pa: number;
  readonly size: number;
  readonly seed: number;
}

/**
 * A handover image: the memory of a machine plus what its boot loader
 * would give the next kernel. Memory not covered by a load is memory the
 * machine did not own (poisoned after a kexec).
 */
export interface HandoverImage {
  readonly arch: ImageArch;
  readonly machine: ImageMachine;
  readonly release: string | null;
  readonly record: ImageRecord | null;
  readonly segments: readonly ImageKexecSegment[];
  /** Ascending by address, non-overlapping. */
  readonly loads: readonly ImageLoad[];
  /** Ascending by address, disjoint, each inside one load's zero-filled tail. */
  readonly seeded: readonly ImageSeededRun[];
}

/**
 * p_vaddr of a load: the direct-map address of p_paddr with no KASLR
 * (x86-64 4-level paging: 0xffff888000000000; arm64 48-bit VA linear map
 * with PHYS_OFFSET taken as 0: 0xffff000000000000). Loading ignores it.
 */
export const DIRECT_MAP_BASE: Readonly<Record<ImageArch, bigint>> = {
  x86_64: 0xffff888000000000n,
  aarch64: 0xffff000000000000n,
};

export function archOfFormat(format: HandoverFormat): ImageArch {
  return format === "x86" ? "x86_64" : "aarch64";
}

const EM_OF: Readonly<Record<ImageArch, number>> = { x86_64: EM_X86_64, aarch64: EM_AARCH64 };
const SEGMENT_KINDS: Readonly<Record<ImageSegmentKind, number>> = {
  other: KHOSIM_SEGMENT_OTHER,
  "kernel image": KHOSIM_SEGMENT_KERNEL_IMAGE,
  "scratch array": KHOSIM_SEGMENT_SCRATCH_ARRAY,
};

/** More program headers than this is not an image this simulator wrote (and would not fit memory). */
export const MAX_IMAGE_SEGMENTS = 1 << 20;

const NAME_BYTES = new TextEncoder().encode(`${KHOSIM_NOTE_NAME}\0`);

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function note(type: number, desc: Uint8Array): Uint8Array {
  const out = new Uint8Array(Elf64_Nhdr.size + align(NAME_BYTES.length, NOTE_ALIGN) + align(desc.length, NOTE_ALIGN));
  out.set(Elf64_Nhdr.encode({ n_namesz: NAME_BYTES.length, n_descsz: desc.length, n_type: type }));
  out.set(NAME_BYTES, Elf64_Nhdr.size);
  out.set(desc, Elf64_Nhdr.size + align(NAME_BYTES.length, NOTE_ALIGN));
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The PT_NOTE segment's bytes: record, machine, release, segments, seeded runs (those present). */
export function encodeNotes(image: HandoverImage): Uint8Array {
  const notes: Uint8Array[] = [];
  if (image.record) {
    const head = khosim_record.encode({
      format: image.record.format === "x86" ? KHOSIM_RECORD_X86_SETUP_DATA : KHOSIM_RECORD_DT,
      size: image.record.bytes.length,
    });
    notes.push(note(NT_KHOSIM_RECORD, concat([head, image.record.bytes])));
  }
  const m = khosim_machine.encode({ page_size: image.machine.pageSize, nr_ranges: image.machine.ram.length });
  const ranges = image.machine.ram.map((r) =>
    khosim_ram_range.encode({ start: BigInt(r.start), size: BigInt(r.size), nid: r.nid, reserved: 0 }),
  );
  notes.push(note(NT_KHOSIM_MACHINE, concat([m, ...ranges])));
  if (image.release !== null) notes.push(note(NT_KHOSIM_RELEASE, khosim_release.encode({ release: image.release })));
  if (image.segments.length) {
    const segs = image.segments.map((s) =>
      khosim_segment.encode({ pa: BigInt(s.pa), size: BigInt(s.size), kind: SEGMENT_KINDS[s.kind], reserved: 0 }),
    );
    notes.push(note(NT_KHOSIM_SEGMENTS, concat(segs)));
  }
  if (image.seeded.length) {
    const runs = image.seeded.map((r) =>
      khosim_seeded_run.encode({ pa: BigInt(r.pa), size: BigInt(r.size), seed: r.seed, reserved: 0 }),
    );
    notes.push(note(NT_KHOSIM_SEEDED, concat(runs)));
  }
  return concat(notes);
}

/**
 * The file as a sequence of chunks: headers and notes, then each load's
 * bytes at a page-aligned offset. Writing chunk by chunk keeps a large
 * image from being copied into one buffer.
 */
export function* encodeImageChunks(image: HandoverImage): Generator<Uint8Array, void, void> {
  const ps = image.machine.pageSize;
  const notes = encodeNotes(image);
  const count = 1 + image.loads.length;
  if (count > MAX_IMAGE_SEGMENTS)
    throw new KhoError(
      "E2BIG",
      `${count} program headers exceed the limit of ${MAX_IMAGE_SEGMENTS}`,
      "Elf64_Ehdr.e_phnum",
    );
  const xnum = count >= PN_XNUM;
  const phoff = Elf64_Ehdr.size;
  const shoff = phoff + count * Elf64_Phdr.size;
  const notesAt = shoff + (xnum ? Elf64_Shdr.size : 0);
  const dataAt = align(notesAt + notes.length, ps);
  const ident = {
    ei_mag: ELFMAG,
    ei_class: ELFCLASS64,
    ei_data: ELFDATA2LSB,
    ei_version: EV_CURRENT,
    ei_osabi: ELFOSABI_NONE,
    ei_abiversion: 0,
    ei_pad: new Uint8Array(7),
  };
  const head: Uint8Array[] = [
    Elf64_Ehdr.encode({
      e_ident: ident,
      e_type: ET_CORE,
      e_machine: EM_OF[image.arch],
      e_version: EV_CURRENT,
      e_entry: 0n,
      e_phoff: BigInt(phoff),
      e_shoff: xnum ? BigInt(shoff) : 0n,
      e_flags: 0,
      e_ehsize: Elf64_Ehdr.size,
      e_phentsize: Elf64_Phdr.size,
      e_phnum: xnum ? PN_XNUM : count,
      e_shentsize: xnum ? Elf64_Shdr.size : 0,
      e_shnum: xnum ? 1 : 0,
      e_shstrndx: 0,
    }),
    Elf64_Phdr.encode({
      p_type: PT_NOTE,
      p_flags: 0,
      p_offset: BigInt(notesAt),
      p_vaddr: 0n,
      p_paddr: 0n,
      p_filesz: BigInt(notes.length),
      p_memsz: 0n,
      p_align: BigInt(NOTE_ALIGN),
    }),
  ];
  let at = dataAt;
  const base = DIRECT_MAP_BASE[image.arch];
  for (const l of image.loads) {
    head.push(
      Elf64_Phdr.encode({
        p_type: PT_LOAD,
        p_flags: PF_R | PF_W | PF_X,
        p_offset: BigInt(at),
        p_vaddr: base + BigInt(l.pa),
        p_paddr: BigInt(l.pa),
        p_filesz: BigInt(l.data.length),
        p_memsz: BigInt(l.memsz),
        p_align: BigInt(ps),
      }),
    );
    at += l.data.length;
  }
  if (xnum) {
    head.push(
      Elf64_Shdr.encode({
        sh_name: 0,
        sh_type: 0,
        sh_flags: 0n,
        sh_addr: 0n,
        sh_offset: 0n,
        sh_size: 0n,
        sh_link: 0,
        sh_info: count,
        sh_addralign: 0n,
        sh_entsize: 0n,
      }),
    );
  }
  head.push(notes, new Uint8Array(dataAt - notesAt - notes.length));
  yield concat(head);
  for (const l of image.loads) if (l.data.length) yield l.data;
}

/** The whole file in one buffer. */
export function encodeImage(image: HandoverImage): Uint8Array {
  return concat([...encodeImageChunks(image)]);
}

// ------------------------------------------------------------------ decoding

function bad(code: Errno, message: string, where: string): never {
  throw new KhoError(code, message, where);
}

/** A u64 from the file as a number no larger than `max`; else `code`. */
function num(v: bigint, max: number, code: Errno, what: string, where: string): number {
  if (v > BigInt(max)) bad(code, `${what} ${hex(v)} exceeds ${hex(max)}`, where);
  return Number(v);
}

/**
 * Decodes a struct that must lie within `bytes`: in the file a shortfall is
 * EIO (a short read), inside a note descriptor EINVAL (a malformed note).
 */
function structAt<T>(
  layout: { size: number; decode(b: Uint8Array): T },
  bytes: Uint8Array,
  off: number,
  where: string,
  code: Errno = "EIO",
): T {
  if (off + layout.size > bytes.length)
    bad(code, `${hex(bytes.length)} bytes, ${where} needs ${hex(off)}+${hex(layout.size)}`, where);
  return layout.decode(bytes.subarray(off, off + layout.size));
}

interface RawNotes {
  record: ImageRecord | null;
  machine: ImageMachine | null;
  release: string | null;
  segments: ImageKexecSegment[] | null;
  seeded: ImageSeededRun[] | null;
}

function parseRecord(desc: Uint8Array, where: string): ImageRecord {
  const h = structAt(khosim_record, desc, 0, where, "EINVAL");
  if (h.size !== desc.length - khosim_record.size)
    bad("EINVAL", `record size ${h.size} does not match descriptor size ${desc.length}`, where);
  if (h.format !== KHOSIM_RECORD_X86_SETUP_DATA && h.format !== KHOSIM_RECORD_DT)
    bad("EINVAL", `unknown record format ${h.format}`, where);
  return { format: h.format === KHOSIM_RECORD_X86_SETUP_DATA ? "x86" : "dt", bytes: desc.slice(khosim_record.size) };
}

function parseMachine(desc: Uint8Array, where: string): ImageMachine {
  const h = structAt(khosim_machine, desc, 0, where, "EINVAL");
  try {
    pageGeometry(h.page_size);
  } catch {
    bad("EINVAL", `page size ${h.page_size} is not 4 KiB, 16 KiB or 64 KiB`, where);
  }
  if (h.nr_ranges === 0) bad("EINVAL", "no RAM ranges", where);
  // The count is checked against the descriptor before any array is sized by it.
  if (desc.length !== khosim_machine.size + h.nr_ranges * khosim_ram_range.size)
    bad("EINVAL", `${h.nr_ranges} RAM ranges do not fit a ${desc.length}-byte descriptor`, where);
  const limit = 2 ** MAX_PHYS_BITS;
  const ram: RamRange[] = [];
  for (let i = 0; i < h.nr_ranges; i++) {
    const w = `${where} ram[${i}]`;
    const r = khosim_ram_range.decode(desc.subarray(khosim_machine.size + i * khosim_ram_range.size));
    const start = num(r.start, limit, "ERANGE", "RAM start", w);
    const size = num(r.size, limit - start, "ERANGE", "RAM end", w);
    if (size === 0 || start % h.page_size || size % h.page_size)
      bad("EINVAL", `RAM range ${hex(start)}+${hex(size)} is empty or not page aligned`, w);
    if (r.reserved !== 0) bad("EINVAL", "reserved field is not zero", w);
    ram.push({ start, size, nid: r.nid });
  }
  const sorted = [...ram].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i - 1]!.start + sorted[i - 1]!.size > sorted[i]!.start)
      bad("EINVAL", `RAM ranges overlap at ${hex(sorted[i]!.start)}`, where);
  return { pageSize: h.page_size, ram: sorted };
}

/**
 * A descriptor that is an array of `st` entries, each with a `reserved`
 * field that must be zero; `each` checks and converts one entry.
 */
function parseEntries<E extends { readonly reserved: number }, T>(
  desc: Uint8Array,
  st: { readonly size: number; decode(b: Uint8Array): E },
  where: string,
  each: (e: E, w: string) => T,
): T[] {
  if (desc.length % st.size)
    bad("EINVAL", `${desc.length} bytes is not a whole number of ${st.size}-byte entries`, where);
  return Array.from({ length: desc.length / st.size }, (_, i) => {
    const w = `${where}[${i}]`;
    const e = st.decode(desc.subarray(i * st.size));
    if (e.reserved !== 0) bad("EINVAL", "reserved field is not zero", w);
    return each(e, w);
  });
}

function parseSegments(desc: Uint8Array, where: string): ImageKexecSegment[] {
  const kinds = Object.entries(SEGMENT_KINDS) as [ImageSegmentKind, number][];
  return parseEntries(desc, khosim_segment, where, (s, w) => {
    const kind = kinds.find(([, v]) => v === s.kind)?.[0];
    if (kind === undefined) bad("EINVAL", `unknown segment kind ${s.kind}`, w);
    const pa = num(s.pa, 2 ** MAX_PHYS_BITS, "ERANGE", "segment address", w);
    return { kind, pa, size: num(s.size, 2 ** MAX_PHYS_BITS - pa, "ERANGE", "segment end", w) };
  });
}

/** Seeded runs as written: entries well formed; where they lie is checked against the loads (checkSeeded). */
function parseSeeded(desc: Uint8Array, where: string): ImageSeededRun[] {
  return parseEntries(desc, khosim_seeded_run, where, (r, w) => {
    const pa = num(r.pa, 2 ** MAX_PHYS_BITS, "ERANGE", "seeded run address", w);
    return { pa, size: num(r.size, 2 ** MAX_PHYS_BITS - pa, "ERANGE", "seeded run end", w), seed: r.seed };
  });
}

/**
 * Seeded runs must be page aligned, ascending, disjoint and inside the
 * zero-filled tail of one load: a run over file data or outside the loads
 * would make two different contents for one page.
 */
function checkSeeded(runs: readonly ImageSeededRun[], loads: readonly ImageLoad[], ps: number): void {
  let li = 0;
  runs.forEach((r, i) => {
    const w = `PT_NOTE seeded[${i}]`;
    if (r.size === 0 || r.pa % ps || r.size % ps)
      bad("EINVAL", `seeded run ${hex(r.pa)}+${hex(r.size)} is empty or not page aligned`, w);
    const prev = runs[i - 1];
    if (prev && prev.pa + prev.size > r.pa) bad("EINVAL", `seeded runs are not ascending and disjoint`, w);
    while (li < loads.length && loads[li]!.pa + loads[li]!.memsz <= r.pa) li++;
    const l = loads[li];
    if (!l || r.pa < l.pa + l.data.length || r.pa + r.size > l.pa + l.memsz)
      bad("EINVAL", `seeded run ${hex(r.pa)}+${hex(r.size)} is not inside the zero-filled tail of a load`, w);
  });
}

/** Walks one PT_NOTE segment; notes of other owners are skipped. */
function parseNotes(seg: Uint8Array, segWhere: string, out: RawNotes): void {
  let off = 0;
  let i = 0;
  while (off < seg.length) {
    const where = `${segWhere} note[${i}]`;
    if (off + Elf64_Nhdr.size > seg.length) bad("EINVAL", `note header runs past the end of the segment`, where);
    const h = Elf64_Nhdr.decode(seg.subarray(off));
    const nameAt = off + Elf64_Nhdr.size;
    const descAt = nameAt + align(h.n_namesz, NOTE_ALIGN);
    const end = descAt + align(h.n_descsz, NOTE_ALIGN);
    if (end > seg.length)
      bad("EINVAL", `note (namesz ${h.n_namesz}, descsz ${h.n_descsz}) runs past the end of the segment`, where);
    const name = seg.subarray(nameAt, nameAt + h.n_namesz);
    const desc = seg.subarray(descAt, descAt + h.n_descsz);
    if (name.length === NAME_BYTES.length && name.every((b, k) => b === NAME_BYTES[k])) {
      const w = `${where} ${KHOSIM_NOTE_NAME}/${hex(h.n_type)}`;
      const once = (have: unknown): void => {
        if (have !== null) bad("EINVAL", `duplicate note of type ${hex(h.n_type)}`, w);
      };
      switch (h.n_type) {
        case NT_KHOSIM_RECORD:
          once(out.record);
          out.record = parseRecord(desc, w);
          break;
        case NT_KHOSIM_MACHINE:
          once(out.machine);
          out.machine = parseMachine(desc, w);
          break;
        case NT_KHOSIM_RELEASE:
          once(out.release);
          if (desc.length !== khosim_release.size)
            bad("EINVAL", `release descriptor is ${desc.length} bytes, expected ${khosim_release.size}`, w);
          out.release = khosim_release.decode(desc).release;
          break;
        case NT_KHOSIM_SEGMENTS:
          once(out.segments);
          out.segments = parseSegments(desc, w);
          break;
        case NT_KHOSIM_SEEDED:
          once(out.seeded);
          out.seeded = parseSeeded(desc, w);
          break;
        default:
          bad("EINVAL", `unknown ${KHOSIM_NOTE_NAME} note type ${hex(h.n_type)}`, w);
      }
    }
    off = end;
    i++;
  }
}

/**
 * Reads an image file. Everything is checked before it is used: identity
 * (magic, ELF64, little-endian, ET_CORE, x86-64 or AArch64), header sizes,
 * that every table and segment lies inside the file (EIO otherwise, as a
 * short read), the notes, and that loads are page aligned, inside RAM and
 * disjoint. Load data are views into `bytes`, not copies.
 */
export function decodeImage(bytes: Uint8Array): HandoverImage {
  const eh = structAt(Elf64_Ehdr, bytes, 0, "Elf64_Ehdr");
  const id = eh.e_ident;
  if (!id.ei_mag.every((b, i) => b === ELFMAG[i])) bad("EINVAL", "not an ELF file (bad magic)", "Elf64_Ehdr.e_ident");
  if (id.ei_class !== ELFCLASS64)
    bad("EINVAL", `ELF class ${id.ei_class} is not ELFCLASS64`, "Elf64_Ehdr.e_ident.ei_class");
  if (id.ei_data !== ELFDATA2LSB)
    bad("EINVAL", `data encoding ${id.ei_data} is not little-endian`, "Elf64_Ehdr.e_ident.ei_data");
  if (id.ei_version !== EV_CURRENT || eh.e_version !== EV_CURRENT)
    bad("EINVAL", "ELF version is not EV_CURRENT", "Elf64_Ehdr.e_version");
  if (eh.e_type !== ET_CORE) bad("EINVAL", `e_type ${eh.e_type} is not ET_CORE`, "Elf64_Ehdr.e_type");
  const arch = (Object.entries(EM_OF) as [ImageArch, number][]).find(([, em]) => em === eh.e_machine)?.[0];
  if (arch === undefined)
    bad("EINVAL", `e_machine ${eh.e_machine} is neither EM_X86_64 nor EM_AARCH64`, "Elf64_Ehdr.e_machine");
  if (eh.e_ehsize !== Elf64_Ehdr.size || eh.e_phentsize !== Elf64_Phdr.size)
    bad(
      "EINVAL",
      `header sizes ${eh.e_ehsize}/${eh.e_phentsize} are not ${Elf64_Ehdr.size}/${Elf64_Phdr.size}`,
      "Elf64_Ehdr.e_phentsize",
    );
  const size = bytes.length;
  let phnum = eh.e_phnum;
  if (phnum === PN_XNUM) {
    if (eh.e_shentsize !== Elf64_Shdr.size)
      bad("EINVAL", `e_phnum is PN_XNUM but e_shentsize is ${eh.e_shentsize}`, "Elf64_Ehdr.e_shentsize");
    const shoff = num(eh.e_shoff, size, "EIO", "e_shoff", "Elf64_Ehdr.e_shoff");
    phnum = structAt(Elf64_Shdr, bytes, shoff, "Elf64_Shdr[0]").sh_info;
  }
  if (phnum === 0) bad("EINVAL", "no program headers", "Elf64_Ehdr.e_phnum");
  if (phnum > MAX_IMAGE_SEGMENTS)
    bad("E2BIG", `${phnum} program headers exceed the limit of ${MAX_IMAGE_SEGMENTS}`, "Elf64_Ehdr.e_phnum");
  const phoff = num(eh.e_phoff, size, "EIO", "e_phoff", "Elf64_Ehdr.e_phoff");
  // The whole table must be in the file before one entry is decoded.
  if (phoff + phnum * Elf64_Phdr.size > size)
    bad("EIO", `${phnum} program headers at ${hex(phoff)} run past the ${hex(size)}-byte file`, "Elf64_Ehdr.e_phnum");
  const phdrs = Array.from({ length: phnum }, (_, i) => Elf64_Phdr.decode(bytes.subarray(phoff + i * Elf64_Phdr.size)));

  const notes: RawNotes = { record: null, machine: null, release: null, segments: null, seeded: null };
  let sawNote = false;
  phdrs.forEach((p, i) => {
    if (p.p_type !== PT_NOTE) return;
    sawNote = true;
    const w = `phdr[${i}] PT_NOTE`;
    const off = num(p.p_offset, size, "EIO", "p_offset", w);
    const len = num(p.p_filesz, size - off, "EIO", "p_filesz", w);
    parseNotes(bytes.subarray(off, off + len), w, notes);
  });
  if (!sawNote) bad("EINVAL", "no PT_NOTE segment", "phdrs");
  const machine = notes.machine;
  if (!machine) bad("EINVAL", `no ${KHOSIM_NOTE_NAME} machine note`, "PT_NOTE");
  const ps = machine.pageSize;

  const loads: (ImageLoad & { index: number })[] = [];
  phdrs.forEach((p, i) => {
    if (p.p_type !== PT_LOAD) return;
    const w = `phdr[${i}] PT_LOAD`;
    const limit = 2 ** MAX_PHYS_BITS;
    const pa = num(p.p_paddr, limit, "ERANGE", "p_paddr", w);
    const memsz = num(p.p_memsz, limit - pa, "ERANGE", "p_paddr + p_memsz", w);
    const off = num(p.p_offset, size, "EIO", "p_offset", w);
    const filesz = num(p.p_filesz, size - off, "EIO", "p_offset + p_filesz", w);
    if (filesz > memsz) bad("EINVAL", `p_filesz ${hex(filesz)} exceeds p_memsz ${hex(memsz)}`, w);
    if (pa % ps || memsz % ps || filesz % ps || off % ps)
      bad("EINVAL", `segment ${hex(pa)}+${hex(memsz)} (file ${hex(off)}+${hex(filesz)}) is not page aligned`, w);
    if (memsz === 0) return;
    if (!coveredByRam(machine.ram, pa, pa + memsz))
      bad("ERANGE", `segment ${hex(pa)}+${hex(memsz)} is not inside RAM`, w);
    loads.push({ index: i, pa, memsz, data: bytes.subarray(off, off + filesz) });
  });
  loads.sort((a, b) => a.pa - b.pa);
  for (let i = 1; i < loads.length; i++) {
    const prev = loads[i - 1]!;
    const cur = loads[i]!;
    if (prev.pa + prev.memsz > cur.pa)
      bad(
        "EINVAL",
        `segments phdr[${prev.index}] and phdr[${cur.index}] overlap at ${hex(cur.pa)}`,
        `phdr[${cur.index}] PT_LOAD`,
      );
  }
  if (notes.record && archOfFormat(notes.record.format) !== arch)
    bad("EINVAL", `a ${notes.record.format} record does not belong in an ${arch} image`, "PT_NOTE record");
  checkSeeded(notes.seeded ?? [], loads, ps);
  return {
    arch,
    machine,
    release: notes.release,
    record: notes.record,
    segments: notes.segments ?? [],
    loads: loads.map(({ pa, memsz, data }) => ({ pa, memsz, data })),
    seeded: notes.seeded ?? [],
  };
}

/** True when RAM (adjacent ranges may differ in node) covers [start, end). */
export function coveredByRam(ram: readonly RamRange[], start: number, end: number): boolean {
  let at = start;
  for (const r of ram) {
    if (r.start > at) break;
    if (r.start + r.size > at) at = r.start + r.size;
    if (at >= end) return true;
  }
  return at >= end;
}
