import { AssertionError } from "node:assert";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import * as root from "../src/index.js";
import { defineAbi, definePlugin, defineStruct, defineSubtree, field, KhoError } from "../src/index.js";
import { assertNoAnomalies, assertRunning, assertSubtree, runKexecChain, subtreeFate } from "../src/testing/index.js";

const note = defineStruct("note_ser", { compatible: field.char(8), n: field.u32() }, { packed: true });
const noteV = (v: string) =>
  defineSubtree({
    abi: defineAbi({
      name: "note",
      title: `note ${v}`,
      summary: "",
      compatible: [`note-${v}`],
      version: v,
      layout: note,
    }),
    identify: (blob: Uint8Array) =>
      blob.length >= note.size ? note.decode(blob.subarray(0, note.size)).compatible : null,
  });

/** A plugin keeping one number across kexec; `failPrepare` makes it refuse the kexec. */
function notePlugin(opts: { failPrepare?: boolean } = {}) {
  return definePlugin<{ n: number; pa: number }>({
    name: "note",
    subtrees: [noteV("v1"), noteV("v2")],
    state: () => ({ n: 0, pa: 0 }),
    outgoing: {
      init(ctx) {
        ctx.state.pa = ctx.kho.allocPreserve(note.size);
        ctx.kho.addSubtree("note", ctx.state.pa, note.size);
      },
      prepare(ctx) {
        if (opts.failPrepare) throw new KhoError("EBUSY", "note is busy");
        const compatible = ctx.writer("note").abi.compatible[0]!;
        note.writeAt(ctx.mem, ctx.state.pa, { compatible, n: ctx.state.n });
      },
    },
    incoming: {
      restore(ctx, sub) {
        ctx.state.n = note.readAt(ctx.mem, sub.phys).n;
      },
    },
  });
}

describe("issue 9 item 5: @khosim/kho-core's root entry and /testing", () => {
  it("the root entry names its exports one by one (no export *) and holds no file-system I/O", () => {
    const text = readFileSync(resolve(import.meta.dirname, "../src/index.ts"), "utf8");
    expect(text).not.toMatch(/export \*/);
    for (const io of ["readImageFile", "writeImageFile", "writeDebugfs", "decodeDebugfsDir", "pathInside"])
      expect(Object.keys(root), io).not.toContain(io);
    for (const name of ["definePlugin", "defineStruct", "defineAbi", "defineFdtNode", "composeKernel", "runScenario"])
      expect(Object.keys(root), name).toContain(name);
  });

  it("runKexecChain: a cold boot, then a kexec per kernel, the workload on each; the number crosses both", () => {
    const plugin = notePlugin();
    const { host, reports } = runKexecChain({
      plugins: [plugin],
      kernels: ["A", "B", "C"],
      workload: (h, step) => {
        h.context(plugin).state.n += 10 ** step;
      },
    });
    expect(reports.map((r) => r.kind)).toEqual(["cold-boot", "kexec", "kexec"]);
    for (const r of reports.slice(1)) {
      assertRunning(r);
      assertNoAnomalies(r);
      assertSubtree(r, "note", "restored", "note-v1");
    }
    expect(host.context(plugin).state.n).toBe(111);
  });

  it("assertSubtree fails with the report's words when the subtree was refused or is absent", () => {
    const { reports } = runKexecChain({
      plugins: [notePlugin()],
      kernels: ["A", { release: "B", versions: { note: { write: "note-v2" } } }],
    });
    const r = reports[1]!;
    expect(subtreeFate(r, "note")?.fate).toBe("refused");
    expect(() => assertSubtree(r, "note")).toThrow(AssertionError);
    expect(() => assertSubtree(r, "note")).toThrow(/transition #1 \(kexec\): subtree "note" is refused, not restored/);
    expect(() => assertSubtree(r, "note", "refused", "note-v2")).toThrow(/is note-v1, not note-v2/);
    expect(() => assertSubtree(r, "other")).toThrow(/no subtree "other" in the incoming FDT/);
  });

  it("assertRunning fails naming the plugin whose prepare aborted the kexec; the chain goes on from the source", () => {
    const { host, reports } = runKexecChain({ plugins: [notePlugin({ failPrepare: true })], kernels: ["A", "B", "C"] });
    expect(reports.map((r) => r.outcome)).toEqual(["running", "aborted", "aborted"]);
    expect(() => assertRunning(reports[1]!)).toThrow(/outcome is aborted \(aborted by note: .*note is busy/);
    expect(host.kernel.release).toBe("A");
  });
});
