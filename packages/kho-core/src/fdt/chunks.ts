/**
 * Text output gathered into pieces of about CHUNK_CHARS characters, so a
 * printer can hand out a listing of any size without holding all of it: the
 * DTS or canon text of a large or deep blob is many times the blob, more than
 * one JavaScript string can hold.
 */
export const CHUNK_CHARS = 1 << 16;

/** Two lowercase hex digits per byte value, for the printers' value text. */
export const HEX2: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** Value bytes formatted per slice, so one huge property never becomes one huge string. */
export const VALUE_SLICE = 1 << 12;

export class TextChunks {
  // Concatenation builds a rope in V8: cheap to grow, flattened once when written.
  private text = "";

  /** Adds text; true when a chunk is ready to take. */
  add(text: string): boolean {
    this.text += text;
    return this.text.length >= CHUNK_CHARS;
  }

  /** The gathered text, and a fresh start. */
  take(): string {
    const s = this.text;
    this.text = "";
    return s;
  }

  get empty(): boolean {
    return this.text.length === 0;
  }
}

/** Joins a printer's chunks, for callers that want the whole text. */
export function joinChunks(chunks: Iterable<string>): string {
  let s = "";
  for (const c of chunks) s += c;
  return s;
}
