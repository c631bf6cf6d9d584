// Builds dist/index.js (the end user's entry) and dist/admin.js (`@credit-backend/client/admin`:
// the admin's, which re-exports the user's), ES modules whose shared code is one chunk (so an
// error class is the same class from either entry; firebase stays an import, the app brings its
// own copy), and dist/*.d.ts (the TypeScript compiler's declarations of src/).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
await build({
  entryPoints: { index: "src/index.ts", admin: "src/admin-entry.ts" },
  outdir: "dist",
  chunkNames: "shared-[hash]",
  splitting: true,
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
