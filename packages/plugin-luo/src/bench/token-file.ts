/**
 * A minimal third-party file handler: the file's value is its
 * serialized_data, nothing is kept in memory of its own. Tests use it to
 * drive LUO's file paths without memfd; the LUO bench uses it so that it
 * measures LUO, not a handler.
 */
import { KhoError } from "@khosim/kho-core";
import type { LiveFile, LiveupdateFileHandler } from "../luo_file.js";

/** A file only the token handler preserves: carries a value in its serialized_data. */
export class TokenFile {
  constructor(readonly value: bigint) {}
}

export interface TokenHandlerHooks {
  freezeFails?: (f: TokenFile) => boolean;
  canFinish?: () => boolean;
  retrieveFails?: boolean;
  /** Receives one line per op called; without it nothing is recorded (and no line is formatted). */
  calls?: string[];
}

/**
 * A file handler registered through LUO's registry exactly as memfd is:
 * preserve copies the file's value into serialized_data, retrieve makes a
 * TokenFile of it again.
 */
export function tokenHandler(compatible: string, hooks: TokenHandlerHooks = {}): LiveupdateFileHandler {
  return {
    compatible,
    ops: {
      canPreserve: (_h, file: LiveFile) => file instanceof TokenFile,
      preserve(a) {
        hooks.calls?.push("preserve");
        a.serializedData = (a.file as TokenFile).value;
      },
      unpreserve: () => hooks.calls?.push("unpreserve"),
      freeze(a) {
        hooks.calls?.push(`freeze ${(a.file as TokenFile).value}`);
        if (hooks.freezeFails?.(a.file as TokenFile)) throw new KhoError("EIO", "freeze refused");
      },
      unfreeze: (a) => hooks.calls?.push(`unfreeze ${(a.file as TokenFile).value}`),
      retrieve(a) {
        hooks.calls?.push("retrieve");
        if (hooks.retrieveFails) throw new KhoError("EIO", "retrieve refused");
        a.file = new TokenFile(a.serializedData);
      },
      canFinish: () => hooks.canFinish?.() ?? true,
      finish: (a) => hooks.calls?.push(`finish ${a.retrieveStatus}`),
    },
  };
}
