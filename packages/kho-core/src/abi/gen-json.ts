import { z } from "zod";
import { FdtNodeLayout } from "./fdt-layout.js";
import type { AbiSchema } from "./schema.js";
import type { AnyStruct } from "./struct.js";
import { type AbiPageSize, PageSized } from "./vocabulary.js";

/**
 * JSON Schema (draft 2020-12) of a decoded value after `toJson`: JSON has no
 * 64-bit integers, so u64 fields (addresses, counts) are decimal strings,
 * which parse back exactly with `BigInt(s)`; byte arrays are lowercase hex
 * strings. Fields of up to 32 bits stay JSON numbers. Field docs become
 * `description`s. Takes any struct, field or FDT node layout.
 */
export function generateJsonSchema(layout: { readonly jsonSchema: z.ZodType }): Record<string, unknown> {
  return z.toJSONSchema(layout.jsonSchema) as Record<string, unknown>;
}

/**
 * JSON Schema of a schema's main layout; page-size dependent layouts are
 * resolved for `pageSize` first.
 */
export function generateAbiJsonSchema(schema: AbiSchema, pageSize: AbiPageSize = 4096): Record<string, unknown> {
  const layout = schema.layout instanceof PageSized ? schema.layout.at(pageSize) : schema.layout;
  return generateJsonSchema(layout instanceof FdtNodeLayout ? layout : (layout as AnyStruct));
}
