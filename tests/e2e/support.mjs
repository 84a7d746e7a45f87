// Shared by the end-to-end tests and the benchmarks: Chromium through playwright-core (the
// Debian build, never a downloaded one), the built page served from dist/, and virtual boards.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '../../tools/static-server.mjs';
import { startBoard } from '../../tools/virtual-board/board.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST = path.join(ROOT, 'dist');
export const PASSWORD = 'secret123';
export { startBoard };

/** Chromium plus a static server of `root` (the built page by default). `args(web)` gives
 *  more Chromium switches once the server's port is known. */
export async function launch({ root = DIST, args = () => [] } = {}) {
  if (!fs.existsSync(path.join(DIST, 'index.html'))) {
    throw new Error('dist/ is missing: build the page first (tools/dev.sh build)');
  }
  const web = await serveStatic(root, { port: 0 });
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webrepl-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1200, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
      ...args(web)],
  });
  // The page publishes its test hook (`window.__webrepl`: the terminal, render counters) only
  // when asked: in every page and frame of this browser.
  await context.addInitScript(() => { window.__webreplTest = true; });
  // The official Edrys client script cannot load without internet: serve the stand-in.
  await context.route('https://edrys-labs.github.io/module/edrys.js', (route) =>
    route.fulfill({ contentType: 'text/javascript', body: fs.readFileSync(path.join(ROOT, 'tests/e2e/edrys/edrys-stub.js'), 'utf8') }));
  return {
    context,
    web,
    async close() {
      await context.close();
      await web.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Opens the page for `board` (password typed into the field) and returns it, not yet connected. */
export async function openPage(env, board, { password = PASSWORD, query = '', base = '' } = {}) {
  const page = await env.context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${env.web.url}${base}?url=${encodeURIComponent(`ws://127.0.0.1:${board.port}/`)}${query}`);
  await page.waitForFunction(() => window.__webrepl && window.__webrepl.term);
  await page.fill('#password', password);
  return page;
}

/** Opens the page for `board`, runs `fn(page)`, then disconnects (a board takes one session,
 *  and Disconnect sends an empty close frame) and closes the page. */
export async function withPage(env, board, fn, opts) {
  const page = await openPage(env, board, opts);
  try {
    return await fn(page);
  } finally {
    if ((await page.getAttribute('#status', 'data-state')) !== 'disconnected') {
      await page.click('#connect').catch(() => {});
    }
    await page.close();
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function connect(page) {
  await page.click('#connect');
  await page.waitForSelector('#status[data-state=connected]', { timeout: 10_000 });
  await waitForTerminal(page, />>>$/);
}

/** Uploads through the file panel into the folder it shows (`files`: paths, or Playwright's
 *  `{ name, mimeType, buffer }`), then waits until the batch has settled (every row done or
 *  failed). `page` may be a frame. */
export async function panelUpload(page, files, timeout = 30_000) {
  await page.setInputFiles('#fs-files', files);
  await page.waitForFunction(() => /files uploaded/.test(document.querySelector('#fs-progress-text').textContent), null, { timeout });
}

/** Downloads `name`, listed in the folder the file panel shows, with its ⤓ button; returns the
 *  browser's download (`events`: the page that sees downloads, for a frame its page). */
export async function panelDownload(page, name, { timeout = 30_000, events = page } = {}) {
  const button = page.locator(`#fs-list li[data-name="${name}"] .dl`);
  await button.waitFor({ timeout });
  const [download] = await Promise.all([events.waitForEvent('download', { timeout }), button.click()]);
  return download;
}

/** The terminal's whole text (scrollback included): lines right-trimmed, joined with \n. */
export async function terminalText(page) {
  return page.evaluate(() => {
    const buf = window.__webrepl.term.buffer.active;
    const lines = [];
    for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
    return lines.join('\n').trimEnd();
  });
}

/** Waits until the terminal text matches `pattern`; returns the text. `page` may be a frame. */
export async function waitForTerminal(page, pattern, timeout = 10_000) {
  const start = Date.now();
  let text = '';
  while (Date.now() - start < timeout) {
    text = await terminalText(page);
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`terminal did not show ${pattern} within ${timeout} ms; it shows:\n${text.slice(-2000)}`);
}

/** Types text into the terminal as keystrokes. */
export async function type(page, text) {
  await page.click('#terminal');
  await page.keyboard.type(text, { delay: 0 });
}

/** Pastes text into the terminal through a real paste event. */
export async function paste(page, text) {
  await page.evaluate((t) => {
    const target = document.querySelector('#terminal textarea') || document.querySelector('#terminal');
    const dt = new DataTransfer();
    dt.setData('text/plain', t);
    target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, text);
}

/** A loopback port where nothing listens (it was free a moment ago). */
export function closedPort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A pasted program of about `kb` KB whose output proves every line arrived: `code`, and the
 * terminal text it ends with (`total N`, `intact True`, the prompt) as `done`. */
export function longProgram(kb = 20) {
  const lines = [];
  let total = 0;
  for (let i = 0; total < kb * 1024; i++) {
    const line = `v${i} = ${i} * 3  # padding to make the program long ${'#'.repeat(20)}`;
    lines.push(line);
    total += line.length + 1;
  }
  const n = lines.length;
  lines.push(`print('total', ${Array.from({ length: 50 }, (_, i) => `v${i * Math.floor(n / 50)}`).join(' + ')})`);
  lines.push('def check():');
  lines.push(`    return all(globals()['v%d' % i] == i * 3 for i in range(${n}))`);
  lines.push("print('intact', check())");
  const expected = Array.from({ length: 50 }, (_, i) => i * Math.floor(n / 50) * 3).reduce((a, b) => a + b, 0);
  return { code: lines.join('\n') + '\n', done: new RegExp(`total ${expected}\\nintact True\\n>>>$`) };
}
