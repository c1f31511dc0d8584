// Builds the web console (console/src) into OUT (default src/sundial/gateway/console):
// one minified, content-hashed bundle and stylesheet, and an index.html naming them.
// Deterministic for a given esbuild version, so `make check-console` can diff a fresh
// build against the committed one.
import { build } from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

const out = process.argv[2] ?? "src/sundial/gateway/console";
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });

const result = await build({
  entryPoints: ["console/src/main.ts", "console/src/console.css"],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  outdir: join(out, "assets"),
  entryNames: "[name]-[hash]",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
const script = outputs.find((name) => name.endsWith(".js"));
const style = outputs.find((name) => name.endsWith(".css"));
const index = readFileSync("console/index.html", "utf8")
  .replace("%SCRIPT%", `assets/${script}`)
  .replace("%STYLE%", `assets/${style}`);
writeFileSync(join(out, "index.html"), index);
