// Multi-page build: every <page>/index.html under web/ (demo/ now, admin/ later) becomes a page
// of dist/, which firebase.json's "hosting" serves. A new page needs no change here.
import { readdirSync, existsSync } from "node:fs";
import { resolve } from "node:path";
import { defineConfig } from "vite";

const root = import.meta.dirname;
const pages = { index: resolve(root, "index.html") };
for (const entry of readdirSync(root, { withFileTypes: true })) {
  const html = resolve(root, entry.name, "index.html");
  if (entry.isDirectory() && !["node_modules", "dist", "shared", "public"].includes(entry.name) && existsSync(html)) {
    pages[entry.name] = html;
  }
}

export default defineConfig({
  root,
  base: "/",
  // One copy of the Firebase SDK, whether imported by a page or by the client library (a linked package).
  resolve: { dedupe: ["firebase"] },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    // Auth, Firestore, Functions and App Check in one page are about 600 kB (180 kB gzipped).
    chunkSizeWarningLimit: 800,
    rollupOptions: { input: pages },
  },
});
