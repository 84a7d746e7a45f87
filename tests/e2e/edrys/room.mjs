// Helpers for end-to-end tests of the module in an Edrys room: the test host page
// (host.html) with one frame per user, the station logging in, typing into a frame.
import { waitForTerminal, PASSWORD } from '../support.mjs';

/** Opens the test host with `config` ({stationConfig, users: [{name, role, readyDelay}]}). */
export async function host(env, config) {
  const page = await env.context.newPage();
  page.on('pageerror', (e) => console.error('host page error:', e.message));
  await page.goto(`${env.web.url}tests/e2e/edrys/host.html?config=${encodeURIComponent(JSON.stringify(config))}`);
  return page;
}

/** The frame of user `name`, once the module in it is up. */
export async function frame(page, name) {
  for (let i = 0; i < 100; i++) {
    const f = page.frame({ name });
    if (f) {
      await f.waitForFunction(() => window.__webrepl && window.__webrepl.term, null, { timeout: 10_000 });
      return f;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no frame ${name}`);
}

/** The station frame, logged in to the board (entering the password if it asks once). */
export async function stationConnects(page) {
  const st = await frame(page, 'Station A');
  // A station that logged in before keeps its password (in this browser only) and connects by
  // itself; a new one asks for it once.
  const auto = await st.waitForSelector('#status[data-state=connecting], #status[data-state=connected]', { timeout: 3000 }).then(() => true, () => false);
  if (!auto) {
    await st.fill('#password', PASSWORD);
    await st.click('#connect');
  }
  await st.waitForSelector('#status[data-state=connected]', { timeout: 10_000 });
  await waitForTerminal(st, />>>$/);
  return st;
}

export async function typeIn(f, text) {
  await f.click('#terminal');
  await f.page().keyboard.type(text);
}
