// Benchmark: the page with a USB board over Web Serial — the stand-in navigator.serial
// (tests/e2e/serial/fake-serial.js) carrying real bytes to the virtual serial board (real
// MicroPython on a pty, 256-byte input buffer, paced to its baud rate or unthrottled; a UART board
// or a native-USB one). Rows:
// "Connect USB board" (port already granted) → `>>> `, and a 100 KB put and get through the
// page's file panel (upload, then ⤓: raw REPL, raw-paste put, escaped get), each timed inside
// the page from its start to the done row / the download. Prints one table.
import fs from 'node:fs';
import { launch, waitForTerminal, ROOT } from '../e2e/support.mjs';
import { startSerialBridge } from '../e2e/serial/bridge.mjs';
import { printTable } from './table.mjs';

const CONNECTS = 7;
const SIZE = 100 * 1024;
const data = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) data[i] = (i * 131 + (i >> 8)) & 0xff;

const rows = [];

/** Starts a put (the file panel's upload of `b64` as bench.bin) or a get (bench.bin's ⤓) from
 * inside the page and times it there, until the upload's row is done or the download is handed
 * to the browser (the test driver's own round trips stay out of the figure). */
function timedInPage(page, kind, b64 = '') {
  return page.evaluate(([kind, b64]) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind}: not done in 120 s`)), 120_000);
    let t0 = 0;
    const finish = () => { clearTimeout(timer); resolve(performance.now() - t0); };
    if (kind === 'get') {
      const click = HTMLAnchorElement.prototype.click;
      HTMLAnchorElement.prototype.click = function () {
        HTMLAnchorElement.prototype.click = click;
        finish();
        return click.call(this);
      };
      t0 = performance.now();
      document.querySelector('#fs-list li[data-name="bench.bin"] .dl').click();
    } else {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'bench.bin', { type: 'application/octet-stream' }));
      const input = document.querySelector('#fs-files');
      const obs = new MutationObserver(() => {
        if (document.querySelector('#fs-jobs li[data-state=done]')) { obs.disconnect(); finish(); }
      });
      obs.observe(document.querySelector('#fs-jobs'), { subtree: true, attributes: true, childList: true });
      input.files = dt.files;
      t0 = performance.now();
      input.dispatchEvent(new Event('change', { bubbles: true }));
    }
  }), [kind, b64]);
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

// A UART board (CP2102 ids: overflowing input is lost, so puts go a raw-paste window at a time),
// unthrottled and at 115200 baud, and a native-USB board (Pico ids: its USB holds input back, so
// puts go as whole scripts).
// SERIAL_ONLY=usb (or uart, or 115200) runs only those rows.
const kinds = [[0, 'uart'], [0, 'usb'], [115200, 'uart']]
  .filter(([baud, flow]) => !process.env.SERIAL_ONLY || process.env.SERIAL_ONLY === (baud ? String(baud) : flow));
// Unthrottled puts are short and this machine's speed drifts: the median of PUTS.
const PUTS = 3;
for (const [baud, inputFlow] of kinds) {
  const kind = inputFlow === 'usb' ? 'native USB (Pico ids), input held back' : 'UART (CP2102 ids), overflow lost';
  const boardText = `virtual serial board, ${baud ? `${baud} baud` : 'unthrottled'}, ${kind}, 256-byte input buffer`;
  const env = await launch({ root: ROOT });
  const bridge = await startSerialBridge({ baud, inputBuffer: 256, inputFlow });
  await env.context.addInitScript({ content: bridge.initScript({ granted: true }) });
  const page = await env.context.newPage();
  await page.goto(`${env.web.url}dist/index.html`);
  await page.waitForSelector('#connect:not([disabled])');
  const connects = [];
  for (let i = 0; i < CONNECTS; i++) {
    // The click and the wait for `>>> ` in the page (no polling from here in between).
    connects.push(await page.evaluate(() => new Promise((resolve, reject) => {
      const t0 = performance.now();
      document.querySelector('#serial-connect').click();
      const buf = () => window.__webrepl.term.buffer.active;
      const check = () => {
        const b = buf();
        const line = b.getLine(b.baseY + b.cursorY)?.translateToString(true) ?? '';
        if (line.trimEnd().endsWith('>>>') && document.querySelector('#status').dataset.state === 'connected') {
          resolve(performance.now() - t0);
        } else if (performance.now() - t0 > 10_000) reject(new Error(`no >>> (status: ${document.querySelector('#status').textContent}; cursor line ${JSON.stringify(line)}, row ${b.baseY + b.cursorY} of ${b.length})`));
        else setTimeout(check, 1);
      };
      check();
    })));
    if (i === CONNECTS - 1) break;
    await page.click('#connect');
    await page.waitForSelector('#status[data-state=disconnected]');
    await page.waitForFunction(() => navigator.serial.getPorts().then((p) => p[0]?.readable === null));
  }
  rows.push([`Connect USB board (granted) → >>>, median of ${CONNECTS}`, boardText, `${Math.round(median(connects))} ms (slowest ${Math.round(Math.max(...connects))} ms)`, '≤ 1 s']);

  await waitForTerminal(page, />>>$/);
  await page.waitForSelector('#fs-list li[data-name="boot.py"]', { timeout: 30_000 });
  const puts = [];
  for (let i = 0; i < (baud ? 1 : PUTS); i++) {
    await page.evaluate(() => { document.querySelector('#fs-jobs').innerHTML = ''; });
    puts.push((await timedInPage(page, 'put', data.toString('base64'))) / 1000);
    if (!(await bridge.board.readFile('/bench.bin')).equals(data)) throw new Error('the board file differs');
  }
  const put = median(puts);
  await page.waitForSelector('#fs-list li[data-name="bench.bin"]', { timeout: 30_000 });
  const [dl, getMs] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), timedInPage(page, 'get')]);
  const got = fs.readFileSync(await dl.path());
  const get = getMs / 1000;
  if (!got.equals(data)) throw new Error('the downloaded file differs');
  if (bridge.board.stats.droppedInputBytes) throw new Error(`the board lost ${bridge.board.stats.droppedInputBytes} input bytes`);
  const line = baud / 10;
  const rate = (s) => `${(SIZE / 1024 / s).toFixed(1)} KB/s (${s.toFixed(2)} s${baud ? `, ${Math.round((SIZE / s / line) * 100)} % of the line` : ''})`;
  const target = baud ? '≥ 80 % of the line' : '≥ 500 KB/s';
  rows.push([`page upload of 100 KB (panel: picked → done${puts.length > 1 ? `, median of ${puts.length}` : ''})`, boardText, rate(put), target]);
  rows.push(['page download of 100 KB (panel ⤓ → download)', boardText, rate(get), target]);
  await page.click('#connect');
  await page.close();
  await bridge.close();
  await env.close();
}

printTable(rows);
