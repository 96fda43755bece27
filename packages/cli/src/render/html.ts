import type { MemoryMap, ScenarioResult, TransitionReport } from "@khosim/kho-core";
import { regionText, renderMemorySvg, xmlEscape } from "./svg.js";

/** One block of a transition's details: a table, or lines shown as they are. */
export type HtmlSection =
  | { readonly title: string; readonly kind: "lines"; readonly lines: readonly string[] }
  | {
      readonly title: string;
      readonly kind: "table";
      readonly className: string;
      readonly head: readonly string[];
      readonly rows: readonly (readonly string[])[];
    };

/** One step of the timeline and what clicking it shows. */
export interface HtmlEntry {
  readonly label: string;
  /** A word the timeline colours by: running, aborted, panicked, image, ... */
  readonly status: string;
  readonly map: MemoryMap | null;
  readonly sections: readonly HtmlSection[];
}

const CSS = `
body { font-family: sans-serif; margin: 1em 2em; color: #222; }
#timeline { display: flex; flex-wrap: wrap; gap: .5em; margin: 1em 0; }
#timeline button { border: 1px solid #888; border-radius: 4px; padding: .4em .8em; background: #eef5ee; }
#timeline button { cursor: pointer; }
#timeline button.aborted { background: #fff3d6; } #timeline button.panicked { background: #fbdada; }
#timeline button[aria-pressed="true"] { outline: 3px solid #4a6fa5; }
table { border-collapse: collapse; margin: .5em 0; } td, th { border: 1px solid #ccc; padding: .2em .5em; }
pre { background: #f6f6f6; padding: .5em; overflow-x: auto; }
`;

// Shows the clicked transition's details and hides the others; the first is shown on load.
const JS = `
const buttons = document.querySelectorAll("#timeline button");
function show(i) {
  for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.index === String(i)));
  for (const d of document.querySelectorAll("section.details")) d.hidden = d.dataset.index !== String(i);
}
for (const b of buttons) b.addEventListener("click", () => show(b.dataset.index));
show(0);
`;

function section(s: HtmlSection): string {
  const body =
    s.kind === "lines"
      ? `<pre>${xmlEscape(s.lines.join("\n")) || "(none)"}</pre>`
      : s.rows.length === 0
        ? "<p>(none)</p>"
        : `<table class="${s.className}"><tr>${s.head.map((h) => `<th>${xmlEscape(h)}</th>`).join("")}</tr>` +
          s.rows.map((r) => `<tr>${r.map((c) => `<td>${xmlEscape(c)}</td>`).join("")}</tr>`).join("") +
          "</table>";
  return `<h3>${xmlEscape(s.title)}</h3>\n${body}`;
}

/** The map's regions as a table, by address: small ones the picture cannot show are listed here. */
function regionTable(map: MemoryMap): HtmlSection {
  return {
    title: "memory regions",
    kind: "table",
    className: "regions",
    head: ["node", "kind", "owner", "start", "size", "what"],
    rows: map.nodes.flatMap((n) =>
      n.regions.map((r) => [String(n.nid), r.kind, r.owner ?? "", r.start, r.size, regionText(r)]),
    ),
  };
}

/**
 * One self-contained HTML page: inline CSS and script, no external
 * resource (its Content-Security-Policy forbids any), a timeline of the
 * entries, and per entry its memory map (inline SVG) and sections, shown
 * when the entry is clicked.
 */
