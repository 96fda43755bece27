import type { ScenarioStep } from "@khosim/kho-core";
import { luoStep } from "@khosim/plugin-luo";

/** The sessions of the built-in chain, each holding one memfd under token 1. */
const SESSIONS = ["vm-a", "vm-b"] as const;

const text = (session: string, generation: number) => `${session}: guest memory written in generation ${generation}`;

/**
 * LUO's part of one kernel's workload in the built-in chain: take back the
 * memfd every session handed over (checking its contents) and finish the
 * session, then create the sessions again with a memfd of this generation
 * for the next kernel. Generation 1 is the cold boot.
 */
export function luoWorkload(generation: number): ScenarioStep[] {
  return SESSIONS.flatMap((name) => [
    ...(generation > 1
      ? [
          luoStep("retrieveSession", { name }),
          luoStep("retrieveMemfd", { session: name, token: 1, expect: text(name, generation - 1) }),
          luoStep("finishSession", { name }),
        ]
      : []),
    luoStep("createSession", { name }),
    luoStep("preserveMemfd", { session: name, token: 1, text: text(name, generation) }),
  ]);
}
