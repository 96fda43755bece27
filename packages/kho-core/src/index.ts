/**
 * `@khosim/kho-core`: what a plugin author needs, by name. The plugin
 * contract and its host, the schema vocabulary a subtree's layout is
 * declared with, the KHO calls hooks make, errors and units. Everything
 * else is a subpath: `/abi` (generators, KHO's own layouts), `/fdt`,
 * `/image` and `/debugfs` (with their file I/O), `/fs`, `/kho`, `/kexec`,
 * `/mem`, `/radix`, `/block`, and `/testing` for a plugin's tests.
 *
 * @module @khosim/kho-core
 */

// Errors and units
export { kho_block_header_ser } from "./abi/block.js";
export {
  type AnyFdtNode,
  type BytesProp,
  type CellsProp,
  defineFdtNode,
  FdtNodeLayout,
  type FdtValue,
  type Prop,
  prop,
  type StringListProp,
  type StringProp,
  type U64Prop,
} from "./abi/fdt-layout.js";
export type {
  AnyField,
  ArrayField,
  BytesField,
  CharField,
  Field,
  Infer,
  IntField,
  JsonValue,
} from "./abi/field.js";
export { kho_vmalloc } from "./abi/kexec-handover.js";
// The schema vocabulary
export { type AbiLayout, type AbiSchema, type AbiSchemaInput, defineAbi, type VersionNote } from "./abi/schema.js";
export { type AnyStruct, defineStruct, type PhysAccess, StructLayout, type StructValue } from "./abi/struct.js";
export { ABI_PAGE_SIZES, type AbiPageSize, field, PageSized, perPageSize } from "./abi/vocabulary.js";
export type { BlockBackend, LogSink } from "./block/backend.js";
export { KHO_MAX_BLOCKS, KhoBlockSet, type KhoBlockSetIterator, type KhoBlockSetOptions } from "./block/set.js";
export { ERRNO_VALUES, type Errno, isKhoError, KernelPanic, KhoError } from "./errors.js";
// Composition, the host and scenarios
export { type ComposedKernel, composeKernel, type KernelComposition, type VersionPin } from "./host/compose.js";
export type { PluginContext } from "./host/context.js";
// The plugin contract
export {
  type ActionArgs,
  type AnyPlugin,
  actionFor,
  definePlugin,
  type FailurePolicy,
  HOOK_POLICY,
  type HookName,
  type HookPolicy,
  INITCALL_LEVELS,
  type IncomingHooks,
  type IncomingSubtree,
  type InitcallLevel,
  type KernelInfo,
  type KhoPlugin,
  type OutgoingHooks,
  type PluginAction,
  type PluginInitcall,
  type PluginOptions,
  type RefusedSubtree,
  type SubtreeDescription,
  type SubtreeVersion,
} from "./host/plugin.js";
export {
  type Anomaly,
  type AnomalyKind,
  formatReport,
  type HookFailure,
  type KernelRef,
  type ScratchArea,
  type SubtreeOutcome,
  subtreeReason,
  type TransitionReport,
} from "./host/report.js";
export { LiveUpdateHost, type LiveUpdateHostOptions } from "./host/runner.js";
export {
  type ExpectationResult,
  loadScenario,
  type RunScenarioOptions,
  runScenario,
  runScenarioData,
  type Scenario,
  ScenarioError,
  type ScenarioIssue,
  type ScenarioObserver,
  type ScenarioResult,
  type ScenarioStep,
} from "./host/scenario.js";
export {
  type KernelData,
  kernelSchema,
  machineSchema,
  type ScenarioData,
  scenarioJsonSchema,
  scenarioSchema,
  stepSchema,
} from "./host/scenario-schema.js";
export { type RegistryToken, registryToken, type ServiceToken, serviceToken } from "./host/services.js";
export { defineSubtree, type SubtreeVersionInput } from "./host/subtree.js";
export type { BootKind, Kernel, KernelSpec } from "./kexec/kernel.js";
export { DEFAULT_MACHINE, type Handover, Machine, type MachineSpec, type Segment } from "./kexec/machine.js";
export type { MemoryMap, MemoryMapNode, MemoryRegion, MemoryRegionKind } from "./kexec/memory-map.js";
// What hooks call
export type { KhoIn } from "./kho/in.js";
export type { KhoOut } from "./kho/out.js";
export { type Folio, VM_ALLOC, VM_ALLOW_HUGE_VMAP, type VmArea } from "./kho/types.js";
export type { LogLevel, LogLine, ScopedLog } from "./log.js";
export type { PageAllocator } from "./mem/alloc.js";
export type { PhysMem } from "./mem/phys.js";
export { hex, parseSize } from "./units.js";
