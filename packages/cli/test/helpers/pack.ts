import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";

/*
 * Packed tarballs and installs outside the workspace, for the tests that
 * prove a package works where this repository is not. Third-party
 * dependencies come from the npm cache `npm ci` filled (prefer-offline),
 * so only missing metadata is fetched.
 */

export const REPO = resolve(import.meta.dirname, "../../../..");

export const OFFLINE_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  npm_config_prefer_offline: "true",
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
};

/** Runs a bash script with -euo pipefail in `cwd`; returns its stdout, throws (with stderr) on failure. */
export function sh(script: string, cwd: string): string {
  return execFileSync("bash", ["-euo", "pipefail", "-c", script], {
    cwd,
    env: OFFLINE_ENV,
    encoding: "utf8",
    stdio: "pipe",
  });
}

/** `npm pack` of workspaces (`packages/kho-core`) into `dest`: the tarballs' paths, sorted. */
export function packWorkspaces(workspaces: readonly string[], dest: string): string[] {
  const args = workspaces.flatMap((w) => ["-w", w]);
  execFileSync("npm", ["pack", ...args, "--pack-destination", dest], { cwd: REPO, env: OFFLINE_ENV, stdio: "pipe" });
  return readdirSync(dest)
    .filter((f) => f.endsWith(".tgz"))
    .sort()
    .map((f) => join(dest, f));
}
