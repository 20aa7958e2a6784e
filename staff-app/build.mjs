// Builds the staff app into dist/: one bundled, minified ES module (every dependency from npm, nothing from a
// CDN at run time), the page and its stylesheet. `make setup` runs it; the stack uploads dist/.
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";

const out = new URL("./dist/", import.meta.url).pathname;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: ["src/main.js"],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome110", "safari16", "firefox115"],
  // amazon-cognito-identity-js reads Node's `global`; in a browser that is the window.
  define: { global: "globalThis" },
  sourcemap: true,
  outfile: `${out}app.js`,
  logLevel: "warning",
});
for (const file of ["index.html", "app.css"]) cpSync(`src/${file}`, `${out}${file}`);
