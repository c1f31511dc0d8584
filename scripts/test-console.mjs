// Runs the console's unit tests (tests/console/*.test.ts) with Node's test runner: each
// file bundled by esbuild (the same compiler as the build) into a temporary folder first,
// since Node cannot run TypeScript itself.
import { build } from "esbuild";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";

const folder = "tests/console";
const files = readdirSync(folder).filter((name) => name.endsWith(".test.ts"));
const out = mkdtempSync(join(tmpdir(), "console-tests-"));
try {
  await build({
    entryPoints: files.map((name) => join(folder, name)),
    bundle: true,
    platform: "node",
    format: "esm",
    outdir: out,
    outExtension: { ".js": ".mjs" },
    logLevel: "warning",
  });
  const outputs = files.map((name) => join(out, name.replace(/\.ts$/, ".mjs")));
  const result = spawnSync(process.execPath, ["--test", ...outputs], { stdio: "inherit" });
  process.exitCode = result.status ?? 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
