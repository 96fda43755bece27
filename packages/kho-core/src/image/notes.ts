import { defineStruct } from "../abi/struct.js";
import { field } from "../abi/vocabulary.js";

/**
 * The notes khosim puts in the PT_NOTE segment of a handover image. The
 * owner name is "KHOSIM"; the types below only mean something under that
 * name. Descriptors are little-endian like everything else in the image.
 */
export const KHOSIM_NOTE_NAME = "KHOSIM";

/*
 * Types carry "KH" in their upper half: tools that read core files tend to
 * interpret small note types (1 = NT_PRSTATUS, ...) whatever the owner, and
 * these must not pass for process state.
 */
/** The handover record exactly as the loader passed it, with its format. */
export const NT_KHOSIM_RECORD = 0x4b480001;
/** Page size and RAM ranges (with NUMA node ids) of the machine. */
export const NT_KHOSIM_MACHINE = 0x4b480002;
/** `uname -r` of the kernel that wrote the record (or ran when the image was taken). */
export const NT_KHOSIM_RELEASE = 0x4b480003;
/** The kexec segments the loader placed (kernel image, scratch array). */
export const NT_KHOSIM_SEGMENTS = 0x4b480004;
/**
 * Owned memory whose contents are a seeded fill (PhysMem.fillSeeded): the
 * runs and their seeds instead of the bytes, which may be terabytes.
 */
export const NT_KHOSIM_SEEDED = 0x4b480005;

/** `format` values of the record note. */
export const KHOSIM_RECORD_X86_SETUP_DATA = 1;
export const KHOSIM_RECORD_DT = 2;

/** `kind` values of a kexec segment entry. */
export const KHOSIM_SEGMENT_OTHER = 0;
export const KHOSIM_SEGMENT_KERNEL_IMAGE = 1;
export const KHOSIM_SEGMENT_SCRATCH_ARRAY = 2;

/** NT_KHOSIM_RECORD descriptor header; `size` record bytes follow it. */
export const khosim_record = defineStruct(
  "khosim_record",
  {
    format: field.u32({ doc: "1: x86 setup_data entry (SETUP_KEXEC_KHO); 2: boot devicetree blob with /chosen." }),
    size: field.u32({ doc: "Bytes of the record that follow; descsz - 8." }),
  },
  { packed: false },
);

/** NT_KHOSIM_MACHINE descriptor header; `nr_ranges` khosim_ram_range entries follow it. */
export const khosim_machine = defineStruct(
  "khosim_machine",
  {
    page_size: field.u32({ doc: "PAGE_SIZE: 4096, 16384 or 65536." }),
    nr_ranges: field.u32({ doc: "RAM ranges that follow." }),
  },
  { packed: false },
);

export const khosim_ram_range = defineStruct(
  "khosim_ram_range",
  {
    start: field.u64({ doc: "Physical start, page aligned." }),
    size: field.u64({ doc: "Bytes, page aligned." }),
    nid: field.u32({ doc: "NUMA node id." }),
    reserved: field.u32({ doc: "Zero." }),
  },
  { packed: false },
);

/** NT_KHOSIM_RELEASE descriptor. */
export const khosim_release = defineStruct(
  "khosim_release",
  {
    release: field.char(65, { doc: "`uname -r`, NUL-terminated (the kernel's __NEW_UTS_LEN + 1)." }),
  },
  { packed: true },
);

/** One entry of the NT_KHOSIM_SEGMENTS descriptor (an array of them). */
export const khosim_segment = defineStruct(
  "khosim_segment",
  {
    pa: field.u64({ doc: "Physical address where the loader put the segment." }),
    size: field.u64({ doc: "Bytes." }),
    kind: field.u32({ doc: "0: other; 1: kernel image; 2: KHO scratch array." }),
    reserved: field.u32({ doc: "Zero." }),
  },
  { packed: false },
);

/** One entry of the NT_KHOSIM_SEEDED descriptor (an array of them, ascending by `pa`, disjoint). */
export const khosim_seeded_run = defineStruct(
  "khosim_seeded_run",
  {
    pa: field.u64({ doc: "Physical start, page aligned, inside the zero-filled tail of one PT_LOAD." }),
    size: field.u64({ doc: "Bytes, page aligned, not zero." }),
    seed: field.u32({ doc: "The fill's seed: each page's contents are a function of it and the page frame number." }),
    reserved: field.u32({ doc: "Zero." }),
  },
  { packed: false },
);
