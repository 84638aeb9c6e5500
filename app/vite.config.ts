// Builds the web app into dist/app (served by the node; see src/web/static.ts).
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  plugins: [react()],
  build: {
    outDir: "../dist/app",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    // the chart library is the big part; it loads with the trading screen
    chunkSizeWarningLimit: 500,
  },
  server: {
    // `npx vite --config app/vite.config.ts` against a node on :8080 for development
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/web": "http://127.0.0.1:8080",
      "/sapi": "http://127.0.0.1:8080",
      "/holdfast": "http://127.0.0.1:8080",
      "/stream": { target: "ws://127.0.0.1:8080", ws: true },
      "/ws": { target: "ws://127.0.0.1:8080", ws: true },
    },
  },
});
