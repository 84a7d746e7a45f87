// End-to-end: Chrome's Local Network Access (docs/local-network-access.md). The page is served from a port
// Chromium is told to count as public (--ip-address-space-overrides), the virtual board stays on
// loopback: the page must name the block and the fix, never send the user to check the board;
// a page that is not public still connects, and a refused port there still reads as refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startBoard, waitForTerminal, closedPort, ROOT, PASSWORD } from './support.mjs';
import { serveStatic } from '../../tools/static-server.mjs';
import { frame } from './edrys/room.mjs';

let env;
let board;
let edrysHost; // another public origin, framing the module like Edrys does
let local; // the same files from a port that stays loopback
before(async () => {
  edrysHost = await serveStatic(ROOT, { port: 0 });
  local = await serveStatic(ROOT, { port: 0 });
  env = await launch({
    root: ROOT,
    args: (web) => [`--ip-address-space-overrides=127.0.0.1:${web.port}=public,127.0.0.1:${edrysHost.port}=public`],
  });
  board = await startBoard({ port: 0, password: PASSWORD });
});
after(async () => {
  await board?.close();
  await env?.close();
  await edrysHost?.close();
  await local?.close();
});

const boardUrl = () => `ws://127.0.0.1:${board.port}/`;
const NOT_THE_BOARD = /check that the board is on/i;

async function pageAt(base, url) {
  const page = await env.context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${base}dist/index.html?url=${encodeURIComponent(url)}`);
  await page.waitForFunction(() => window.__webrepl && window.__webrepl.term);
  await page.fill('#password', PASSWORD);
  return page;
}

test('a public top-level page blocked from a loopback board says Local Network Access and how to allow it', async () => {
  const sessions = board.stats.sessions;
  const page = await pageAt(env.web.url, boardUrl());
  try {
    await page.click('#connect');
    await page.waitForSelector('#status[data-state=error]', { timeout: 10_000 });
    const msg = await page.textContent('#message');
    assert.match(msg, /Local Network Access/);
    assert.match(msg, /Site settings → Local network access → Allow/);
    assert.match(msg, new RegExp(`ws://127\\.0\\.0\\.1:${board.port}/`));
    assert.doesNotMatch(msg, NOT_THE_BOARD);
    assert.equal(board.stats.sessions, sessions, 'nothing reached the board');
  } finally {
    await page.close();
  }
});

test('the module in a cross-origin frame (Edrys) names the Chrome policy with its origin, and the room hears it', async () => {
  const sessions = board.stats.sessions;
  const config = {
    stationConfig: { websocket: boardUrl() },
    users: [{ name: 'Station A', role: 'station' }, { name: 'alice', role: 'student' }],
  };
  const module = `${env.web.url}dist/index.html`;
  const page = await env.context.newPage();
  page.on('pageerror', (e) => console.error('host page error:', e.message));
  await page.goto(`${edrysHost.url}tests/e2e/edrys/host.html?module=${encodeURIComponent(module)}&config=${encodeURIComponent(JSON.stringify(config))}`);
  try {
    const st = await frame(page, 'Station A');
    await st.waitForSelector('#connect:not([disabled])', { timeout: 10_000 });
    await st.fill('#password', PASSWORD);
    await st.click('#connect');
    await st.waitForSelector('#status[data-state=reconnecting]', { timeout: 10_000 });
    const origin = new URL(env.web.url).origin;
    const msg = await st.textContent('#message');
    assert.match(msg, /Local Network Access/);
    assert.match(msg, /LocalNetworkAccessAllowedForUrls/);
    assert.ok(msg.includes(`["${origin}"]`), `names the origin making the request: ${msg}`);
    assert.match(msg, /USB/);
    assert.match(msg, /the page the board serves itself/);
    assert.doesNotMatch(msg, NOT_THE_BOARD);
    // A student in the room sees why the station is not connected.
    const alice = await frame(page, 'alice');
    await alice.waitForFunction(() => /LocalNetworkAccessAllowedForUrls/.test(document.querySelector('#message').textContent), null, { timeout: 10_000 });
    assert.doesNotMatch(await alice.textContent('#message'), NOT_THE_BOARD);
    assert.equal(board.stats.sessions, sessions, 'nothing reached the board');
  } finally {
    await page.close();
  }
});

test('a page that is not public connects to the same board, and a refused port there still reads as refused', async () => {
  const page = await pageAt(local.url, boardUrl());
  try {
    await page.click('#connect');
    await page.waitForSelector('#status[data-state=connected]', { timeout: 10_000 });
    await waitForTerminal(page, />>>$/);
    await page.click('#connect'); // disconnect
    await page.waitForSelector('#status[data-state=disconnected]');
    await page.fill('#url', `ws://127.0.0.1:${await closedPort()}/`);
    await page.click('#connect');
    await page.waitForSelector('#status[data-state=error]', { timeout: 10_000 });
    const msg = await page.textContent('#message');
    assert.match(msg, /nothing accepted the connection/);
    assert.doesNotMatch(msg, /Local Network Access/);
  } finally {
    await page.close();
  }
});

test('once the site is allowed local network access, the public page connects', async () => {
  const origin = new URL(env.web.url).origin;
  await env.context.grantPermissions(['local-network-access'], { origin });
  const page = await pageAt(env.web.url, boardUrl());
  try {
    await page.click('#connect');
    await page.waitForSelector('#status[data-state=connected]', { timeout: 10_000 });
    await waitForTerminal(page, />>>$/);
    await page.click('#connect');
  } finally {
    await page.close();
    await env.context.clearPermissions();
  }
});
