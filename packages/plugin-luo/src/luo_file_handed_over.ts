/**
 * The files the previous kernel handed over, kept as columns. luo_file.c
 * makes a `struct luo_file` per entry when it deserialises; a million
 * handed-over files as a million records, each with two bigints, keep the
 * collector marking them until finish. Here an entry is four u32 words, a
 * handler reference and a status, and a bigint or an object is made only
 * for the file at hand (a retrieve, a finish, a report). Entries are
 * appended in chain order, so every session's files are one range.
 */
import type { KhoError } from "@khosim/kho-core";
import type { LiveFile, LiveupdateFileHandler, LuoFile } from "./luo_file.js";
import { u64Of } from "./luo_file_ser.js";

/** Words per entry: token low, token high, serialized_data low, serialized_data high. */
const WORDS = 4;

export class HandedOverFiles {
  #length = 0;
  #words = new Uint32Array(WORDS * 64);
  /** 0 never retrieved, 1 retrieved, < 0 the failed retrieve's errno. */
  #status = new Int32Array(64);
  readonly #fh: LiveupdateFileHandler[] = [];
  /** What the handler's retrieve gave: the file and its private data (null and undefined before). */
  readonly #file: (LiveFile | null)[] = [];
  readonly #privateData: unknown[] = [];
  /** A failed retrieve's error by entry, thrown again on every later attempt: rare, so a map. */
  readonly #errors = new Map<number, KhoError>();

  get length(): number {
    return this.#length;
  }

  /** Appends an entry; `words` as `readFileEntryWords` fills them. Returns its index. */
  append(fh: LiveupdateFileHandler, words: Uint32Array): number {
    const i = this.#length++;
    if (i === this.#status.length) this.#grow();
    // Word by word: a subarray per entry would be a million views for the collector.
    for (let k = 0; k < WORDS; k++) this.#words[WORDS * i + k] = words[k]!;
    this.#fh.push(fh);
    this.#file.push(null);
    this.#privateData.push(undefined);
    return i;
  }

  #grow(): void {
    const words = new Uint32Array(this.#words.length * 2);
    words.set(this.#words);
    this.#words = words;
    const status = new Int32Array(this.#status.length * 2);
    status.set(this.#status);
    this.#status = status;
  }

  /** The first entry of `[first, first + n)` whose token is `lo`/`hi`, or -1 (the kernel's list scan). */
  find(first: number, n: number, lo: number, hi: number): number {
    const w = this.#words;
    for (let i = first; i < first + n; i++) if (w[WORDS * i] === lo && w[WORDS * i + 1] === hi) return i;
    return -1;
  }

  handler(i: number): LiveupdateFileHandler {
    return this.#fh[i]!;
  }

  token(i: number): bigint {
    return u64Of(this.#words[WORDS * i]!, this.#words[WORDS * i + 1]!);
  }

  serializedData(i: number): bigint {
    return u64Of(this.#words[WORDS * i + 2]!, this.#words[WORDS * i + 3]!);
  }

  status(i: number): number {
    return this.#status[i]!;
  }

  file(i: number): LiveFile | null {
    return this.#file[i]!;
  }

  privateData(i: number): unknown {
    return this.#privateData[i];
  }

  error(i: number): KhoError | null {
    return this.#errors.get(i) ?? null;
  }

  retrieved(i: number, file: LiveFile | null, privateData: unknown): void {
    this.#file[i] = file;
    this.#privateData[i] = privateData;
    this.#status[i] = 1;
  }

  failed(i: number, e: KhoError): void {
    this.#errors.set(i, e);
    this.#status[i] = e.errno;
  }

  /** Entry `i` as a record, for reports: made on demand, a snapshot of its state now. */
  record(i: number): LuoFile {
    return {
      fh: this.handler(i),
      token: this.token(i),
      file: this.file(i),
      serializedData: this.serializedData(i),
      privateData: this.privateData(i),
      retrieveStatus: this.status(i),
      retrieveError: this.error(i),
    };
  }
}

/** A u64 as the u32 halves the columns compare: [low, high]. */
export function u32Halves(v: bigint): [number, number] {
  return [Number(BigInt.asUintN(32, v)), Number(BigInt.asUintN(32, v >> 32n))];
}
