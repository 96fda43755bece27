import { z } from "zod";
import { FdtNodeLayout } from "./fdt-layout.js";
import { abiId } from "./nodes.js";
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

type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema> };

/**
 * JSON Schema of one version of a schema's main layout, titled with its id;
 * page-size dependent layouts are resolved for `pageSize` first. Where the
 * value names its version (a struct member or FDT property `compatible`),
 * the schema pins it with `const`, so a blob of another version fails
 * validation instead of passing as a look-alike.
 */
export function generateAbiJsonSchema(schema: AbiSchema, pageSize: AbiPageSize = 4096): Record<string, unknown> {
  const layout = schema.layout instanceof PageSized ? schema.layout.at(pageSize) : schema.layout;
  const fdt = layout instanceof FdtNodeLayout;
  const out = generateJsonSchema(fdt ? layout : (layout as AnyStruct)) as JsonSchema;
  const props = fdt ? out.properties?.props?.properties : out.properties;
  const compatible = schema.compatible[0];
  if (compatible !== undefined && props?.compatible !== undefined) {
    const { enum: _accepted, ...rest } = props.compatible;
    props.compatible = { ...rest, const: compatible };
  }
  return { title: abiId(schema), ...out };
}
