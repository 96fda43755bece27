import {
  type AnyPlugin,
  type ComposedKernel,
  composeKernel,
  KhoError,
  type KhoPlugin,
  LiveUpdateHost,
  Machine,
  type VersionPin,
} from "@khosim/kho-core";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { expect } from "vitest";
import {
  type LiveupdateFileHandler,
  type LiveupdateUapi,
  LUO_REGISTRY,
  type LuoState,
  luoPlugin,
  Memfd,
  memfdCreate,
  memfdLuoPlugin,
} from "../src/index.js";

export { TokenFile, type TokenHandlerHooks, tokenHandler } from "../src/bench/token-file.js";

export const LUO_CMDLINE = "kho=on liveupdate=on";

export const machine = () =>
  new Machine({
    pageSize: "4KiB",
    ram: [
      { start: 0, size: "1GiB", nid: 0 },
      { start: "4GiB", size: "1GiB", nid: 0 },
    ],
  });

export interface KernelOptions {
  readonly plugins?: readonly AnyPlugin[];
  readonly luo?: AnyPlugin;
  readonly cmdline?: string;
  readonly pin?: VersionPin;
}

/** kexec-metadata, LUO and the memfd handler, plus any extra plugins. */
export function kernel(release: string, o: KernelOptions = {}): ComposedKernel {
  return composeKernel({
    release,
    cmdline: o.cmdline ?? LUO_CMDLINE,
    plugins: [kexecMetadataPlugin, o.luo ?? luoPlugin, memfdLuoPlugin, ...(o.plugins ?? [])],
    ...(o.pin ? { versions: { LUO: o.pin } } : {}),
  });
}

/** LUO's state in the running kernel (`plugin`: a LUO made with other options). */
export function luo(host: LiveUpdateHost, plugin: KhoPlugin<LuoState> = luoPlugin): LuoState {
  return host.context(plugin).state;
}

export function uapi(host: LiveUpdateHost, plugin: KhoPlugin<LuoState> = luoPlugin): LiveupdateUapi {
  return luo(host, plugin).uapi;
}

/** memfd_create + write, installed in the process; returns the fd. */
export function memfdWith(host: LiveUpdateHost, text: string): number {
  const m = memfdCreate(host.kernel, "test");
  m.write(text);
  return uapi(host).installFile(m);
}

export function memfdText(host: LiveUpdateHost, fd: number): string {
  const f = uapi(host).file(fd);
  if (!(f instanceof Memfd)) throw new Error("not a memfd");
  return f.text();
}

/** Asserts `fn` throws a KhoError with the errno `code`. */
export function expectErrno(fn: () => unknown, code: KhoError["code"]): KhoError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KhoError);
    expect((e as KhoError).code).toBe(code);
    return e as KhoError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

/** A file that is not a memfd (stands for /dev/null or anything without a handler). */
export class PlainFile {
  constructor(readonly name: string) {}
}

/** A plugin that registers `fh` through LUO's registry in its setup. */
export function handlerPlugin(name: string, fh: LiveupdateFileHandler): AnyPlugin {
  return {
    name,
    dependsOn: ["luo"],
    setup(ctx) {
      ctx.service(LUO_REGISTRY).registerFileHandler(fh);
    },
  };
}

export function boot(o: KernelOptions = {}): LiveUpdateHost {
  const host = new LiveUpdateHost(machine());
  host.boot(kernel("A", o));
  return host;
}
