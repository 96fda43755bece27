import { KhoError } from "../errors.js";
import {
  ArrayField,
  BytesField,
  CharField,
  type CharOptions,
  type Field,
  type FieldOptions,
  IntField,
  type IntOptions,
} from "./field.js";

const U64_MAX = (1n << 64n) - 1n;

/**
 * Field constructors, used as `field.u32()`, `field.char(65)`. Integers of
 * up to 32 bits decode to `number`, 64-bit ones to `bigint`.
 */
export const field = {
  u8: (opts?: IntOptions<number>) => new IntField<number>(8, false, { min: 0, max: 0xff }, opts),
  u16: (opts?: IntOptions<number>) => new IntField<number>(16, false, { min: 0, max: 0xffff }, opts),
  u32: (opts?: IntOptions<number>) => new IntField<number>(32, false, { min: 0, max: 0xffffffff }, opts),
  u64: (opts?: IntOptions<bigint>) => new IntField<bigint>(64, false, { min: 0n, max: U64_MAX }, opts),
  /** A u64 physical address as the kernel stores pointers across kexec; 0 means none. */
  phys: (opts?: IntOptions<bigint>) => new IntField<bigint>(64, true, { min: 0n, max: U64_MAX }, opts),
  char: (length: number, opts?: CharOptions) => new CharField(length, undefined, opts),
  /**
   * A char array sized by the rule `ALIGN(sizeof(text), align)`, the way the
   * kernel sizes a compatible-string slot from the string it must hold.
   */
  charFor: (text: string, align: number, opts?: CharOptions) => {
    if (!Number.isInteger(align) || align < 1 || (align & (align - 1)) !== 0) {
      throw new KhoError("EINVAL", `alignment ${align} is not a power of two`);
    }
    const sizeofText = new TextEncoder().encode(text).length + 1;
    return new CharField(Math.ceil(sizeofText / align) * align, { text, align }, opts);
  },
  bytes: (length: number, opts?: FieldOptions) => new BytesField(length, opts),
  array: <T>(element: Field<T>, count: number, opts?: FieldOptions) => new ArrayField(element, count, opts),
};

/** Page sizes of the in-tree 64-bit architectures. */
export const ABI_PAGE_SIZES = [4096, 16384, 65536] as const;
export type AbiPageSize = (typeof ABI_PAGE_SIZES)[number];

/**
 * A layout whose shape depends on PAGE_SIZE (an array filling one page).
 * The kernel never hands over between page sizes, so a layout is chosen per
 * simulated machine with `.at(pageSize)`; docs and headers list every variant.
 */
export class PageSized<L> {
  readonly #cache = new Map<AbiPageSize, L>();

  constructor(
    readonly name: string,
    private readonly build: (pageSize: AbiPageSize) => L,
  ) {}

  at(pageSize: AbiPageSize): L {
    let l = this.#cache.get(pageSize);
    if (l === undefined) {
      if (!ABI_PAGE_SIZES.includes(pageSize))
        throw new KhoError("EINVAL", `unsupported page size ${pageSize}`, this.name);
      l = this.build(pageSize);
      this.#cache.set(pageSize, l);
    }
    return l;
  }
}

export function perPageSize<L>(name: string, build: (pageSize: AbiPageSize) => L): PageSized<L> {
  return new PageSized(name, build);
}
