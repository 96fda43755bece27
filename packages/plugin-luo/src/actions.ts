import {
  actionFor,
  KhoError,
  type LiveUpdateHost,
  type PluginAction,
  type PluginContext,
  type ScenarioStep,
} from "@khosim/kho-core";
import { z } from "zod";
import { Memfd, memfdCreate } from "./memfd.js";
import type { LuoState } from "./plugin.js";

/** The open fds a scenario's process holds in one kernel: the device and its sessions by name. */
const processes = new WeakMap<LuoState, { dev: number | null; sessions: Map<string, number> }>();

function processOf(ctx: PluginContext<LuoState>) {
  let p = processes.get(ctx.state);
  if (!p) {
    p = { dev: null, sessions: new Map() };
    processes.set(ctx.state, p);
  }
  return p;
}

function device(ctx: PluginContext<LuoState>): number {
  const p = processOf(ctx);
  p.dev ??= ctx.state.uapi.open();
  return p.dev;
}

function sessionFd(ctx: PluginContext<LuoState>, name: string): number {
  const fd = processOf(ctx).sessions.get(name);
  if (fd === undefined) throw new KhoError("EBADF", `the scenario holds no fd for session "${name}"`, name);
  return fd;
}

const sessionName = z.string().min(1).max(63);
const token = z.union([z.bigint(), z.number().int().nonnegative()]).transform((t) => BigInt(t));

/** An action in the shape plugins declare them: a summary, zod arguments, and what it does. */
export type LuoAction<A extends z.ZodType> = PluginAction<LuoState, A>;

const action = actionFor<LuoState>();

/**
 * The /dev/liveupdate operations as scenario actions. The device is
 * opened on first use; session fds are kept by session name.
 */
export const luoActions = {
  createSession: action({
    summary: "LIVEUPDATE_IOCTL_CREATE_SESSION",
    args: z.strictObject({ name: sessionName }),
    run(ctx, a) {
      processOf(ctx).sessions.set(a.name, ctx.state.uapi.createSession(device(ctx), a.name));
    },
  }),
  preserveMemfd: action({
    summary: "memfd_create, write `text`, LIVEUPDATE_SESSION_PRESERVE_FD with `token`",
    args: z.strictObject({ session: sessionName, token, text: z.string() }),
    run(ctx, a) {
      const m = memfdCreate(ctx, a.session);
      m.write(a.text);
      ctx.state.uapi.preserveFd(sessionFd(ctx, a.session), ctx.state.uapi.installFile(m), a.token);
    },
  }),
  retrieveSession: action({
    summary: "LIVEUPDATE_IOCTL_RETRIEVE_SESSION",
    args: z.strictObject({ name: sessionName }),
    run(ctx, a) {
      processOf(ctx).sessions.set(a.name, ctx.state.uapi.retrieveSession(device(ctx), a.name));
    },
  }),
  retrieveMemfd: action({
    summary: "LIVEUPDATE_SESSION_RETRIEVE_FD, then check the memfd holds `expect`",
    args: z.strictObject({ session: sessionName, token, expect: z.string() }),
    run(ctx, a) {
      const f = ctx.state.uapi.file(ctx.state.uapi.retrieveFd(sessionFd(ctx, a.session), a.token));
      const text = f instanceof Memfd ? f.text() : null;
      if (text !== a.expect)
        throw new KhoError("EIO", `memfd ${a.token} of "${a.session}" holds ${JSON.stringify(text)}`, a.session);
    },
  }),
  finishSession: action({
    summary: "LIVEUPDATE_SESSION_FINISH",
    args: z.strictObject({ name: sessionName }),
    run(ctx, a) {
      ctx.state.uapi.finishSession(sessionFd(ctx, a.name));
    },
  }),
  closeSession: action({
    summary: "close() of a session fd",
    args: z.strictObject({ name: sessionName }),
    run(ctx, a) {
      ctx.state.uapi.close(sessionFd(ctx, a.name));
      processOf(ctx).sessions.delete(a.name);
    },
  }),
};

export type LuoActionName = keyof typeof luoActions;

/**
 * A scenario step running one LUO action in the running kernel; the
 * arguments are checked against the action's schema when the step runs.
 */
export function luoStep<N extends LuoActionName>(name: N, args: z.input<(typeof luoActions)[N]["args"]>): ScenarioStep {
  return {
    run: `luo.${name}`,
    action: (host: LiveUpdateHost) => host.action(`luo.${name}`, args),
  };
}
