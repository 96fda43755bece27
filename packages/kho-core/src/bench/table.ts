import type { BenchRow } from "./case.js";

const num = (v: number | null, digits: number) => (v === null ? "-" : v.toFixed(digits));

/** The rows as an aligned text table, with the geometric mean of the radix ratios below it. */
export function formatTable(rows: readonly BenchRow[]): string {
  const cells = [
    ["case", "unit", "ts", "ref", "ts/ref", "rss MiB", "check"],
    ...rows.map((r) => [r.case, r.unit, num(r.ts, 1), num(r.ref, 1), num(r.ratio, 2), num(r.rss_mib, 0), r.check]),
  ];
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  const lines = cells.map((c) =>
    c
      .map((cell, i) => (i === 0 || i === 1 || i === 6 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  "),
  );
  for (const kind of ["add", "walk", "rss"]) {
    const ratios = rows.filter((r) => r.case.startsWith(`radix ${kind} `) && r.ratio !== null).map((r) => r.ratio!);
    if (ratios.length === 0) continue;
    const geo = Math.exp(ratios.reduce((a, x) => a + Math.log(x), 0) / ratios.length);
    lines.push(`radix ${kind}: geometric mean ts/ref ${geo.toFixed(2)}, worst ${Math.max(...ratios).toFixed(2)}`);
  }
  return lines.map((l) => l.trimEnd()).join("\n");
}
