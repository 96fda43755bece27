import { mkdirSync, writeFileSync } from "node:fs";
import {
  type Handover,
  KhoError,
  type LiveUpdateHost,
  type Machine,
  type ScenarioObserver,
  type TransitionReport,
} from "@khosim/kho-core";
import { debugfsView, writeDebugfs } from "@khosim/kho-core/debugfs";
import { be32 } from "@khosim/kho-core/fdt";
import { pathInside } from "@khosim/kho-core/fs";
import { type HandoverImage, jumpImage, writeImageFile } from "@khosim/kho-core/image";

/** What the jump of a kexec handed over, kept until the transition's report. */
interface Jump {
  readonly image: HandoverImage;
  readonly rootFdt: Uint8Array | null;
}

/** The root KHO FDT the record points at, exactly its header's totalsize bytes. */
function rootFdtAtJump(machine: Machine, handover: Handover): Uint8Array | null {
  const rec = handover.record;
  if (!rec) return null;
  const total = be32(machine.mem.read(rec.fdtPa, 8), 4);
  if (total > rec.fdtSize)
    throw new KhoError("EINVAL", `root FDT totalsize ${total} is beyond the ${rec.fdtSize} bytes handed over`);
  return machine.mem.read(rec.fdtPa, total);
}

/** `00-cold-boot`, `03-kexec`: the folder of one transition (no release in it: a release may hold any text). */
function transitionFolder(r: TransitionReport): string {
  return `${String(r.index).padStart(2, "0")}-${r.kind}`;
}

/**
 * `kho sim --out DIR`: per transition a folder with the root KHO FDT as
 * handed over (`root.dtb`), the ELF core handover image at the jump
 * (`image.elf`) and the booted kernel's debugfs `kho/` view (`debugfs/`).
 * A cold boot has no handover (only `debugfs/`); an aborted kexec did not
 * jump. Every path is built with pathInside, so nothing lands outside DIR.
 */
export class TransitionFiles implements ScenarioObserver {
  private pending: Jump | null = null;
  /** The files written, relative to the folder, in order. */
  readonly written: string[] = [];

  constructor(readonly dir: string) {}

  jump(machine: Machine, handover: Handover): void {
    this.pending = { image: jumpImage(machine, handover), rootFdt: rootFdtAtJump(machine, handover) };
  }

  transition(report: TransitionReport, host: LiveUpdateHost): void {
    const name = transitionFolder(report);
    const folder = pathInside(this.dir, name);
    mkdirSync(folder, { recursive: true });
    const jump = this.pending;
    this.pending = null;
    if (jump?.rootFdt) {
      writeFileSync(pathInside(folder, "root.dtb"), jump.rootFdt);
      this.written.push(`${name}/root.dtb`);
    }
    if (jump) {
      writeImageFile(pathInside(folder, "image.elf"), jump.image);
      this.written.push(`${name}/image.elf`);
    }
    const view = debugfsView(host.kernel);
    writeDebugfs(pathInside(folder, "debugfs"), view);
    this.written.push(...[...view.files.keys()].map((f) => `${name}/debugfs/${f}`));
  }
}
