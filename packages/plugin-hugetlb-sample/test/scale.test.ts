import { describe, expect, it } from "vitest";
import { GUEST_256G, runScale } from "../src/bench/scale.js";

describe("scale", () => {
  it("8 GiB of 2 MiB folios (4096 keys) on a 64 GiB machine: preserved, kexec'd, restored, verified", () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const r = runScale({ ...GUEST_256G, nodeRam: "32GiB", folios: 4096 });
    expect(r.folios).toBe(4096);
    expect(r.guestBytes).toBe(8 * 2 ** 30);
    // 4096 folio keys, the descriptor page, ceil(4096 / 170) chain blocks, the root FDT and kexec-metadata.
    expect(r.keys).toBe(4096 + 1 + Math.ceil(4096 / 170) + 2);
    expect(r.hostVerifiedBytes).toBeGreaterThanOrEqual(r.guestBytes);
    // The guest data never lives in the host: far less than the 8 GiB it stands for.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(256 * 2 ** 20);
  });
});
