import { z } from "zod";

/**
 * A scenario as data (JSON, or YAML read into the same shape): the machine,
 * the kernels that may run on it (plugins by name, version pins), and the
 * steps. `scenarioSchema` is exported so its JSON Schema can be generated
 * (`z.toJSONSchema(scenarioSchema)`).
 */

const size = z
  .union([z.number().int().nonnegative(), z.string().min(1)])
  .meta({ description: 'Bytes: a number, or a string such as "4GiB", "0x1000", "2MiB".' });

export const machineSchema = z.strictObject({
  pageSize: size.meta({ description: 'Page size: 4096, "4KiB", "16KiB" or "64KiB".' }),
  ram: z
    .array(
      z.strictObject({
        start: size,
        size,
        nid: z.number().int().nonnegative().optional().meta({ description: "NUMA node id (default 0)." }),
      }),
    )
    .min(1, "a machine needs RAM")
    .meta({ description: "RAM ranges, each on a NUMA node." }),
});

export const kernelSchema = z.strictObject({
  release: z
    .string()
    .min(1, "release must not be empty")
    .max(64, "release is longer than __NEW_UTS_LEN (64)")
    .meta({ description: "uname -r: what kexec-metadata hands over and logs." }),
  cmdline: z
    .string()
    .optional()
    .meta({ description: 'The command line (default "kho=on"); LUO needs "liveupdate=on" too.' }),
  arch: z
    .enum(["x86", "arm64"])
    .optional()
    .meta({ description: "How the kernel passes and reads the handover record: x86 setup_data or arm64 DT." }),
  debug: z.boolean().optional().meta({ description: "CONFIG_KEXEC_HANDOVER_DEBUG." }),
  imageSize: size.optional().meta({ description: "Bytes of the kernel image (default 32 MiB)." }),
  legacyRadixDepth: z
    .boolean()
    .optional()
    .meta({ description: "The radix depth before d64b0372760e: 16 KiB pages lose every order-0 key." }),
  pageSize: size.optional().meta({ description: "The page size the kernel is built for; must match the machine." }),
  plugins: z.array(z.string().min(1)).meta({ description: "Plugin names, resolved from the plugins given." }),
  options: z
    .record(z.string(), z.unknown())
    .optional()
    .meta({ description: "Per plugin name: the options this kernel's plugin is built with (its own schema)." }),
  versions: z
    .record(z.string(), z.strictObject({ write: z.string().optional(), accept: z.array(z.string()).optional() }))
    .optional()
    .meta({ description: "Per KHO node name: the compatible this kernel writes and those it accepts." }),
});

const names = z.array(z.string());

/** What the report of the last transition must say; every field is optional. */
export const expectationSchema = z.strictObject({
  outcome: z
    .enum(["running", "aborted", "panicked"])
    .optional()
    .meta({ description: "running: the target kernel is up; aborted: a prepare failed; panicked." }),
  bootKind: z.enum(["cold", "kho"]).optional().meta({ description: "kho: kho_populate() accepted the handover." }),
  khoEnabled: z.boolean().optional().meta({ description: "KHO is on in the booted kernel (kho=, kho_init)." }),
  handover: z
    .enum(["honoured", "rejected", "none"])
    .optional()
    .meta({ description: "What became of the handover: honoured, rejected by kho_populate() or the walk, none." }),
  restored: names.optional().meta({ description: "Node names restored, in order." }),
  refused: names.optional().meta({ description: "Node names whose version the kernel does not accept, in order." }),
  orphaned: names.optional().meta({ description: "Node names no plugin of the kernel owns, in order." }),
  lost: names.optional().meta({ description: "Node names that could not be read or whose restore failed." }),
  anomalies: z.number().int().nonnegative().optional().meta({ description: "How many anomalies." }),
  hookFailures: z.number().int().nonnegative().optional().meta({ description: "How many plugin hooks threw." }),
  log: names.optional().meta({ description: "Lines the kernel log must contain." }),
});

export const stepSchema = z.union(
  [
    z
      .strictObject({ boot: z.string().min(1) })
      .meta({ description: "Cold boot (power on, or reset) of the kernel of that name." }),
    z
      .strictObject({ kexec: z.string().min(1) })
      .meta({ description: "Live update from the running kernel to the kernel of that name." }),
    z
      .strictObject({ finish: z.literal(true) })
      .meta({ description: "The workload is done with the handover (else the next kexec finishes first)." }),
    z.strictObject({
      action: z
        .string()
        .regex(/^[^.]+\.[^.]+$/, 'an action is "<plugin>.<action>"')
        .meta({ description: 'A plugin\'s workload step in the running kernel: "<plugin>.<action>".' }),
      args: z.unknown().optional().meta({ description: "Checked against the action's own schema." }),
      fails: z
        .string()
        .regex(/^E[A-Z0-9]+$/, "fails is an errno name such as EEXIST")
        .optional()
        .meta({ description: "The errno the action must fail with; without it the action must succeed." }),
    }),
    z
      .strictObject({ expect: expectationSchema })
      .meta({ description: "What the report of the last transition must say." }),
  ],
  { error: "a step is one of { boot }, { kexec }, { finish: true }, { action, args? }, { expect }" },
);

export const scenarioSchema = z.strictObject({
  name: z.string().min(1).meta({ description: "The scenario's name, as the report shows it." }),
  description: z.string().optional(),
  machine: machineSchema.meta({ description: "The machine: physical memory that outlives kernels." }),
  kernels: z
    .record(z.string().min(1), kernelSchema)
    .meta({ description: "The kernels that may run, by the name steps use." }),
  steps: z
    .array(stepSchema)
    .min(1, "a scenario needs at least one step")
    .meta({ description: "The chain, in order: boot, kexec, finish, action and expect steps." }),
});

export type ScenarioData = z.input<typeof scenarioSchema>;

/** The JSON Schema of a scenario file (what `docs/scenario.schema.json` holds), for editors and validators. */
export function scenarioJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(scenarioSchema, { io: "input", unrepresentable: "any" }),
    title: "khosim scenario",
  };
}

export type KernelData = z.output<typeof kernelSchema>;
export type Expectation = z.output<typeof expectationSchema>;
