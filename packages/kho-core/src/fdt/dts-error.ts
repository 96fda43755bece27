import { KhoError } from "../errors.js";

/** dtc refused the input: it would print this message and no DTS at all. */
export class DtsError extends KhoError {
  override readonly name = "DtsError";
  constructor(message: string, where?: string) {
    super("EINVAL", message, where);
  }
}
