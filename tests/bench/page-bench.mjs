// Benchmark of the built page in Chromium against the virtual board (tools/dev.sh bench).
// Prints one table; each row names the board behaviour it ran on:
// - "instant" (startBoard({instant: true}): each frame one write, Nagle off): page size, put and
//   get of 1 MB through the page (the WebREPL get, ?get=wa) next to plain JS in the same browser
//   and a raw Node client, and terminal throughput for 5 MB of emit() output;
// - "faithful" (the default: each frame two writes, header then payload, Nagle on, as boards
//   write; the client's delayed ACKs stall what waits for them): the page's get of 1 MB on a
//   direct link (read through the raw REPL) and through `webrepl proxy` (WebREPL get, read
//   ahead), 1 MB of print() output from the board's interpreter with the longest main-thread
//   stall, and keystroke echo, direct and through the proxy.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import WebSocket from 'ws';
import { spawn } from 'node:child_process';
import { launch, openPage, connect, panelDownload, startBoard, closedPort, PASSWORD, DIST, ROOT } from '../e2e/support.mjs';
import { printTable } from './table.mjs';

const MB = 1024 * 1024;
const rows = [];
let boardKind = '–';
const row = (what, value, target = '') => rows.push([what, boardKind, value, target]);

function pageSize() {
  let raw = 0;
  let gz = 0;
  const walk = (d) => {
    for (const f of fs.readdirSync(d)) {
      const p = path.join(d, f);
      if (fs.statSync(p).isDirectory()) walk(p);
      else {
        const b = fs.readFileSync(p);
        raw += b.length;
        gz += zlib.gzipSync(b, { level: 9 }).length;
      }
    }
  };
  walk(DIST);
  return { raw, gz };
}

/** A minimal raw client: login, then put/get with the board's own pacing (the baseline). */
async function rawClient(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  ws.binaryType = 'nodebuffer';
  const queue = [];
  let wake = null;
  ws.on('message', (data, isBinary) => {
    queue.push({ data: Buffer.from(data), isBinary });
    if (wake) wake();
  });
  const next = async (binary) => {
    for (;;) {
      const i = queue.findIndex((m) => m.isBinary === binary);
      if (i >= 0) return queue.splice(i, 1)[0].data;
      await new Promise((r) => (wake = r));
      wake = null;
    }
  };
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  let text = '';
  while (!text.includes('Password: ')) text += (await next(false)).toString();
  ws.send(`${PASSWORD}\r`);
  text = '';
  while (!text.includes('>>> ')) text += (await next(false)).toString();
  const header = (op, size, name) => {
    const h = Buffer.alloc(82);
    h.write('WA', 0);
    h[2] = op;
    h.writeUInt32LE(size, 12);
    h.writeUInt16LE(name.length, 16);
    h.write(name, 18);
    return h;
  };
  return {
    async put(name, data) {
      ws.send(header(1, data.length, name));
      await next(true);
      for (let o = 0; o < data.length; o += 1024) ws.send(data.subarray(o, o + 1024));
      await next(true);
    },
    async get(name) {
      ws.send(header(2, 0, name));
      await next(true);
      const parts = [];
      let pending = Buffer.alloc(0);
      for (;;) {
        ws.send(Buffer.from([0]));
        while (pending.length < 2) pending = Buffer.concat([pending, await next(true)]);
        const len = pending.readUInt16LE(0);
        while (pending.length < 2 + len) pending = Buffer.concat([pending, await next(true)]);
        parts.push(pending.subarray(2, 2 + len));
        pending = pending.subarray(2 + len);
        if (len === 0) break;
      }
      while (pending.length < 4) pending = Buffer.concat([pending, await next(true)]);
      return Buffer.concat(parts);
    },
    close: () => new Promise((r) => { ws.once('close', r); ws.close(); }),
  };
}

