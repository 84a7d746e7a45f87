// The "print 1 MB direct" row of page-bench.mjs alone, for A/B work on the terminal's direct
// link: page variants and the plain-JS baseline, alternating round after round, one board.
// PRINT_VARIANTS: comma-separated `label=base|query` (base: a built page under the repo, e.g.
// dist/; query appended to the page URL; a label with `blur` in it takes the focus off the
// terminal) or `js` (tests/bench/baseline.html with 2 ms nudges).
// Prints each variant's median time, the board's own finish, its count of nudges (empty frames),
// and the CPU per round of every thread of the browser and of this process (board + driver),
// from /proc. PRINT_TRACE=1: a Chromium trace of each round to /tmp/print-LABEL.json instead
// (categories from PRINT_TRACE_CATS). Example, the built page before (copied to dist-a/) and now:
//   PRINT_VARIANTS='old=dist-a/|,new=dist/|,js' node tests/bench/print-direct.mjs
import { launch, openPage, connect, startBoard, PASSWORD, ROOT } from '../e2e/support.mjs';
import fs from 'node:fs';

const MB = 1024 * 1024;
const PRINTS = Math.ceil(MB / 100);
const ROUNDS = Number(process.env.BENCH_PRINT_ROUNDS || 5);
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const variants = (process.env.PRINT_VARIANTS || 'worker=dist/|,js').split(',').map((v) => {
  if (v === 'js') return { label: 'js' };
  const label = v.slice(0, v.indexOf('='));
  const rest = v.slice(v.indexOf('=') + 1);
  const [base, query = ''] = rest.split('|');
  return { label, base, query };
});

const env = await launch({ root: ROOT });
const real = await startBoard({ port: 0, password: PASSWORD });
const url = `ws://127.0.0.1:${real.port}/`;
const printCode = `for i in range(${PRINTS}):print('x'*98)\r\r`;

async function printMb(p) {
  const start = await p.evaluate(() => window.__webrepl.parsed || 0);
  const empty0 = real.stats.emptyFrames;
  const t = performance.now();
  await p.evaluate((n) => window.__webrepl.term.input(`for i in range(${n}):print('x'*98)\r\r`, true), PRINTS);
  await p.waitForFunction((target) => (window.__webrepl.parsed || 0) >= target, start + PRINTS * 100, { timeout: 300_000, polling: 10 });
  const ms = performance.now() - t;
  const boardMs = real.stats.lastOutputAt - t;
  const nudges = real.stats.emptyFrames - empty0;
  await pause(1000);
  return { ms, boardMs, nudges };
}

// CPU time (ms) of every thread of this process and its descendants (Chromium's processes),
// by process and thread name, from /proc (clock ticks of 10 ms).
function cpuSnapshot() {
  const parent = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const ours = (pid) => { for (let p = pid; p > 1; p = parent.get(p)) if (p === process.pid) return true; return false; };
  const out = new Map();
  for (const pid of parent.keys()) {
    if (!ours(pid)) continue;
    let kind = 'node';
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const t = /--type=([a-z-]+)/.exec(cmd);
      const u = /--utility-sub-type=([a-zA-Z.]+)/.exec(cmd);
      kind = pid === process.pid ? 'node' : t ? (u ? u[1].split('.').pop() : t[1]) : (cmd.includes('chromium') ? 'browser' : 'other');
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        const st = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')).replace(/[0-9]+$/, '');
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        const ms = (Number(f[11]) + Number(f[12])) * 10;
        const key = `${kind}/${name}#${pid}`;
        out.set(key, (out.get(key) || 0) + ms);
      }
    } catch { /* gone */ }
  }
  return out;
}
const cpu = {};
async function measureCpu(label, fn) {
  const a = cpuSnapshot();
  const r = await fn();
  const b = cpuSnapshot();
  const per = cpu[label] || (cpu[label] = new Map());
  for (const [k, v] of b) {
    const d = v - (a.get(k) || 0);
    const key = k.replace(/#\d+$/, '');
    if (d > 0) per.set(key, (per.get(key) || 0) + d);
  }
  return r;
}

async function trace(p, label, fn) {
  if (!process.env.PRINT_TRACE) return measureCpu(label, fn);
  const cdp = await p.context().newCDPSession(p);
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
  await cdp.send('Tracing.start', { traceConfig: { includedCategories: (process.env.PRINT_TRACE_CATS || 'toplevel,devtools.timeline,v8,__metadata').split(',') } });
  const r = await fn();
  const done = new Promise((res) => cdp.once('Tracing.tracingComplete', res));
  await cdp.send('Tracing.end');
  await done;
  fs.writeFileSync(`/tmp/print-${label}.json`, JSON.stringify({ traceEvents: events }));
  return r;
}

const pages = {};
for (const v of variants) {
  if (v.label === 'js') {
    pages.js = await env.context.newPage();
    await pages.js.goto(`${env.web.url}tests/bench/baseline.html`);
  }
}
const results = Object.fromEntries(variants.map((v) => [v.label, []]));
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 ? [...variants].reverse() : variants;
  for (const v of order) {
    if (v.label === 'js') {
      const js = await trace(pages.js, 'js', () => pages.js.evaluate(([u, pw, c, n, o]) => window.runPrint(u, pw, c, n, o),
        [url, PASSWORD, printCode, PRINTS * 100, { xterm: true, nudgeMs: 2 }]));
      if (r === 0) {
        // The first run warms xterm.js: run again (the page's figure is its second print too).
        results.js.push(await pages.js.evaluate(([u, pw, c, n, o]) => window.runPrint(u, pw, c, n, o),
          [url, PASSWORD, printCode, PRINTS * 100, { xterm: true, nudgeMs: 2 }]));
      } else results.js.push(js);
      await pause(300);
      continue;
    }
    const p = await openPage(env, real, { base: v.base, query: v.query });
    await connect(p);
    await p.waitForSelector('#fs-list li[data-name="boot.py"]');
    if (v.label.includes('blur')) await p.evaluate(() => document.activeElement.blur());
    await printMb(p); // cold
    results[v.label].push(await trace(p, v.label, () => printMb(p)));
    await p.click('#connect');
    await p.waitForSelector('#status[data-state=disconnected]');
    await p.close();
    await pause(300);
  }
}
for (const v of variants) {
  const ms = results[v.label].map((x) => x.ms);
  const board = results[v.label].map((x) => x.boardMs).filter(Boolean);
  const ratio = results.js && v.label !== 'js' ? ` = ${(median(results.js.map((x, i) => x.ms / ms[i])) * 100).toFixed(0)} % of js (per-round median)` : '';
  const nudges = results[v.label].map((x) => x.nudges).filter((x) => x !== undefined);
  console.log(`${v.label.padEnd(10)} median ${median(ms).toFixed(0)} ms [${ms.map((x) => x.toFixed(0)).join(' ')}]${board.length ? ` board ${median(board).toFixed(0)}` : ''}${nudges.length ? ` nudges ${median(nudges)}` : ''}${ratio}`);
}
for (const [label, per] of Object.entries(cpu)) {
  const total = [...per.values()].reduce((a, b) => a + b, 0);
  console.log(`${label}: CPU per round ${(total / ROUNDS).toFixed(0)} ms: ${[...per].sort((a, b) => b[1] - a[1]).filter(([, v]) => v / ROUNDS >= 10).map(([k, v]) => `${k} ${(v / ROUNDS).toFixed(0)}`).join(', ')}`);
}
await real.close();
await env.close();
