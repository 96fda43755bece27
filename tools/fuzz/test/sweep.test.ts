import { describe, expect, it } from "vitest";
import { runSample } from "../src/sample.js";
import { sweepBaseline, sweepCorruptions, sweepOne, touchedByRootByte } from "../src/sweep.js";

/** Every failing corruption with its problems, for a readable assertion. */
function sweep(xor: number): string[] {
  return sweepCorruptions(xor).flatMap((c) => {
    const r = sweepOne(c);
    return r.problems.map((p) => `${c.blob || "root FDT"}+${c.offset} ^${c.xor}: ${p}`);
  });
}

describe("issue 13 item 6: no data loss under a single-byte corruption of the sample handover", () => {
  it("the sample hands over a root FDT and four subtrees, and B restores all four", () => {
    const b = sweepBaseline();
    expect(b.blobs.map((x) => x.name)).toEqual(["", "kexec-metadata", "LUO", "hugetlb-sample", "counter"]);
    expect([...b.restored.keys()].sort()).toEqual(["LUO", "counter", "hugetlb-sample", "kexec-metadata"]);
    // hugetlb folios and LUO's memfd folio among the blocks held as handed over.
    expect(b.held.map((h) => h.owner)).toEqual(expect.arrayContaining(["hugetlb-sample", "luo"]));
    expect(sweepCorruptions().length).toBe(b.fdtTotalsize + 73 + 32 + 120 + 36);
  });

  it("a root FDT byte touches the subtree whose node holds it; a shared byte, or damage, touches more", () => {
    const root = sweepBaseline().blobs[0]!.bytes;
    const names = ["counter", "hugetlb-sample", "LUO", "kexec-metadata"];
    const at = (name: string) => root.indexOf(new TextEncoder().encode(name)[0]!, 0x68);
    expect(touchedByRootByte(at("counter"), root, false, names)).toEqual(["counter"]);
    expect(touchedByRootByte(root.indexOf(0x4c, 0x68), root, false, names)).toEqual(["LUO"]);
    // The header and the strings block belong to every subtree.
    expect(touchedByRootByte(4, root, false, names)).toEqual(names);
    expect(touchedByRootByte(sweepBaseline().fdtTotalsize - 2, root, false, names)).toEqual(names);
    // Damage in the first child hides every later one from kho_retrieve_subtree.
    expect(touchedByRootByte(at("counter"), root, true, names)).toEqual(names);
  });

  // Every byte of the root FDT (to its totalsize) and of each subtree blob, two corruptions each.
  for (const xor of [0xff, 0x01])
    it(`every byte inverted with ^${xor}: untouched subtrees restored as before, touched ones listed`, () => {
      expect(sweep(xor)).toEqual([]);
    });

  it("a broken length in the first child of the root hides the later children: the report lists them lost", () => {
    const { blobs } = sweepBaseline();
    const root = blobs[0]!.bytes;
    const struct = new DataView(root.buffer, root.byteOffset).getUint32(8);
    // The first child is the last subtree added; its first property's length word
    // follows its name ("counter\0") and the FDT_PROP tag: 0xff000008 bytes long.
    const first = root.indexOf(0x63, struct);
    expect(new TextDecoder().decode(root.subarray(first, first + 7))).toBe("counter");
    const r = sweepOne({ blob: "", offset: first + 8 + 4, xor: 0xff });
    expect(r.problems).toEqual([]);
    expect(r.report.notes.join("\n")).toContain("incoming root FDT is damaged (FDT_ERR_BADSTRUCTURE)");
    const lost = r.report.subtrees.lost.map((s) => [s.name, s.reason]);
    expect(lost).toContainEqual([
      "LUO",
      "kho_retrieve_subtree: -ENOENT, the incoming root FDT is damaged (FDT_ERR_BADSTRUCTURE)",
    ]);
    expect(r.report.log.join("\n")).not.toContain("damaged");
  });

  it("a subtree whose node name is corrupted is orphaned under its new name, with its address", () => {
    const run = runSample((jump) => {
      const root = jump.blobs[0]!;
      const at = root.bytes.indexOf(0x4c, 0x38); // the "L" of "LUO"
      jump.mem.write(root.pa + at, Uint8Array.of(0xcc));
    });
    const luo = run.blobs.find((b) => b.name === "LUO")!;
    expect(run.report.subtrees.orphaned).toEqual([{ name: "\ufffdUO", phys: `0x${luo.pa.toString(16)}`, size: 32 }]);
  });
});
