import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { composeKernel, LiveUpdateHost, Machine } from "@khosim/kho-core";
import { jumpImage, writeImageFile } from "@khosim/kho-core/image";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main.js";
import { BUILTIN_PLUGINS } from "../src/plugins.js";
import { capture } from "./helpers/io.js";

/** Debian's chromium-headless-shell, installed by scripts/host-tools.sh (run by `npm test` and .ci/run). */
const CHROMIUM = "/usr/bin/chromium-headless-shell";

const dir = mkdtempSync(join(tmpdir(), "khosim-cli-html-"));
let browser: Browser;

beforeAll(async () => {
  // No skip: without the browser this test fails, naming what to install.
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: run scripts/host-tools.sh (as root) or apt-get install chromium-headless-shell`,
    );
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

/** Opens a page file, recording console errors, page errors and every request the page makes. */
async function open(file: string) {
  const page = await browser.newPage();
  const url = pathToFileURL(file).href;
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  await page.route("**/*", (route) => {
    requests.push(route.request().url());
    return route.request().url() === url ? route.continue() : route.abort();
  });
  await page.goto(url);
  return { page, url, errors, requests };
}

describe("the HTML report in a real browser (issue 12 item 6)", () => {
  it("kho sim --html: no console error, no request, owners on the map, a click shows its subtrees", async () => {
    const file = join(dir, "sim.html");
    expect(await main(["sim", "--html", file], capture())).toBe(0);
    const { page, url, errors, requests } = await open(file);
    expect(requests).toEqual([url]);
    expect(errors).toEqual([]);
    const buttons = page.locator("#timeline button");
    await expect
      .poll(() => buttons.allTextContents())
      .toEqual([
        "#0 cold boot 7.2.0-rc1",
        "#1 kexec 7.2.0-rc1 -> 7.2.0-rc1-custom",
        "#2 kexec 7.2.0-rc1-custom -> 7.2.0-rc1",
        "#3 kexec 7.2.0-rc1 -> 7.2.0-rc1-nohuge",
      ]);
    const details = (i: number) => page.locator(`section.details[data-index="${i}"]`);
    expect(await details(0).isVisible()).toBe(true);
    expect(await details(2).isVisible()).toBe(false);

    await buttons.nth(2).click();
    expect(await details(0).isVisible()).toBe(false);
    expect(await details(2).isVisible()).toBe(true);
    const subtrees = await details(2).locator("table.subtrees tr td:nth-child(2)").allTextContents();
    expect(subtrees.sort()).toEqual(["LUO", "hugetlb-sample", "kexec-metadata"]);
    // The memory map of that kexec, drawn: a legend naming each owner, and their ranges on screen.
    const legend = await details(2).locator("svg .legend text").allTextContents();
    for (const owner of ["kernel", "kexec-metadata", "luo", "hugetlb-sample"])
      expect(legend).toContain(`preserved by ${owner}`);
    const luo = details(2).locator('svg rect[data-kind="preserved"][data-owner="luo"]');
    expect(await luo.count()).toBeGreaterThan(0);
    expect(await luo.first().isVisible()).toBe(true);
    const box = await luo.first().boundingBox();
    expect(box?.width).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("kho inspect --html: the image's page loads offline and lists its subtrees with their owners", async () => {
    const image = join(dir, "handover.core");
    const kernel = (release: string) => composeKernel({ release, plugins: [...BUILTIN_PLUGINS] });
    const host = new LiveUpdateHost(new Machine(), { atJump: (m, h) => writeImageFile(image, jumpImage(m, h)) });
    host.boot(kernel("A"));
    host.kexec(kernel("B"));
    const html = join(dir, "inspect.html");
    expect(await main(["inspect", image, "--html", html], capture())).toBe(0);
    const { page, url, errors, requests } = await open(html);
    expect(requests).toEqual([url]);
    expect(errors).toEqual([]);
    const cell = (n: number) => page.locator(`section.details table.subtrees tr td:nth-child(${n})`).allTextContents();
    // Name and owner of each subtree (a LUO with no session writes none).
    expect(await cell(1)).toEqual(["hugetlb-sample", "kexec-metadata"]);
    expect(await cell(2)).toEqual(["hugetlb-sample", "kexec-metadata"]);
    const legend = await page.locator("svg .legend text").allTextContents();
    for (const owner of ["kernel", "hugetlb-sample", "kexec-metadata"])
      expect(legend).toContain(`preserved by ${owner}`);
    await page.close();
  }, 60_000);
});
