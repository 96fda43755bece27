import { z } from "zod";

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
