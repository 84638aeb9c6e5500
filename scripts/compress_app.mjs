// After `vite build`: writes .br and .gz beside every text asset of dist/app, so the node serves
// compressed files without compressing per request (@fastify/static preCompressed), and prints the
// compressed size of the JavaScript the first page load needs.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const root = new URL("../dist/app/", import.meta.url).pathname;
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(js|css|html|svg|json)$/.test(name)) files.push(path);
  }
};
walk(root);
for (const path of files) {
  const body = readFileSync(path);
  writeFileSync(`${path}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  writeFileSync(`${path}.gz`, gzipSync(body, { level: 9 }));
}
// the scripts index.html loads (module script and modulepreloads)
const html = readFileSync(join(root, "index.html"), "utf8");
const scripts = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
let gzip_bytes = 0;
for (const s of scripts) gzip_bytes += statSync(join(root, `${s}.gz`)).size;
console.log(
  `web app: ${files.length} files compressed; initial JavaScript ${scripts.length} file(s), ${(gzip_bytes / 1024).toFixed(1)} KiB gzip`,
);
