import type { ScenarioData } from "@khosim/kho-core";

type Step = ScenarioData["steps"][number];

/** The sessions of the built-in chain, each holding one memfd under token 1. */
const SESSIONS = ["vm-a", "vm-b"] as const;

const text = (session: string, generation: number) => `${session}: guest memory written in generation ${generation}`;

/**
 * LUO's part of one kernel's workload in the built-in chain, as scenario
 * steps: take back the memfd every session handed over (checking its
 * contents) and finish the session, then create the sessions again with a
 * memfd of this generation for the next kernel. Generation 1 is the cold boot.
 */
export function luoWorkload(generation: number): Step[] {
  return SESSIONS.flatMap((name): Step[] => [
    ...(generation > 1
      ? [
          { action: "luo.retrieveSession", args: { name } },
          { action: "luo.retrieveMemfd", args: { session: name, token: 1, expect: text(name, generation - 1) } },
          { action: "luo.finishSession", args: { name } },
        ]
      : []),
    { action: "luo.createSession", args: { name } },
    { action: "luo.preserveMemfd", args: { session: name, token: 1, text: text(name, generation) } },
  ]);
}
