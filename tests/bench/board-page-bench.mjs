// Benchmark: the page a board serves itself (www/webrepl_content.js), from the address bar to
// `>>> ` — the board's HTML, the client's files from BASE (another origin, as GitHub Pages),
// then the password typed and Enter. Virtual board as boards write (two writes per frame, Nagle
// on), loopback. Prints one table (tools/dev.sh bench).
import { launch, startBoard, waitForTerminal, DIST, PASSWORD } from '../e2e/support.mjs';
import { serveStatic } from '../../tools/static-server.mjs';
import { printTable } from './table.mjs';

const RUNS = 7;
const env = await launch();
const assets = await serveStatic(DIST, { port: 0, cors: true });
const board = await startBoard({ port: 0, password: PASSWORD, base: assets.url });
const runs = [];
for (let i = 0; i < RUNS; i++) {
  const page = await env.context.newPage();
  const t0 = Date.now();
  await page.goto(`http://127.0.0.1:${board.port}/`);
  await page.waitForSelector('#connect:not([disabled])');
  await page.waitForFunction(() => window.__webrepl && window.__webrepl.term);
  const ready = Date.now() - t0;
  await page.fill('#password', PASSWORD);
  await page.press('#password', 'Enter');
  await waitForTerminal(page, />>>$/);
  runs.push({ ready, prompt: Date.now() - t0 });
  await page.click('#connect');
  await page.waitForSelector('#status[data-state=disconnected]');
  await page.close();
  await new Promise((r) => setTimeout(r, 300));
}
await env.close();
await board.close();
await assets.close();

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const rest = runs.slice(1);
const rows = [
  ['board-served page: address bar → form ready, first page of a fresh browser', `${runs[0].ready} ms`, ''],
  ['board-served page: address bar → >>>, first page of a fresh browser', `${runs[0].prompt} ms`, '≤ 2 s'],
  [`board-served page: address bar → form ready, median of ${rest.length} more`, `${median(rest.map((r) => r.ready))} ms`, ''],
  [`board-served page: address bar → >>>, median of ${rest.length} more`, `${median(rest.map((r) => r.prompt))} ms (slowest ${Math.max(...rest.map((r) => r.prompt))} ms)`, '≤ 2 s'],
].map(([what, value, target]) => [what, 'faithful', value, target]);
printTable(rows);
