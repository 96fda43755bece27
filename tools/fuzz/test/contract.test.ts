import { composeKernel, definePlugin, KernelPanic, KhoError, LiveUpdateHost } from "@khosim/kho-core";
import { Machine } from "@khosim/kho-core/kexec";
import { TEST_MACHINE } from "@khosim/kho-core/testing";
import { describe, expect, it } from "vitest";
import { ContractViolation, checkHookFailures, underContract } from "../src/contract.js";

describe("issue 13 item 1: one error contract for every decoder", () => {
  it("a KhoError is an outcome with its errno, a KernelPanic the outcome panic", () => {
    expect(underContract("t", () => undefined)).toEqual({ kind: "ok" });
    expect(
      underContract("t", () => {
        throw new KhoError("EINVAL", "bad");
      }),
    ).toEqual({ kind: "error", code: "EINVAL" });
    expect(
      underContract("t", () => {
        throw new KernelPanic("7.2.0-rc1", "luo");
      }),
    ).toEqual({ kind: "error", code: "panic" });
  });

  it("anything else escaping is a ContractViolation naming the target and what escaped", () => {
    const run = () =>
      underContract("fdt-dts", () => {
        (null as unknown as { x: number }).x;
      });
    expect(run).toThrow(ContractViolation);
    expect(run).toThrow(/^fdt-dts: TypeError: .* escaped \(only KhoError or KernelPanic may\)$/);
    expect(() =>
      underContract("t", () => {
        throw "a string";
      }),
    ).toThrow("t: a thrown string (a string) escaped");
  });

  it("a plugin hook's foreign exception, contained by the host in the report, is a violation too", () => {
    const broken = definePlugin({
      name: "broken",
      outgoing: {
        init() {
          throw new RangeError("Invalid array length");
        },
      },
    });
    const host = new LiveUpdateHost(new Machine(TEST_MACHINE));
    const report = host.boot(composeKernel({ release: "a", plugins: [broken] }));
    expect(report.hookFailures.map((f) => f.code)).toEqual(["RangeError"]);
    expect(() => checkHookFailures("t", report)).toThrow("t: RangeError: broken init: Invalid array length escaped");
    const fine = new LiveUpdateHost(new Machine(TEST_MACHINE)).boot(composeKernel({ release: "a", plugins: [] }));
    expect(() => checkHookFailures("t", fine)).not.toThrow();
  });
});
