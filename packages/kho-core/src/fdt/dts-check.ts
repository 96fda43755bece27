import { DtsError } from "./dts-error.js";
import { children, type DtsNode, type DtsTree, dropProp, findProp, propName, propRows, propValue } from "./dts-tree.js";
import { latin1 } from "./parse.js";

/*
 * The dtc 1.6.1 checks that are errors by default and can fire on a tree
 * read from a blob, in dtc's order. dtc compares names pairwise and climbs to
 * the root per node; here every check is linear in the tree, whatever its
 * width or depth.
 */

function die(message: string, where?: string): never {
  throw new DtsError(message, where);
}

const NODECHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._+-@";
const PROPCHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,._+*#?-";

function firstBad(s: string, allowed: string): number {
  for (let i = 0; i < s.length; i++) if (!allowed.includes(s[i]!)) return i;
  return -1;
}

function isOneString(v: Uint8Array): boolean {
  if (v.length === 0) return false;
  for (let i = 0; i < v.length - 1; i++) if (v[i] === 0) return false;
  return v[v.length - 1] === 0;
}

export function cell(v: Uint8Array): number {
  return ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0;
}

/** Nodes in document order, walked with an explicit stack: depth comes from the input. */
function walk(root: DtsNode): DtsNode[] {
  const out: DtsNode[] = [];
  const stack: DtsNode[] = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    out.push(n);
    const kids = children(n);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
  return out;
}

/** The node's path as dtc prints it, built only for a message: a path per node would cost depth squared. */
function pathOf(n: DtsNode): string {
  const names: string[] = [];
  for (let p: DtsNode | null = n; p?.parent; p = p.parent) names.push(p.name);
  return `/${names.reverse().join("/")}`;
}

/** Errors shown in a refusal; the rest are counted. dtc prints one per pair of duplicates, quadratic in width. */
const SHOWN_ERRORS = 20;

class CheckErrors {
  count = 0;
  readonly shown: string[] = [];
  add(check: string, where: () => string, msg: string, times = 1): void {
    if (times <= 0) return;
    for (let i = 0; i < times && this.shown.length < SHOWN_ERRORS; i++)
      this.shown.push(`ERROR (${check}): ${where()}: ${msg}`);
    this.count += times;
  }
  message(): string {
    const more = this.count - this.shown.length;
    return `${this.shown.join("; ")}${more > 0 ? `; and ${more} more` : ""}; Input tree has errors, aborting`;
  }
}

/**
 * dtc compares every pair of names in a list and fails once per equal pair,
 * at the later one. For each entry this returns how many later entries share
 * its name: that many failures, in dtc's order, counted in linear time.
 */
function laterTwins(names: readonly string[]): number[] {
  if (names.length < 2) return names.map(() => 0);
  const left = new Map<string, number>();
  for (const n of names) left.set(n, (left.get(n) ?? 0) + 1);
  return names.map((n) => {
    const k = left.get(n)! - 1;
    left.set(n, k);
    return k;
  });
}

function propNames(t: DtsTree, n: DtsNode): string[] {
  return propRows(t, n).map((r) => propName(t, r));
}

/**
 * Runs the checks and edits the tree as dtc would print it (a correct `name`
 * property is dropped as redundant), or throws DtsError listing the errors.
 */
