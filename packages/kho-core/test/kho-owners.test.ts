import { describe, expect, it } from "vitest";
import { KhoError } from "../src/errors.js";
import { Machine } from "../src/kexec/index.js";

describe("who preserved each key", () => {
  it("up to 255 owners are recorded; a preserve by one more is ENOSPC and leaves no key behind", () => {
    const m = new Machine({ pageSize: "4KiB", ram: [{ start: 0, size: "1GiB", nid: 0 }] });
    const out = m.boot({ release: "A" }).out!;
    const pa = (i: number) => 2 ** 29 + i * 2 * 4096;
    let failed = -1;
    for (let i = 0; i < 300 && failed < 0; i++) {
      out.actor = `plugin-${i}`;
      try {
        out.preservePages(pa(i), 1);
      } catch (e) {
        expect(e).toBeInstanceOf(KhoError);
        expect((e as KhoError).code).toBe("ENOSPC");
        failed = i;
      }
    }
    // The kernel may already own keys of its own: at most 255 owners in all, at least 254 plugins.
    expect(failed).toBeGreaterThanOrEqual(254);
    expect(failed).toBeLessThanOrEqual(255);
    const preserved = out.preserved().map((f) => f.pa);
    expect(preserved).not.toContain(pa(failed));
    for (const i of [0, 100, failed - 1]) {
      expect(preserved).toContain(pa(i));
      expect(out.ownerOf(pa(i), 0)).toBe(`plugin-${i}`);
    }
    // An owner already known still preserves.
    out.actor = "plugin-7";
    out.preservePages(pa(failed), 1);
    expect(out.ownerOf(pa(failed), 0)).toBe("plugin-7");
  });
});
