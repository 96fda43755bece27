import type { MemoryMap, MemoryRegion, MemoryRegionKind } from "@khosim/kho-core";

/** Text for XML content and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const KIND_COLOUR: Readonly<Record<Exclude<MemoryRegionKind, "preserved">, string>> = {
  poison: "#d9534f",
  scratch: "#5bc0de",
  "kexec-segment": "#f0ad4e",
  "radix-node": "#222222",
};

const KIND_LABEL: Readonly<Record<MemoryRegionKind, string>> = {
  poison: "poisoned (not handed over)",
  scratch: "scratch area",
  "kexec-segment": "kexec segment",
  preserved: "preserved",
  "radix-node": "radix tree node page",
};

/** Owners' colours: fixed for KHO itself and for memory nobody claims, from a palette for plugins. */
const OWNER_PALETTE = ["#2ca02c", "#9467bd", "#1f77b4", "#e377c2", "#8c564b", "#bcbd22", "#17becf", "#ff7f0e"];

function ownerColour(owners: readonly string[], owner: string): string {
  if (owner === "kernel") return "#4a6fa5";
  if (owner === "unknown") return "#999999";
  const plugins = owners.filter((o) => o !== "kernel" && o !== "unknown");
  return OWNER_PALETTE[Math.max(0, plugins.indexOf(owner)) % OWNER_PALETTE.length]!;
}

function regionColour(map: MemoryMap, r: MemoryRegion): string {
  return r.kind === "preserved" ? ownerColour(map.owners, r.owner ?? "unknown") : KIND_COLOUR[r.kind];
}

/** The lane a kind is drawn in: overlapping kinds (a segment inside scratch, poison around both) stay visible. */
const LANE: Readonly<Record<MemoryRegionKind, number>> = {
  poison: 0,
  scratch: 1,
  "kexec-segment": 2,
  preserved: 3,
  "radix-node": 4,
};
const LANES = 5;
const WIDTH = 960;
const LEFT = 90;
const LANE_H = 14;
const NODE_GAP = 36;

function size(n: number): string {
  for (const [u, v] of [
    ["TiB", 2 ** 40],
    ["GiB", 2 ** 30],
    ["MiB", 2 ** 20],
    ["KiB", 2 ** 10],
  ] as const)
    if (n >= v && n % (v / 1024) === 0) return `${Number((n / v).toFixed(2))} ${u}`;
  return `${n} B`;
}

/** A one-line description of a region, as its tooltip and the HTML report show it. */
export function regionText(r: MemoryRegion): string {
  const what =
    r.kind === "preserved"
      ? `preserved by ${r.owner}`
      : r.label
        ? `${KIND_LABEL[r.kind]}: ${r.label}`
        : KIND_LABEL[r.kind];
  return `${what}, ${r.start}+${r.size} (${size(Number(r.size))})`;
}

/**
 * The physical address space per NUMA node as SVG: one band per node
 * (address grows to the right, scaled to the node's span), with lanes for
 * poison, scratch, kexec segments, preserved memory coloured by owner and
 * radix node pages; every range at least 2 pixels wide so single pages
 * show; a legend of kinds and owners. Each range carries `data-kind` and
 * `data-owner` and a `<title>` tooltip.
 */
export function renderMemorySvg(map: MemoryMap, title = "physical memory"): string {
  const plot = WIDTH - LEFT - 20;
  const bandH = LANES * LANE_H;
  const parts: string[] = [];
  let y = 40;
  for (const node of map.nodes) {
    const starts = node.ram.map((r) => Number(r.start));
    const lo = Math.min(...starts);
    const hi = Math.max(...node.ram.map((r) => Number(r.start) + Number(r.size)));
    const x = (pa: number): number => LEFT + ((pa - lo) / (hi - lo)) * plot;
    parts.push(`<g class="numa-node" data-nid="${node.nid}">`);
    parts.push(`<text x="4" y="${y + bandH / 2 + 4}" font-size="12">node ${node.nid}</text>`);
    for (const r of node.ram) {
      const s = Number(r.start);
      const w = Math.max(2, x(s + Number(r.size)) - x(s));
      parts.push(
        `<rect class="ram" x="${x(s).toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${bandH}" fill="#f4f4f4" ` +
          `stroke="#bbbbbb"><title>RAM ${r.start}+${r.size}</title></rect>`,
      );
    }
    for (const r of node.regions) {
      const s = Number(r.start);
      const w = Math.max(2, x(s + Number(r.size)) - x(s));
      const owner = r.owner !== undefined ? ` data-owner="${xmlEscape(r.owner)}"` : "";
      parts.push(
        `<rect class="region" data-kind="${r.kind}"${owner} data-start="${r.start}" data-size="${r.size}" ` +
          `x="${x(s).toFixed(2)}" y="${y + LANE[r.kind] * LANE_H + 1}" width="${w.toFixed(2)}" ` +
          `height="${LANE_H - 2}" fill="${regionColour(map, r)}"><title>${xmlEscape(regionText(r))}</title></rect>`,
      );
    }
    parts.push(`<text x="${LEFT}" y="${y + bandH + 14}" font-size="10">0x${lo.toString(16)}</text>`);
    parts.push(
      `<text x="${LEFT + plot}" y="${y + bandH + 14}" font-size="10" text-anchor="end">0x${hi.toString(16)}</text>`,
    );
    parts.push("</g>");
    y += bandH + NODE_GAP;
  }
  const legend: [string, string, string][] = [
    ...(["poison", "scratch", "kexec-segment", "radix-node"] as const).map(
      (k) => [k, KIND_COLOUR[k], KIND_LABEL[k]] as [string, string, string],
    ),
    ...map.owners.map(
      (o) => ["preserved", ownerColour(map.owners, o), `preserved by ${o}`] as [string, string, string],
    ),
  ];
  parts.push(`<g class="legend">`);
  legend.forEach(([kind, colour, text], i) => {
    const lx = LEFT + (i % 3) * 280;
    const ly = y + Math.floor(i / 3) * 18;
    parts.push(
      `<g class="legend-item" data-kind="${kind}"><rect x="${lx}" y="${ly}" width="12" height="12" fill="${colour}"/>` +
        `<text x="${lx + 18}" y="${ly + 10}" font-size="12">${xmlEscape(text)}</text></g>`,
    );
  });
  parts.push("</g>");
  y += Math.ceil(legend.length / 3) * 18;
  if (map.omitted) {
    parts.push(
      `<text class="omitted" x="${LEFT}" y="${y + 14}" font-size="12">${map.omitted.regions} small regions ` +
        `(${map.omitted.bytes} bytes) left out</text>`,
    );
    y += 18;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ` +
      `font-family="sans-serif">`,
    `<text x="4" y="20" font-size="14" font-weight="bold">${xmlEscape(title)}</text>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}
