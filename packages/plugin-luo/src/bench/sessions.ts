/**
 * A LUO live update at scale: `sessions` sessions of `filesPerSession`
 * token files each are created and preserved through /dev/liveupdate, the
 * machine kexecs (LUO serialises every session and file into its block
 * chains, KHO hands them over), and the next kernel retrieves every session
 * and file and finishes them. Each phase is timed on its own clock reading.
 */
import { composeKernel, definePlugin, KhoError, LiveUpdateHost, Machine } from "@khosim/kho-core";
import { type BenchTimer, collectGarbage } from "@khosim/kho-core/bench";
import { kexecMetadataPlugin } from "@khosim/plugin-kexec-metadata";
import { LUO_REGISTRY, luoPlugin } from "../plugin.js";
import { TokenFile, tokenHandler } from "./token-file.js";

export interface LuoScaleCase {
  readonly sessions: number;
  readonly filesPerSession: number;
}

/** Nanoseconds per phase, and what came back. */
export interface LuoScaleResult {
  readonly createNs: number;
  readonly kexecNs: number;
  readonly retrieveNs: number;
  readonly finishNs: number;
  /** "ok", or the first session or file that did not come back as it went. */
  readonly check: string;
}

const tokenPlugin = definePlugin({
  name: "bench-token-files",
  dependsOn: ["luo"],
  setup(ctx) {
    ctx.service(LUO_REGISTRY).registerFileHandler(tokenHandler("bench-token-v1"));
  },
});

const kernel = (release: string) =>
  composeKernel({
    release,
    cmdline: "kho=on liveupdate=on",
    plugins: [kexecMetadataPlugin, luoPlugin, tokenPlugin],
  });

const sessionName = (i: number) => `session-${i}`;
/** The token of file `j` of session `i`, and the value its file carries: distinct, and both above 2^53. */
const TOKEN_BASE = 2n ** 60n;
const tokenOf = (i: number, j: number, perSession: number) => TOKEN_BASE + BigInt(i * perSession + j);
const fileValue = (token: bigint) => token ^ 0xffff_ffffn;

export function runLuoScale(c: LuoScaleCase, nowNs: BenchTimer): LuoScaleResult {
  // Blocks of 100 000 file sets (one page each) and 1961 session blocks: about 400 MiB of 4 KiB pages.
  const host = new LiveUpdateHost(
    new Machine({
      pageSize: "4KiB",
      ram: [
        { start: 0, size: "2GiB", nid: 0 },
        { start: "4GiB", size: "2GiB", nid: 0 },
      ],
    }),
  );
  host.boot(kernel("A"));
  const per = c.filesPerSession;
  const lap = (() => {
    let t = 0;
    return (): number => {
      const now = nowNs();
      const d = now - t;
      t = now;
      return d;
    };
  })();

  collectGarbage();
  lap();
  const out = host.context(luoPlugin).state.uapi;
  const dev = out.open();
  for (let i = 0; i < c.sessions; i++) {
    const s = out.createSession(dev, sessionName(i));
    for (let j = 0; j < per; j++) {
      const token = tokenOf(i, j, per);
      out.preserveFd(s, out.installFile(new TokenFile(fileValue(token))), token);
    }
  }
  const createNs = lap();

  collectGarbage();
  lap();
  const r = host.kexec(kernel("B"));
  const kexecNs = lap();
  if (r.outcome !== "running") throw new KhoError("EPROTO", `the kexec ended ${r.outcome}`);

  collectGarbage();
  lap();
  const next = host.context(luoPlugin).state.uapi;
  const dev2 = next.open();
  const fds: number[] = [];
  let check = "ok";
  for (let i = 0; i < c.sessions && check === "ok"; i++) {
    const s = next.retrieveSession(dev2, sessionName(i));
    fds.push(s);
    for (let j = 0; j < per; j++) {
      const token = tokenOf(i, j, per);
      const f = next.file(next.retrieveFd(s, token));
      if (!(f instanceof TokenFile) || f.value !== fileValue(token)) {
        check = `file ${token} of ${sessionName(i)} came back wrong`;
        break;
      }
    }
  }
  const retrieveNs = lap();

  collectGarbage();
  lap();
  for (const s of fds) next.finishSession(s);
  for (const s of fds) next.close(s);
  const finishNs = lap();

  const left = host.context(luoPlugin).state.core.sessions.incoming.size;
  if (check === "ok" && fds.length !== c.sessions) check = `retrieved ${fds.length} of ${c.sessions} sessions`;
  if (check === "ok" && left !== 0) check = `${left} sessions left unfinished`;
  return { createNs, kexecNs, retrieveNs, finishNs, check };
}
