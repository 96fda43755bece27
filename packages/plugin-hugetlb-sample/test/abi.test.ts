import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LiveUpdateHost } from "@khosim/kho-core";
import { generateCHeader, generateMarkdown } from "@khosim/kho-core/abi";
import { afterAll, describe, expect, it } from "vitest";
import {
  describeDescriptor,
  hugetlb_sample_folio_ser,
  hugetlb_sample_hstate_ser,
  hugetlb_sample_ser,
  hugetlbSampleV1,
  identifyHugetlbSample,
  serialize,
} from "../src/index.js";
import { hugetlb, kernel, machine } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "khosim-hugetlb-abi-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A C reader of the descriptor: the generated header, and printf of every field it reads from the bytes. */
const READER = `
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
	static unsigned char buf[65536];
	FILE *f = fopen(argv[1], "rb");
	size_t n = fread(buf, 1, sizeof(buf), f);
	struct hugetlb_sample_ser h;
	struct kho_block_header_ser b;
	struct hugetlb_sample_folio_ser e;
	(void)argc;
	memcpy(&h, buf, sizeof(h));
	printf("%.32s %llu %u\\n", h.compatible, (unsigned long long)h.total_pages, h.nr_hstates);
	for (unsigned i = 0; i < h.nr_hstates; i++)
		printf("hstate %u %llu\\n", h.hstates[i].order, (unsigned long long)h.hstates[i].nr_folios);
	memcpy(&b, buf + sizeof(h), sizeof(b));
	for (unsigned long long i = 0; i < b.count && sizeof(h) + sizeof(b) + (i + 1) * sizeof(e) <= n; i++) {
		memcpy(&e, buf + sizeof(h) + sizeof(b) + i * sizeof(e), sizeof(e));
		printf("folio %llx %llx %u %u %u\\n", (unsigned long long)e.pfn, (unsigned long long)e.owner, e.node,
		       e.order, e.flags);
	}
	return 0;
}
`;

describe("the hugetlb-sample ABI", () => {
  it("identifies any version by the compatible at offset 0, and nothing it cannot read cleanly", () => {
    const blob = new Uint8Array(120);
    blob.set(new TextEncoder().encode("hugetlb-sample-v2"));
    expect(identifyHugetlbSample(blob)).toBe("hugetlb-sample-v2");
    expect(identifyHugetlbSample(blob.subarray(0, 31))).toBeNull();
    expect(identifyHugetlbSample(new Uint8Array(32).fill(0x41))).toBeNull(); // no NUL
  });

  it("documents every field of every struct it uses", () => {
    const md = generateMarkdown(hugetlbSampleV1);
    for (const s of ["hugetlb_sample_ser", "hugetlb_sample_hstate_ser", "hugetlb_sample_folio_ser"])
      expect(md).toContain(`### struct ${s}`);
    for (const s of [hugetlb_sample_ser, hugetlb_sample_hstate_ser, hugetlb_sample_folio_ser])
      for (const m of s.members) expect(m.field.doc, `${s.name}.${m.name}`).toBeTruthy();
  });

  it.each([4096, 16384, 65536] as const)(
    "gcc reads what the simulator wrote through the generated header (PAGE_SIZE %d)",
    (ps) => {
      const host = new LiveUpdateHost(machine(ps === 4096 ? "4KiB" : ps === 16384 ? "16KiB" : "64KiB"));
      host.boot(kernel("A"));
      const a = hugetlb(host);
      const [pmd] = a.pools.sizes;
      a.allocate({ size: pmd!.bytes, count: 2, node: 1, owner: 0xabcdef0123456789n, pinned: true });
      a.allocate({ size: pmd!.bytes, count: 1, node: 0 });
      const mem = host.kernel.mem;
      const done = serialize(mem, host.kernel.out!, a.serPa, a.pools.all(), () => {});
      const bytes = new Uint8Array([...mem.read(a.serPa, 120), ...mem.read(done.blocks.headPa, ps)]);
      const dir = join(tmp, String(ps));
      mkdirSync(dir);
      writeFileSync(join(dir, "blob"), bytes);
      writeFileSync(join(dir, "reader.c"), `${generateCHeader(hugetlbSampleV1, { pageSize: ps })}\n${READER}`);
      execFileSync("gcc", [
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-o",
        join(dir, "reader"),
        join(dir, "reader.c"),
      ]);
      const out = execFileSync(join(dir, "reader"), [join(dir, "blob")], { encoding: "utf8" });
      const sizes = a.pools.sizes;
      const want = [
        `hugetlb-sample-v1 ${3 * 2 ** pmd!.order} ${sizes.length}`,
        ...sizes.map((s) => `hstate ${s.order} ${s.order === pmd!.order ? 3 : 0}`),
        ...a.pools
          .all()
          .map((f) => `folio ${(f.pa / ps).toString(16)} ${f.owner.toString(16)} ${f.node} ${f.order} ${f.flags}`),
      ];
      expect(out.trim().split("\n")).toEqual(want);
    },
  );
});

describe("inspection", () => {
  it("describes the header as written and lists what a reader would refuse, never throwing", () => {
    const host = new LiveUpdateHost(machine("4KiB"));
    host.boot(kernel("A"));
    const a = hugetlb(host);
    a.allocate({ size: "1GiB", count: 1, node: 1, owner: 3n });
    const mem = host.kernel.mem;
    const done = serialize(mem, host.kernel.out!, a.serPa, a.pools.all(), () => {});
    const blob = mem.read(a.serPa, 120);
    expect(describeDescriptor(blob)).toEqual({
      fields: {
        compatible: "hugetlb-sample-v1",
        total_pages: "262144",
        entries: `0x${done.blocks.headPa.toString(16)}`,
        hstates: [
          { order: 9, nr_folios: "0" },
          { order: 18, nr_folios: "1" },
        ],
      },
      unavailable: [`folio entries in the kho_block chain at 0x${done.blocks.headPa.toString(16)}`],
    });
    new DataView(blob.buffer).setBigUint64(32, 5n, true);
    expect(describeDescriptor(blob).problems).toEqual(["hstates cover 262144 pages, total_pages says 5"]);
    new DataView(blob.buffer).setUint32(52, 1, true);
    expect(describeDescriptor(blob)).toMatchObject({
      fields: { compatible: "hugetlb-sample-v1" },
      problems: [expect.stringMatching(/^not a hugetlb-sample-v1 header: .*reserved/)],
    });
    expect(describeDescriptor(new Uint8Array(7)).fields).toEqual({ compatible: null });
  });

  // Found by npm run fuzz (debugfs-blob): the page sum shifted by the order as read, a
  // 536 870 921-bit number per hstate, and the describe ran for minutes.
  it("an hstate order no folio can have (0x20000009) is a problem, in bounded time", () => {
    const host = new LiveUpdateHost(machine("4KiB"));
    host.boot(kernel("A"));
    const a = hugetlb(host);
    a.allocate({ size: "2MiB", count: 2 });
    serialize(host.kernel.mem, host.kernel.out!, a.serPa, a.pools.all(), () => {});
    const blob = host.kernel.mem.read(a.serPa, 120);
    new DataView(blob.buffer).setUint32(56, 0x20000009, true); // hstates[0].order
    const started = performance.now();
    expect(describeDescriptor(blob).problems).toEqual(["hstates: order 536870921 is not a folio order"]);
    expect(performance.now() - started).toBeLessThan(100);
  });
});
