import { defineStruct } from "../abi/struct.js";
import { field } from "../abi/vocabulary.js";

/**
 * The slice of the ELF64 object format a core file needs, declared with the
 * project's layout vocabulary so every offset is computed, never written by
 * hand. Values follow the System V gABI; both target machines are
 * little-endian, so every field is too.
 */

/** `e_ident`: the 16 identification bytes at the start of every ELF file. */
export const elf_ident = defineStruct(
  "elf_ident",
  {
    ei_mag: field.bytes(4, { doc: "0x7f 'E' 'L' 'F'." }),
    ei_class: field.u8({ doc: "ELFCLASS64 (2)." }),
    ei_data: field.u8({ doc: "ELFDATA2LSB (1): little-endian." }),
    ei_version: field.u8({ doc: "EV_CURRENT (1)." }),
    ei_osabi: field.u8({ doc: "ELFOSABI_NONE (0)." }),
    ei_abiversion: field.u8({ doc: "0." }),
    ei_pad: field.bytes(7, { doc: "Zero." }),
  },
  { packed: true },
);

export const Elf64_Ehdr = defineStruct(
  "Elf64_Ehdr",
  {
    e_ident: elf_ident,
    e_type: field.u16({ doc: "ET_CORE (4)." }),
    e_machine: field.u16({ doc: "EM_X86_64 (62) or EM_AARCH64 (183)." }),
    e_version: field.u32({ doc: "EV_CURRENT (1)." }),
    e_entry: field.u64({ doc: "0: a core file has no entry point." }),
    e_phoff: field.u64({ doc: "File offset of the program header table." }),
    e_shoff: field.u64({ doc: "File offset of the section header table; 0 unless e_phnum overflows." }),
    e_flags: field.u32({ doc: "0." }),
    e_ehsize: field.u16({ doc: "sizeof(Elf64_Ehdr)." }),
    e_phentsize: field.u16({ doc: "sizeof(Elf64_Phdr)." }),
    e_phnum: field.u16({ doc: "Program headers, or PN_XNUM when the count is in section 0's sh_info." }),
    e_shentsize: field.u16({ doc: "sizeof(Elf64_Shdr) when a section table is present, else 0." }),
    e_shnum: field.u16({ doc: "Section headers (1 with PN_XNUM, else 0)." }),
    e_shstrndx: field.u16({ doc: "SHN_UNDEF (0)." }),
  },
  { packed: false },
);

export const Elf64_Phdr = defineStruct(
  "Elf64_Phdr",
  {
    p_type: field.u32({ doc: "PT_LOAD (1) or PT_NOTE (4)." }),
    p_flags: field.u32({ doc: "PF_X | PF_W | PF_R." }),
    p_offset: field.u64({ doc: "File offset of the segment's bytes." }),
    p_vaddr: field.u64({ doc: "Virtual address (direct map of p_paddr)." }),
    p_paddr: field.u64({ doc: "Physical address." }),
    p_filesz: field.u64({ doc: "Bytes in the file." }),
    p_memsz: field.u64({ doc: "Bytes in memory; the part past p_filesz reads as zeros." }),
    p_align: field.u64({ doc: "Page size for PT_LOAD, 4 for PT_NOTE." }),
  },
  { packed: false },
);

/** Only used as the overflow record for the program header count (PN_XNUM). */
export const Elf64_Shdr = defineStruct(
  "Elf64_Shdr",
  {
    sh_name: field.u32(),
    sh_type: field.u32(),
    sh_flags: field.u64(),
    sh_addr: field.u64(),
    sh_offset: field.u64(),
    sh_size: field.u64(),
    sh_link: field.u32(),
    sh_info: field.u32({ doc: "With PN_XNUM in e_phnum: the real number of program headers." }),
    sh_addralign: field.u64(),
    sh_entsize: field.u64(),
  },
  { packed: false },
);

/** The header of one note inside a PT_NOTE segment; name and descriptor follow, each padded to 4. */
export const Elf64_Nhdr = defineStruct(
  "Elf64_Nhdr",
  {
    n_namesz: field.u32({ doc: "Bytes of the owner name including its NUL." }),
    n_descsz: field.u32({ doc: "Bytes of the descriptor." }),
    n_type: field.u32({ doc: "Type, meaningful per owner name." }),
  },
  { packed: false },
);

export const ELFMAG = Uint8Array.of(0x7f, 0x45, 0x4c, 0x46);
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const EV_CURRENT = 1;
export const ELFOSABI_NONE = 0;
export const ET_CORE = 4;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;
/** e_phnum value meaning "the count does not fit; see section 0's sh_info". */
export const PN_XNUM = 0xffff;
/** Notes in a PT_NOTE segment are aligned to 4 bytes, the Linux core-file convention. */
export const NOTE_ALIGN = 4;