export function renderHtmlPage(title: string, intro: readonly string[], entries: readonly HtmlEntry[]): string {
  const csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'";
  const timeline = entries
    .map(
      (e, i) => `<button type="button" class="${xmlEscape(e.status)}" data-index="${i}">${xmlEscape(e.label)}</button>`,
    )
    .join("\n");
  const details = entries
    .map((e, i) =>
      [
        `<section class="details" data-index="${i}">`,
        `<h2>${xmlEscape(e.label)}</h2>`,
        e.map ? `<h3>memory map</h3>\n<div class="memory-map">${renderMemorySvg(e.map, e.label)}</div>` : "",
        e.map ? section(regionTable(e.map)) : "",
        ...e.sections.map(section),
        "</section>",
      ].join("\n"),
    )
    .join("\n");
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    `<title>${xmlEscape(title)}</title>`,
    `<style>${CSS}</style>`,
    "</head>",
    "<body>",
    `<h1>${xmlEscape(title)}</h1>`,
    ...intro.map((l) => `<p>${xmlEscape(l)}</p>`),
    `<nav id="timeline">\n${timeline}\n</nav>`,
    details,
    `<script>${JS}</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

function transitionLabel(r: TransitionReport): string {
  return r.kind === "cold-boot"
    ? `#${r.index} cold boot ${r.to?.release ?? ""}`
    : `#${r.index} kexec ${r.from?.release ?? ""} -> ${r.outcome === "aborted" ? "(aborted)" : (r.to?.release ?? "")}`;
}

/** The sections of one transition: its subtrees, preserved memory, failures and the kernel's log. */
function transitionSections(r: TransitionReport): HtmlSection[] {
  const rows = (["restored", "refused", "orphaned", "lost"] as const).flatMap((what) =>
    r.subtrees[what].map((s) => [
      what,
      s.name,
      s.plugin ?? "",
      s.compatible ?? "",
      s.phys ?? "",
      s.size === undefined ? "" : String(s.size),
      s.reason ?? (s.accepted ? `accepts ${s.accepted.join(", ")}` : ""),
    ]),
  );
  const orders = Object.entries(r.preserved.byOrder).map(([o, n]) => `order ${o}: ${n} blocks`);
  const owners = Object.entries(r.preserved.byOwner).map(([o, n]) => `${o}: ${n} pages`);
  return [
    {
      title: "outcome",
      kind: "lines",
      lines: [
        r.outcome +
          (r.panic ? `: ${r.panic}` : "") +
          (r.abortedBy ? `: ${r.abortedBy.plugin}: ${r.abortedBy.reason}` : ""),
        ...(r.to ? [`boot ${r.to.bootKind}, handover ${r.to.handover}, KHO ${r.to.khoEnabled ? "on" : "off"}`] : []),
      ],
    },
    {
      title: "subtrees",
      kind: "table",
      className: "subtrees",
      head: ["", "name", "plugin", "compatible", "phys", "size", "reason"],
      rows,
    },
    {
      title: "preserved",
      kind: "lines",
      lines: [`${r.preserved.blocks} blocks, ${r.preserved.pages} pages`, ...orders, ...owners],
    },
    {
      title: "anomalies and hook failures",
      kind: "lines",
      lines: [
        ...r.anomalies.map((a) => `[${a.kind}] ${a.message}`),
        ...r.hookFailures.map((f) => `${f.plugin} ${f.hook}: ${f.code}: ${f.message} (${f.policy})`),
      ],
    },
    { title: "log", kind: "lines", lines: r.log },
    { title: "notes", kind: "lines", lines: [...r.notes, ...r.hazards.map((h) => `hazard: ${h}`)] },
  ];
}

/** `kho sim --html`: the scenario's transitions as a timeline, each with its memory map (maps[i] for report i). */
export function renderHtmlReport(result: ScenarioResult, maps: readonly MemoryMap[]): string {
  const ram = result.machine.ram.map((r) => `${r.start}+${r.size} (node ${r.nid})`).join(", ");
  const failed = result.expectations.filter((e) => e.failures.length > 0);
  return renderHtmlPage(
    `kho sim: ${result.scenario}`,
    [
      `machine: ${result.machine.pageSize}-byte pages, RAM ${ram}`,
      ...(result.stopped ? ["chain stopped: a kernel panicked"] : []),
      ...failed.map((e) => `expectation at step ${e.step} failed: ${e.failures.join("; ")}`),
    ],
    result.transitions.map((r, i) => ({
      label: transitionLabel(r),
      status: r.outcome,
      map: maps[i] ?? null,
      sections: transitionSections(r),
    })),
  );
}