// This machine's speed drifts (shared 2-core VMs: ±30 % from one second to the next), so the
// page and its baseline run in alternating rounds, each round both, and the figures are medians;
// the percentage is the median of the per-round ratios (each taken seconds apart).
const ROUNDS = Number(process.env.BENCH_ROUNDS || 7);
const PUTS = 3; // a put takes ~80 ms: each round's figure is the median of three
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const rate = (bytes, ms) => `${(bytes / MB / (ms / 1000)).toFixed(2)} MB/s (${ms.toFixed(0)} ms)`;
const spread = (v) => `${rate(MB, median(v))}, range ${Math.min(...v).toFixed(0)}–${Math.max(...v).toFixed(0)} ms`;
const pause = (ms) => new Promise((r) => setTimeout(r, ms));


const size = pageSize();
row('page size (all files)', `${(size.raw / 1024).toFixed(0)} KB raw, ${(size.gz / 1024).toFixed(0)} KB gzipped`, '≤ 350 KB gzipped');

const data = Buffer.alloc(MB);
for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 10)) & 0xff;
const env = await launch({ root: ROOT });
// BENCH_ONLY=faithful runs only the faithful board's rows, BENCH_ONLY=instant only the instant's.
if (process.env.BENCH_ONLY !== 'faithful') {
boardKind = 'instant';
const board = await startBoard({ port: 0, password: PASSWORD, instant: true });

// What the board side allows without a browser: a raw Node client.
const raw = await rawClient(board.port);
const rawPut = [];
const rawGet = [];
for (let i = 0; i < 3; i++) {
  let t = performance.now();
  await raw.put('raw.bin', data);
  rawPut.push(performance.now() - t);
  t = performance.now();
  if (!(await raw.get('raw.bin')).equals(data)) throw new Error('raw get differs');
  rawGet.push(performance.now() - t);
}
await raw.close();
await pause(200);

// The least a browser client can do: plain JavaScript in the same Chromium
// (tests/bench/baseline.html), against the page, round after round.
const base = await env.context.newPage();
await base.goto(`${env.web.url}tests/bench/baseline.html`);
// The WebREPL get (?get=wa), to compare with plain JS doing the same.
const page = await openPage(env, board, { base: 'dist/', query: '&get=wa' });
const js = { put: [], get: [] };
const pg = { put: [], get: [], safe: [] };
const jsRound = async () => {
  const puts = [];
  for (let i = 0; i < PUTS; i++) {
    puts.push(await base.evaluate(([u, p]) => window.put(u, p, 'js.bin', 1 << 20), [board.url, PASSWORD]));
    await pause(50);
  }
  js.put.push(median(puts));
  const r = await base.evaluate(([u, p]) => window.get(u, p, 'raw.bin'), [board.url, PASSWORD]);
  if (r.got !== MB) throw new Error('js get short');
  js.get.push(r.ms);
  await pause(50);
};
const pageRound = async () => {
  await connect(page);
  // The panel's listing after login runs in the raw REPL: let it finish first.
  await page.waitForSelector('#fs-list li[data-name="boot.py"]');
  const puts = [];
  const safePuts = [];
  for (let i = 0; i < PUTS; i++) {
    // The panel's upload (put to a temporary name, then renamed): one batch, one row.
    await page.evaluate(() => {
      document.querySelector('#fs-jobs').innerHTML = '';
      // When the row says the data is on the board (its size check and rename follow): the
      // put's own part of the upload, to compare with plain JS's plain put.
      window.__putSent = 0;
      const jobs = document.querySelector('#fs-jobs');
      const o = new MutationObserver(() => {
        if (!window.__putSent && /checking and renaming/.test(jobs.textContent)) {
          window.__putSent = performance.now();
          o.disconnect();
        }
      });
      o.observe(jobs, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    await page.setInputFiles('#fs-files', { name: 'page.bin', mimeType: 'application/octet-stream', buffer: data });
    await page.waitForSelector('#fs-jobs li[data-state=done]', { timeout: 60_000, polling: 5 });
    // The transfer's own time, from the row (excludes reading the File and this polling):
    // queued → data sent, and queued → done (with the size check and rename).
    const li = '#fs-jobs li[data-state=done]';
    const t0 = Number(await page.getAttribute(li, 'data-t0'));
    puts.push((await page.evaluate(() => window.__putSent)) - t0);
    safePuts.push(Number(await page.getAttribute(li, 'data-ms')));
    if (!(await board.readFile('page.bin')).equals(data)) throw new Error('page put differs');
  }
  pg.put.push(median(puts));
  pg.safe.push(median(safePuts));
  await page.evaluate(() => { document.querySelector('#fs-gets').innerHTML = ''; });
  const dl = await panelDownload(page, 'page.bin', { timeout: 60_000 });
  if (!fs.readFileSync(await dl.path()).equals(data)) throw new Error('page get differs');
  await page.waitForSelector('#fs-gets li[data-state=done]');
  pg.get.push(Number(await page.getAttribute('#fs-gets li[data-state=done]', 'data-ms')));
  await page.click('#connect'); // disconnect: the board takes one session
  await page.waitForSelector('#status[data-state=disconnected]');
  await pause(200);
};
for (let r = 0; r < ROUNDS; r++) {
  if (r % 2) { await pageRound(); await jsRound(); } else { await jsRound(); await pageRound(); }
}
const ratio = (k) => median(pg[k].map((ms, i) => js[k][i] / ms)) * 100;
await connect(page); // terminal() starts by disconnecting it

row(`put 1 MB: the page, the upload's put (queued → data on the board; median of ${ROUNDS}×${PUTS})`, spread(pg.put), `≥ 90 % of plain JS: ${ratio('put').toFixed(0)} %`);
row('  the whole safe upload (with the size check and rename in the raw REPL)', spread(pg.safe), 'plain JS does no such check');
row('put 1 MB: plain JS, same browser', spread(js.put), 'browser baseline');
row('put 1 MB: raw Node client', spread(rawPut), 'board limit without a browser');
row(`get 1 MB: the page (median of ${ROUNDS})`, spread(pg.get), `≥ 90 % of plain JS: ${ratio('get').toFixed(0)} %`);
row('get 1 MB: plain JS, same browser', spread(js.get), 'browser baseline (one round trip per 256 B)');
row('get 1 MB: raw Node client', spread(rawGet), 'board limit without a browser');

// Terminal: 5 MB of board output framed as prints are (the line, then \r\n); from the board's
// emit(), since its interpreter alone tops out near 3 MB/s. Lines of 100 bytes (~100,000 frames,
// bound by the browser's per-message cost) and of 1000 bytes (~10,000 frames, bound by bytes).
async function terminal(lineLen) {
  const lines = Math.ceil((5 * MB) / (lineLen + 2));
  const emitAll = async () => {
    for (let i = 0; i < lines; i += 500) {
      board.emit(`${'x'.repeat(lineLen)}\n`.repeat(Math.min(500, lines - i)));
      await new Promise((r) => setImmediate(r));
    }
  };
  // Plain JS baseline: receive only.
  await page.click('#connect'); // disconnect the page: the board has one session
  await page.waitForSelector('#status[data-state=disconnected]');
  await new Promise((r) => setTimeout(r, 100));
  const pending = base.evaluate(([u, p, n]) => window.receive(u, p, n), [board.url, PASSWORD, 5 * MB]);
  await base.waitForFunction(() => window.__ready);
  let t = performance.now();
  await emitAll();
  await pending;
  const jsMs = performance.now() - t;
  await base.evaluate(() => { window.__ready = false; });
  await new Promise((r) => setTimeout(r, 100));
  // Plain JS writing to xterm.js once per animation frame, as the page does: what the
  // terminal library allows in this browser.
  const pendingX = base.evaluate(([u, p, n]) => window.receiveXterm(u, p, n), [board.url, PASSWORD, 5 * MB]);
  await base.waitForFunction(() => window.__ready);
  t = performance.now();
  await emitAll();
  await pendingX;
  const jsXtermMs = performance.now() - t;
  await base.evaluate(() => { window.__ready = false; });
  await new Promise((r) => setTimeout(r, 100));
  // The page: bytes handed to xterm.js, with the main thread watched. (The file panel's
  // listing after login runs in the raw REPL and owns the output meanwhile: let it finish, as
  // emit() bypasses the board's REPL.)
  await connect(page);
  await page.waitForSelector('#fs-list li[data-name="boot.py"]');
  await page.evaluate(() => {
    window.__bench = { maxGap: 0, longTasks: 0, maxLongTask: 0 };
    let last = performance.now();
    const tick = () => {
      const now = performance.now();
      window.__bench.maxGap = Math.max(window.__bench.maxGap, now - last);
      last = now;
      if (!window.__bench.stop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) {
        window.__bench.longTasks++;
        window.__bench.maxLongTask = Math.max(window.__bench.maxLongTask, e.duration);
      }
    }).observe({ type: 'longtask', buffered: false });
  });
  const start = await page.evaluate(() => window.__webrepl.parsed || 0);
  t = performance.now();
  await emitAll();
  await page.waitForFunction((target) => (window.__webrepl.parsed || 0) >= target, start + 5 * MB - 4096, { timeout: 300_000, polling: 10 });
  const pageMs = performance.now() - t;
  const b = await page.evaluate(() => { window.__bench.stop = true; return window.__bench; });
  row(`terminal 5 MB, ${lineLen}-byte lines: the page`, rate(5 * MB, pageMs), `${lineLen >= 1000 ? '≥ 5 MB/s' : 'bound by messages/s'}; ${(jsMs / pageMs * 100).toFixed(0)} % of plain JS`);
  row(`terminal 5 MB, ${lineLen}-byte lines: plain JS`, rate(5 * MB, jsMs), `receive only, ${lines * 2} frames`);
  row(`terminal 5 MB, ${lineLen}-byte lines: plain JS + xterm.js`, rate(5 * MB, jsXtermMs), `same batching as the page; page = ${(jsXtermMs / pageMs * 100).toFixed(0)} % of it`);
  row(`  longest frame gap / long task`, `${b.maxGap.toFixed(0)} ms / ${b.maxLongTask.toFixed(0)} ms (${b.longTasks} long tasks)`, 'stall ≤ 100 ms');
}
await terminal(100);
await terminal(1000);

await page.close();
await base.close();
await board.close();
}

// ----- the faithful board: two writes per frame, Nagle on -----
if (process.env.BENCH_ONLY === 'instant') {
  await env.close();
  printTable(rows);
  process.exit(0);
}
boardKind = 'faithful';
const real = await startBoard({ port: 0, password: PASSWORD });
await real.writeFile('/page.bin', data);
await real.writeFile('/small.bin', data.subarray(0, 64 * 1024));
await real.writeFile('/mid.bin', data.subarray(0, 200 * 1024));
const proxyPort = await closedPort();
const proxy = spawn('cargo', ['run', '--release', '--quiet', '-p', 'webrepl', '--', 'proxy', '--listen', `127.0.0.1:${proxyPort}`], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
await new Promise((resolve, reject) => {
  proxy.stderr.on('data', (d) => { if (String(d).includes('listening')) resolve(); });
  proxy.on('exit', (c) => reject(new Error(`proxy exited ${c}`)));
});
const links = {
  direct: `ws://127.0.0.1:${real.port}/`,
  proxy: `ws://127.0.0.1:${proxyPort}/ws://127.0.0.1:${real.port}`,
};
/** A page connected to the faithful board over `link`, listing done; `fn(page)`; disconnected. */
async function onLink(link, fn, query = '') {
  const p = await openPage(env, real, { base: 'dist/', query });
  await p.fill('#url', links[link]);
  await connect(p);
  await p.waitForSelector('#fs-list li[data-name="boot.py"]');
  try {
    return await fn(p);
  } finally {
    await p.click('#connect');
    await p.waitForSelector('#status[data-state=disconnected]');
    await p.close();
    await pause(300);
  }
}
/** Downloads `name` with the file panel's ⤓ `n` times; the transfers' own times (the rows' data-ms). */
async function pageGets(p, name, want, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    await p.evaluate(() => { document.querySelector('#fs-gets').innerHTML = ''; });
    const dl = await panelDownload(p, name, { timeout: 400_000 });
    if (!fs.readFileSync(await dl.path()).equals(want)) throw new Error(`page get of ${name} differs`);
    await p.waitForSelector('#fs-gets li[data-state=done]');
    times.push(Number(await p.getAttribute('#fs-gets li[data-state=done]', 'data-ms')));
  }
  return times;
}
const gets0 = real.stats.gets;
if (process.env.BENCH_SKIP_GETS) { /* the rows below only */ } else {
const rawGet1 = await onLink('direct', (p) => pageGets(p, 'page.bin', data, 3), '&read=hex');
row('get 1 MB: the page, direct link (raw-REPL read, hex: ?read=hex, median of 3)', spread(rawGet1), '≤ 2 s');
const rawGet200 = await onLink('direct', (p) => pageGets(p, 'mid.bin', data.subarray(0, 200 * 1024), 1));
row('get 200 KB: the page, direct link (raw-REPL read, base64: the default)', `${(rawGet200[0] / 1000).toFixed(2)} s (${(rawGet200[0] * 5.12 / 1000).toFixed(1)} s per MB)`, 'the virtual board\'s b2a_base64 is slow');
if (real.stats.gets !== gets0) throw new Error('the direct page used the WebREPL get');
const waGet64 = await onLink('direct', (p) => pageGets(p, 'small.bin', data.subarray(0, 64 * 1024), 1), '&get=wa');
row('get 64 KB: the page, direct link, WebREPL get (?get=wa)', `${(waGet64[0] / 1000).toFixed(1)} s (${(waGet64[0] * 16 / 1000).toFixed(0)} s per MB)`, 'why the raw-REPL read: a stall per 256-byte chunk');
// Until the proxy nudges the board's ACKs (native branch), each chunk still stalls on this
// board: 64 KB first, and 1 MB only if that took under 10 s.
const within = (ms, job) => Promise.race([job, pause(ms).then(() => [Infinity])]);
const proxyGet64 = await onLink('proxy', (p) => within(60_000, pageGets(p, 'small.bin', data.subarray(0, 64 * 1024), 1)));
row('get 64 KB: the page through webrepl proxy (WebREPL get, read ahead)', proxyGet64[0] === Infinity ? 'did not finish within 60 s' : `${(proxyGet64[0] / 1000).toFixed(2)} s (${(proxyGet64[0] * 16 / 1000).toFixed(1)} s per MB)`, '');
if (proxyGet64[0] < 10_000) {
  const proxyGet1 = await onLink('proxy', (p) => pageGets(p, 'page.bin', data, 3));
  row('get 1 MB: the page through webrepl proxy (WebREPL get, read ahead)', spread(proxyGet1), '≤ 0.8 s');
} else {
  row('get 1 MB: the page through webrepl proxy (WebREPL get, read ahead)', 'skipped: the 64 KB get took over 10 s (no ACK nudging in this proxy yet)', '≤ 0.8 s');
}

}

// 1 MB of print() output from the board's interpreter, with the main thread watched.
const PRINTS = Math.ceil(MB / 100);
async function printMb(p) {
  await p.evaluate(() => {
    window.__bench = { maxGap: 0 };
    let last = performance.now();
    const tick = () => {
      const now = performance.now();
      window.__bench.maxGap = Math.max(window.__bench.maxGap, now - last);
      last = now;
      if (!window.__bench.stop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const start = await p.evaluate(() => window.__webrepl.parsed || 0);
  const t = performance.now();
  // 98 characters and \r\n per line; the compound statement needs a second Enter.
  await p.evaluate((n) => window.__webrepl.term.input(`for i in range(${n}):print('x'*98)\r\r`, true), PRINTS);
  await p.waitForFunction((target) => (window.__webrepl.parsed || 0) >= target, start + PRINTS * 100, { timeout: 300_000, polling: 10 });
  const ms = performance.now() - t;
  // When the board's interpreter printed its last line (the board runs in this process): what
  // the page took beyond that is the page's own share.
  const boardMs = real.stats.lastOutputAt - t;
  const gap = await p.evaluate(() => { window.__bench.stop = true; return window.__bench.maxGap; });
  await pause(1000); // the loop's end and the prompt, before the page disconnects
  return { ms, gap, boardMs };
}
// The least a terminal page can do with the same output: plain JS writing to xterm.js once per
// animation frame (tests/bench/baseline.html), with the page's empty-frame nudges on a direct
// link. Page and baseline alternate, PRINT_ROUNDS rounds each; figures are medians.
const PRINT_ROUNDS = Number(process.env.BENCH_PRINT_ROUNDS || 3);
const printBase = await env.context.newPage();
await printBase.goto(`${env.web.url}tests/bench/baseline.html`);
const printCode = `for i in range(${PRINTS}):print('x'*98)\r\r`;
for (const link of ['direct', 'proxy']) {
  const pageRuns = [];
  const freshRuns = [];
  const jsRuns = [];
  for (let r = 0; r < PRINT_ROUNDS; r++) {
    // Twice in each page: the first print of a fresh page pays for xterm.js's cold start (its
    // code not yet optimised, its 5,000-line scrollback still being allocated: ~0.4 s per MB
    // here); a station's terminal that has run for a while is the second.
    const [fresh, warm] = await onLink(link, async (p) => [await printMb(p), await printMb(p)]);
    freshRuns.push(fresh);
    pageRuns.push(warm);
    const js = await printBase.evaluate(([u, pw, c, n, o]) => window.runPrint(u, pw, c, n, o),
      [links[link], PASSWORD, printCode, PRINTS * 100, { xterm: true, nudgeMs: link === 'direct' ? 2 : 0 }]);
    jsRuns.push(js);
    await pause(300);
  }
  const pageMs = median(pageRuns.map((r) => r.ms));
  const jsMs = median(jsRuns.map((r) => r.ms));
  const where = link === 'direct' ? 'direct link' : 'through webrepl proxy';
  const freshMs = median(freshRuns.map((r) => r.ms));
  const tail = median(pageRuns.map((r) => r.ms - r.boardMs));
  row(`print 1 MB (${PRINTS} lines of 100 B): the page, ${where} (median of ${PRINT_ROUNDS})`, `${rate(MB, pageMs)}, longest frame gap ${Math.max(...pageRuns.map((r) => r.gap)).toFixed(0)} ms; the board printed its last line at ${median(pageRuns.map((r) => r.boardMs)).toFixed(0)} ms, the page was done ${tail.toFixed(0)} ms after it`,
    link === 'direct' ? `≥ plain JS: ${(jsMs / pageMs * 100).toFixed(0)} % of its speed; stall ≤ 100 ms` : '≤ 0.6 s, stall ≤ 100 ms');
  row(`  the same, first print of a fresh page (xterm.js cold)`, `${rate(MB, freshMs)}, longest frame gap ${Math.max(...freshRuns.map((r) => r.gap)).toFixed(0)} ms`, '');
  row(`print 1 MB: plain JS + xterm.js, ${where}${link === 'direct' ? ', nudges every 2 ms' : ''}`, `${rate(MB, jsMs)}, ${jsRuns[0].messages} messages`, 'browser baseline');
}
await printBase.close();

// Keystroke echo: a key into the terminal until the board's echo is parsed by xterm.js.
async function echoes(p, n = 20) {
  return p.evaluate(async (count) => {
    const term = window.__webrepl.term;
    const once = (key) => new Promise((resolve) => {
      const t0 = performance.now();
      const d = term.onWriteParsed(() => { d.dispose(); resolve(performance.now() - t0); });
      term.input(key, true);
    });
    const times = [];
    for (let i = 0; i < count; i++) {
      times.push(await once('x'));
      await once('\x7f'); // backspace: the board echoes \b \b
      await new Promise((r) => setTimeout(r, 20));
    }
    return times;
  }, n);
}
for (const link of ['direct', 'proxy']) {
  const t = await onLink(link, echoes);
  const sorted = [...t].sort((a, b) => a - b);
  row(`keystroke echo: the page, ${link === 'direct' ? 'direct link' : 'through webrepl proxy'}`, `median ${median(t).toFixed(1)} ms, slowest ${sorted[sorted.length - 1].toFixed(1)} ms (${t.length} keys)`, 'key → echo parsed by xterm.js');
}
proxy.kill();
await real.close();
await env.close();

printTable(rows);
