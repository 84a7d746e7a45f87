// Benchmark of multi-file projects at an Edrys station (tools/dev.sh bench): a 3-file project
// of 6 KB from module-editor (main.py 0.6 KB), from the execute message to main.py's first output at the
// station, the first time (two files written) and when nothing changed (nothing written).
// Board behaviour: the virtual board as boards write (each frame two writes, Nagle on). Links:
// the station connected through `webrepl proxy` (the usual station set-up) and directly.
// Prints a table; medians of several rounds.
import { spawn } from 'node:child_process';
import { launch, startBoard, closedPort, waitForTerminal, ROOT, PASSWORD } from '../e2e/support.mjs';
import { host, stationConnects } from '../e2e/edrys/room.mjs';

const ROUNDS = Number(process.env.ROUNDS || 5);
const env = await launch({ root: ROOT });
const board = await startBoard({ port: 0, password: PASSWORD });
const proxyPort = await closedPort();
const proxy = spawn('cargo', ['run', '--release', '--quiet', '-p', 'webrepl', '--', 'proxy', '--listen', `127.0.0.1:${proxyPort}`], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
await new Promise((resolve, reject) => {
  proxy.stderr.on('data', (d) => { if (String(d).includes('listening')) resolve(); });
  proxy.on('exit', (c) => reject(new Error(`proxy exited ${c}`)));
});

/**
 * main.py (0.6 KB), lib.py (3.4 KB) and data.py (2 KB): 6 KB in all, as an editor project
 * usually splits (a short main, the code in modules). main prints a marker first.
 */
function project(round) {
  const pad = (n) => Array.from({ length: n }, (_, i) => `# filler line ${i} ${'-'.repeat(40)}`).join('\n');
  const lib = `def greet(n):\n    return 'hello ' + n\n${pad(60)}\n`;
  const data = `VALUES = list(range(${round + 10}))\n${pad(33)}\n`;
  const main = `print('first output ${round}')\nimport lib, data\nprint(lib.greet('bench'), len(data.VALUES))\n${pad(8)}\n`;
  return { 'main.py': main, 'lib.py': lib, 'data.py': data };
}

/** How often `t` stands in the station's terminal (xterm.js buffer, scrollback included). */
const COUNT_BODY = `const b = window.__webrepl.term.buffer.active; let n = 0;
  for (let i = 0; i < b.length; i++) if ((b.getLine(i)?.translateToString(true) ?? '').includes(t)) n++;
  return n;`;
const COUNT = new Function('t', COUNT_BODY);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const rows = [];
const links = [['through webrepl proxy', `ws://127.0.0.1:${proxyPort}/ws://127.0.0.1:${board.port}`], ['direct link', `ws://127.0.0.1:${board.port}/`]];
for (const [link, websocket] of links.filter(([l]) => !process.env.BENCH_LINK || l.includes(process.env.BENCH_LINK))) {
  const page = await host(env, { stationConfig: { websocket }, users: [{ name: 'Station A', role: 'station' }] });
  const st = await stationConnects(page);
  const first = [];
  const unchanged = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const [list, files] of [[first, project(r)], [unchanged, project(r)]]) {
      // A fresh round changes lib.py and data.py (they are written); its repeat changes nothing.
      const tag = `first output ${r}`;
      const seen = await st.evaluate(COUNT, tag);
      const t0 = Date.now();
      await page.evaluate((b) => window.sendAs('Station A', 'execute', b), JSON.stringify({ file: files }));
      await st.waitForFunction(([count, t, n]) => new Function('t', count)(t) > n, [COUNT_BODY, tag, seen], { timeout: 30_000, polling: 1 });
      list.push(Date.now() - t0);
      await waitForTerminal(st, />>>$/, 10_000);
    }
  }
  rows.push([`3-file project (6 KB), first run (2 files written), ${link}`, `${median(first)} ms (${Math.min(...first)}–${Math.max(...first)})`, '≤ 500 ms']);
  rows.push([`the same project again (nothing written), ${link}`, `${median(unchanged)} ms (${Math.min(...unchanged)}–${Math.max(...unchanged)})`, '≤ 200 ms']);
  await page.close();
  await new Promise((r) => setTimeout(r, 300));
}
proxy.kill();
await board.close();
await env.close();

console.log('\n| what (virtual board as boards write: two writes per frame, Nagle on) | execute message → first output of main.py | target |');
console.log('|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