export function dtcCheckTree(t: DtsTree): void {
  const nodes = walk(t.root);
  const errors = new CheckErrors();

  for (const n of nodes) {
    const names = children(n).map((c) => c.name);
    const twins = laterTwins(names);
    // Each failure names the later node of its pair; later twins share the name.
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (twins[i]) errors.add("duplicate_node_names", () => name, "Duplicate node name", twins[i]);
    }
  }
  for (const n of nodes)
    for (const k of laterTwins(propNames(t, n)))
      if (k) errors.add("duplicate_property_names", () => pathOf(n), "Duplicate property name", k);
  let nameCharsOk = true;
  for (const n of nodes) {
    const bad = firstBad(n.name, NODECHARS);
    if (bad >= 0) {
      nameCharsOk = false;
      errors.add("node_name_chars", () => pathOf(n), `Bad character '${n.name[bad]}' in node name`);
    }
  }
  if (nameCharsOk) {
    for (const n of nodes) {
      const at = n.name.indexOf("@");
      if (at >= 0 && n.name.indexOf("@", at + 1) >= 0)
        errors.add("node_name_format", () => pathOf(n), "multiple '@' characters in node name");
    }
  } else {
    errors.add("node_name_format", () => "/", "Failed prerequisite 'node_name_chars'");
  }
  for (const n of nodes) {
    for (const name of propNames(t, n)) {
      const bad = firstBad(name, PROPCHARS);
      if (bad >= 0) errors.add("property_name_chars", () => pathOf(n), `Bad character '${name[bad]}' in property name`);
    }
  }
  let nameIsString = true;
  for (const n of nodes) {
    const i = findProp(t, n, "name");
    if (i >= 0 && !isOneString(propValue(t, i))) {
      nameIsString = false;
      errors.add("name_is_string", () => pathOf(n), "property is not a string");
    }
  }
  if (nameIsString) {
    for (const n of nodes) {
      const i = findProp(t, n, "name");
      if (i < 0) continue;
      const value = propValue(t, i);
      const at = n.name.indexOf("@");
      const base = at < 0 ? n.name : n.name.slice(0, at);
      if (value.length !== base.length + 1 || latin1(value.subarray(0, base.length)) !== base)
        errors.add("name_properties", () => pathOf(n), `"name" property is incorrect`);
      else dropProp(t, n, i);
    }
  } else {
    errors.add("name_properties", () => "/", "Failed prerequisite 'name_is_string'");
  }
  const phandles = new Map<number, DtsNode>();
  for (const n of nodes) {
    const pick = (pname: string): number => {
      const i = findProp(t, n, pname);
      if (i < 0) return 0;
      const value = propValue(t, i);
      if (value.length !== 4) {
        errors.add("explicit_phandles", () => pathOf(n), `bad length (${value.length}) ${pname} property`);
        return 0;
      }
      const ph = cell(value);
      if (ph === 0 || ph === 0xffffffff) {
        errors.add("explicit_phandles", () => pathOf(n), `bad value (0x${ph.toString(16)}) in ${pname} property`);
        return 0;
      }
      return ph;
    };
    let ph = pick("phandle");
    const lph = pick("linux,phandle");
    if (!ph && !lph) continue;
    if (lph && ph && ph !== lph)
      errors.add("explicit_phandles", () => pathOf(n), "mismatching 'phandle' and 'linux,phandle' properties");
    if (lph && !ph) ph = lph;
    const other = phandles.get(ph);
    if (other !== undefined && other !== n) {
      const dup = ph;
      errors.add(
        "explicit_phandles",
        () => pathOf(n),
        `duplicated phandle 0x${dup.toString(16)} (seen before at ${pathOf(other)})`,
      );
      continue;
    }
    phandles.set(ph, n);
  }
  if (errors.count > 0) die(errors.message());
  interruptsAssert(t, nodes, phandles);
}

/**
 * dtc's interrupts_property warning reads `interrupt-parent` and the
 * provider's `#interrupt-cells` with propval_cell, which asserts a 4-byte
 * value: dtc aborts before printing anything when either is another length.
 * The search for the interrupt parent climbs the ancestors; what each
 * ancestor leads to is remembered, so a deep chain of such nodes stays linear.
 */
function interruptsAssert(t: DtsTree, nodes: DtsNode[], phandles: Map<number, DtsNode>): void {
  const prop = (n: DtsNode, name: string): Uint8Array | undefined => {
    const i = findProp(t, n, name);
    return i < 0 ? undefined : propValue(t, i);
  };
  const isProvider = (n: DtsNode): boolean =>
    prop(n, "interrupt-controller") !== undefined || prop(n, "interrupt-map") !== undefined;
  // What the climb decides at `n` from its own interrupt-parent: null when it goes on to the parent.
  const own = (n: DtsNode, asker: DtsNode): DtsNode | undefined | null => {
    const ip = prop(n, "interrupt-parent");
    if (ip === undefined) return null;
    if (ip.length !== 4) die("dtc aborts: interrupt-parent is not a single cell", pathOf(asker));
    const ph = cell(ip);
    return ph !== 0 && ph !== 0xffffffff ? phandles.get(ph) : undefined;
  };
  // The interrupt parent the climb finds from an ancestor on (its provider role included).
  const found = new Map<DtsNode, DtsNode | undefined>();
  const fromAncestor = (start: DtsNode | null, asker: DtsNode): DtsNode | undefined => {
    const passed: DtsNode[] = [];
    let irq: DtsNode | undefined;
    for (let a = start; a; a = a.parent) {
      if (found.has(a)) {
        irq = found.get(a);
        break;
      }
      const o = isProvider(a) ? a : own(a, asker);
      if (o !== null) {
        irq = o;
        found.set(a, irq);
        break;
      }
      passed.push(a);
    }
    for (const a of passed) found.set(a, irq);
    return irq;
  };
  for (const n of nodes) {
    if (!prop(n, "interrupts")) continue;
    const o = own(n, n);
    const irq = o !== null ? o : fromAncestor(n.parent, n);
    if (!irq) continue;
    const cells = prop(irq, "#interrupt-cells");
    if (cells !== undefined && cells.length !== 4) die("dtc aborts: #interrupt-cells is not a single cell", pathOf(n));
  }
}
