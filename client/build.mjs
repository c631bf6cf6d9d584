// Builds dist/index.js (one ES module; firebase stays an import, the app brings its own copy)
// and dist/*.d.ts (the TypeScript compiler's declarations of src/).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
await build({
  entryPoints: ["src/index.ts"],
  outfile: "dist/index.js",
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  external: ["firebase", "firebase/*"],
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
});
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"], { stdio: "inherit" });
