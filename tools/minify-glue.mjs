// Trunk post-build hook: minifies the JavaScript trunk wrote into its staging folder
// (wasm-bindgen's glue and its snippets), which trunk's own `minify` leaves as it is. The page's
// size budget (the whole page ≤ 350 KB gzipped) is counted with it.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { minify } from 'terser';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error('minify-glue: TRUNK_STAGING_DIR is not set (run by trunk as a post_build hook)');
  process.exit(1);
}
if (process.env.TRUNK_PROFILE !== 'release') process.exit(0);
const files = [];
const walk = (d) => {
  for (const f of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, f.name);
    if (f.isDirectory()) {
      if (f.name !== 'xterm') walk(p); // xterm.js comes minified
    } else if (/^webrepl-web-.*\.js$/.test(f.name) || p.includes(`${path.sep}snippets${path.sep}`)) {
      files.push(p);
    }
  }
};
walk(dir);
// index.html names each file with its subresource-integrity digest: written anew for the
// minified bytes.
const indexPath = path.join(dir, 'index.html');
let index = fs.readFileSync(indexPath, 'utf8');
const sri = (bytes) => `sha384-${crypto.createHash('sha384').update(bytes).digest('base64')}`;
for (const f of files) {
  const code = fs.readFileSync(f, 'utf8');
  const out = await minify(code, { module: true, compress: { passes: 2 }, mangle: true, format: { comments: false } });
  const before = sri(code);
  if (index.includes(before)) index = index.split(before).join(sri(out.code));
  fs.writeFileSync(f, out.code);
  console.error(`minify-glue: ${path.basename(f)} ${code.length} → ${out.code.length} bytes`);
}
fs.writeFileSync(indexPath, index);
