import { z } from "zod";

/**
 * A scenario as data (JSON, or YAML read into the same shape): the machine,
 * the kernels that may run on it (plugins by name, version pins), and the
 * steps. `scenarioSchema` is exported so its JSON Schema can be generated
 * (`z.toJSONSchema(scenarioSchema)`).
 */

const size = z.union([z.number().int().nonnegative(), z.string().min(1)]);

export const machineSchema = z.strictObject({
  pageSize: size.meta({ description: 'Page size: 4096, "4KiB", "16KiB" or "64KiB".' }),
  ram: z
    .array(z.strictObject({ start: size, size, nid: z.number().int().nonnegative().optional() }))
    .min(1, "a machine needs RAM"),
});

export const kernelSchema = z.strictObject({
  release: z.string().min(1, "release must not be empty").max(64, "release is longer than __NEW_UTS_LEN (64)"),
  cmdline: z.string().optional(),
  handover: z.enum(["x86", "dt"]).optional(),
  debug: z.boolean().optional(),
  imageSize: size.optional(),
  legacyRadixDepth: z.boolean().optional(),
  pageSize: size.optional(),
  plugins: z.array(z.string().min(1)).meta({ description: "Plugin names, resolved from the plugins given." }),
  versions: z
    .record(z.string(), z.strictObject({ write: z.string().optional(), accept: z.array(z.string()).optional() }))
    .optional(),
});

const names = z.array(z.string());

/** What the report of the last transition must say; every field is optional. */
export const expectationSchema = z.strictObject({
  outcome: z.enum(["running", "aborted", "panicked"]).optional(),
  bootKind: z.enum(["cold", "kho"]).optional(),
  khoEnabled: z.boolean().optional(),
  restored: names.optional().meta({ description: "Node names restored, in order." }),
  refused: names.optional(),
  orphaned: names.optional(),
  lost: names.optional(),
  anomalies: z.number().int().nonnegative().optional().meta({ description: "How many anomalies." }),
  hookFailures: z.number().int().nonnegative().optional(),
  log: names.optional().meta({ description: "Lines the kernel log must contain." }),
});

export const stepSchema = z.union(
  [
    z.strictObject({ boot: z.string().min(1) }),
    z.strictObject({ kexec: z.string().min(1) }),
    z.strictObject({ finish: z.literal(true) }),
    z.strictObject({
      action: z.string().regex(/^[^.]+\.[^.]+$/, 'an action is "<plugin>.<action>"'),
      args: z.unknown().optional(),
    }),
    z.strictObject({ expect: expectationSchema }),
  ],
  { error: "a step is one of { boot }, { kexec }, { finish: true }, { action, args? }, { expect }" },
);

export const scenarioSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  machine: machineSchema,
  kernels: z.record(z.string().min(1), kernelSchema),
  steps: z.array(stepSchema).min(1, "a scenario needs at least one step"),
});

export type ScenarioData = z.input<typeof scenarioSchema>;
export type KernelData = z.output<typeof kernelSchema>;
export type Expectation = z.output<typeof expectationSchema>;
