// Serves a folder (the built page, dist/) over HTTP on loopback, with the right MIME types for
// .wasm and .mjs. Used by `tools/dev.sh serve`, the end-to-end tests and the benchmarks.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png',
  '.svg': 'image/svg+xml', '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8',
};

/** Starts serving `root`; `extra(req, res)` may answer a request first (returns true if it did).
 *  `cors`: let pages of other origins load the files (as GitHub Pages does), e.g. a board's page. */
export function serveStatic(root, { port = 0, host = '127.0.0.1', extra = null, cors = false } = {}) {
  const base = path.resolve(root);
  const server = http.createServer((req, res) => {
    if (extra && extra(req, res)) return;
    let rel;
    try {
      rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400).end('bad request');
      return;
    }
    let file = path.join(base, rel);
    if (!file.startsWith(base)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    if (rel.endsWith('/')) file = path.join(file, 'index.html');
    fs.readFile(file, (err, data) => {
      if (err) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store',
        ...(cors ? { 'access-control-allow-origin': '*' } : {}),
      });
      res.end(data);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve({ server, port: server.address().port, url: `http://${host}:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) }));
  });
}
