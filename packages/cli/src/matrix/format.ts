import type { MatrixCell } from "./cell.js";
import type { MatrixSpec } from "./spec.js";

/** A table with left-aligned columns two spaces apart. */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join("  "));
}

/**
 * The human form: the grid (rows: the running kernel, columns: the kernel
 * it kexecs into), then every pair with each subtree's fate and the reason.
 */
export function formatMatrix(spec: MatrixSpec, cells: readonly MatrixCell[]): string {
  const n = spec.order.length;
  const grid = table([
    ["from \\ to", ...spec.order],
    ...spec.order.map((from, i) => [from, ...cells.slice(i * n, (i + 1) * n).map((c) => c.verdict)]),
  ]);
  const workload = spec.steps.length ? `${spec.steps.length} workload steps before each kexec` : "no workload steps";
  const out = [
    `upgrade matrix ${spec.name}: ${n} kernels, ${cells.length} pairs, ${workload}`,
    "rows: the running kernel; columns: the kernel it live-updates to",
    "",
    ...grid,
    "",
  ];
  for (const c of cells) {
    out.push(`${c.from} -> ${c.to}: ${c.verdict}${c.reason && c.verdict === "panic" ? ` (${c.reason})` : ""}`);
    for (const s of c.subtrees)
      out.push(`  ${s.name}: ${s.fate}${s.compatible ? ` (${s.compatible})` : ""}${s.reason ? `: ${s.reason}` : ""}`);
    if (c.verdict === "aborted") out.push(`  ${c.reason}`);
  }
  return `${out.join("\n")}\n`;
}
