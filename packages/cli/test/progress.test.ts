import { describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { capture } from "./helpers/io.js";

/** An Io whose stderr claims to be a terminal, as process.stderr.isTTY would. */
function tty() {
  return Object.assign(capture(), { errIsTTY: true });
}

describe("issue 12 item 4: progress on stderr", () => {
  it("on a terminal, one status line per transition, rewritten in place and cleared at the end", async () => {
    const io = tty();
    expect(await main(["sim"], io)).toBe(0);
    const updates = io.stderr.split("\r\x1b[K").filter((s) => s !== "");
    expect(updates).toEqual([
      expect.stringMatching(/^kho sim: step 1\/\d+: #0 cold boot 7\.2\.0-rc1: running$/),
      expect.stringMatching(/^kho sim: step \d+\/\d+: #1 kexec 7\.2\.0-rc1 -> 7\.2\.0-rc1-custom: running$/),
      expect.stringMatching(/^kho sim: step \d+\/\d+: #2 kexec 7\.2\.0-rc1-custom -> 7\.2\.0-rc1: running$/),
      expect.stringMatching(/^kho sim: step \d+\/\d+: #3 kexec 7\.2\.0-rc1 -> 7\.2\.0-rc1-nohuge: running$/),
    ]);
    expect(io.stderr.endsWith("\r\x1b[K")).toBe(true);
    expect(io.stdout).not.toContain("\r");
  });

  it("never with --json, even on a terminal", async () => {
    const io = tty();
    expect(await main(["sim", "--json"], io)).toBe(0);
    expect(io.stderr).toBe("");
  });

  it("never when stderr is a pipe or a file", async () => {
    const io = capture();
    expect(await main(["sim"], io)).toBe(0);
    expect(io.stderr).toBe("");
  });
});
