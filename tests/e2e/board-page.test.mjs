// End-to-end: the page a board serves itself (docs/board-behaviour.md: Connecting). The virtual board answers a
// plain GET with `<base href="BASE">` + `webrepl_content.js`, BASE being another origin serving
// dist/ (with CORS, as GitHub Pages): the client boots in the board's own document, takes the
// board's address from it, asks the password, runs code and moves files both ways.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, panelUpload, panelDownload, startBoard, waitForTerminal, type, DIST, PASSWORD } from './support.mjs';
import { serveStatic } from '../../tools/static-server.mjs';

let env;
let assets; // BASE: dist/ on its own origin
let board;
let tmp;
before(async () => {
  env = await launch();
  assets = await serveStatic(DIST, { port: 0, cors: true });
  board = await startBoard({ port: 0, password: PASSWORD, base: assets.url });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webrepl-board-page-'));
});
after(async () => {
  // Chromium first: it keeps idle (preconnected) sockets to the board open, which the board's
  // server would wait for.
  await env?.close();
  await board?.close();
  await assets?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('the board-served page boots the client from BASE, logs in to its own board, runs code and transfers a file', async () => {
  const page = await env.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const origin = `http://127.0.0.1:${board.port}`;
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => window.__webrepl && window.__webrepl.term, null, { timeout: 10_000 });
  // The board's document, now the client's, in standards mode, its assets from BASE.
  assert.equal(await page.evaluate(() => location.origin), origin);
  assert.equal(await page.evaluate(() => document.compatMode), 'CSS1Compat');
  assert.equal(await page.evaluate(() => document.baseURI), assets.url);
  assert.equal(await page.inputValue('#url'), `ws://127.0.0.1:${board.port}/`, 'the board address comes from the document');
  await page.waitForSelector('#connect:not([disabled])');
  await page.fill('#password', PASSWORD);
  await page.press('#password', 'Enter');
  await page.waitForSelector('#status[data-state=connected]', { timeout: 10_000 });
  await waitForTerminal(page, />>>$/);
  await type(page, 'print(1+1)\r');
  await waitForTerminal(page, /print\(1\+1\)\n2\n>>>$/);
  // Upload through the file panel, then download it again with its ⤓ button.
  const data = Buffer.from(Array.from({ length: 3000 }, (_, i) => `line ${i}\n`).join(''));
  const file = path.join(tmp, 'notes.txt');
  fs.writeFileSync(file, data);
  await page.waitForSelector('#fs-list li[data-name="boot.py"]', { timeout: 10_000 });
  await page.setInputFiles('#fs-files', file);
  await page.waitForFunction(() => /files uploaded/.test(document.querySelector('#fs-progress-text').textContent), null, { timeout: 30_000 });
  assert.ok((await board.readFile('/notes.txt')).equals(data), 'the board has the uploaded bytes');
  const download = await panelDownload(page, 'notes.txt');
  assert.equal(download.suggestedFilename(), 'notes.txt');
  assert.ok(fs.readFileSync(await download.path()).equals(data), 'the download equals the board file');
  await page.click('#connect'); // disconnect
  await page.waitForSelector('#status[data-state=disconnected]');
  assert.deepEqual(errors, []);
  await page.close();
});
