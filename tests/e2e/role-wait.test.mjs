// End-to-end: while the page waits to learn whether it runs in Edrys (up to 4 s), its connect
// form does nothing — a password typed and Enter pressed then must not connect to the address
// in the form (the last one used); the station then connects to its configured board.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startBoard, waitForTerminal, ROOT, PASSWORD } from './support.mjs';
import { frame } from './edrys/room.mjs';

let env;
let board; // the station's configured board
let decoy; // the address the form holds while the page waits
before(async () => {
  env = await launch({ root: ROOT });
  board = await startBoard({ port: 0, password: PASSWORD });
  decoy = await startBoard({ port: 0, password: PASSWORD });
});
after(async () => {
  await board?.close();
  await decoy?.close();
  await env?.close();
});

test('Enter in the password field during the wait for Edrys connects nowhere; the station then uses its configured board', async () => {
  const config = {
    stationConfig: { websocket: `ws://127.0.0.1:${board.port}/` },
    users: [{ name: 'Station A', role: 'station', readyDelay: 2500 }],
  };
  const module = `/dist/index.html?url=${encodeURIComponent(`ws://127.0.0.1:${decoy.port}/`)}`;
  const page = await env.context.newPage();
  page.on('pageerror', (e) => console.error('host page error:', e.message));
  await page.goto(`${env.web.url}tests/e2e/edrys/host.html?module=${encodeURIComponent(module)}&config=${encodeURIComponent(JSON.stringify(config))}`);
  try {
    const st = await frame(page, 'Station A');
    assert.equal(await st.inputValue('#url'), `ws://127.0.0.1:${decoy.port}/`, 'the form holds the decoy while waiting');
    assert.equal(await st.getAttribute('html', 'data-edrys-role'), null, 'still waiting for Edrys');
    await st.fill('#password', PASSWORD);
    await st.press('#password', 'Enter');
    // A submit the way a script or an old browser might do it, past the disabled button.
    await st.evaluate(() => document.querySelector('#connect-form').requestSubmit());
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(await st.getAttribute('html', 'data-edrys-role'), null, 'the test typed during the wait');
    assert.equal(decoy.stats.sessions, 0, 'no connection reached the address in the form');
    assert.equal(board.stats.sessions, 0);
    // Edrys gets ready: the page is the station and asks for its board's password.
    await st.waitForSelector('html[data-edrys-role=station]', { timeout: 10_000 });
    assert.equal(await st.inputValue('#url'), `ws://127.0.0.1:${board.port}/`);
    await st.waitForSelector('#connect:not([disabled])');
    await st.click('#connect');
    await st.waitForSelector('#status[data-state=connected]', { timeout: 10_000 });
    await waitForTerminal(st, />>>$/);
    assert.equal(board.stats.logins, 1);
    assert.equal(decoy.stats.sessions, 0);
  } finally {
    await page.close();
  }
});
