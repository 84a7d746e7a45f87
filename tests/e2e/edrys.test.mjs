// End-to-end: the built page as an Edrys module. A test host page (tests/e2e/edrys/host.html)
// frames one station, students and a teacher, with the edrys.js stand-in; the station connects
// to the virtual board from its stationConfig.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, panelUpload, panelDownload, startBoard, waitForTerminal, terminalText, closedPort, ROOT, PASSWORD } from './support.mjs';
import { host as openHost, frame, stationConnects, typeIn } from './edrys/room.mjs';

let env;
let board;
before(async () => {
  env = await launch({ root: ROOT });
  board = await startBoard({ port: 0, password: PASSWORD });
});
after(async () => {
  await board?.close();
  await env?.close();
});

const host = (config) => openHost(env, config);

test('station connects from stationConfig; an execute message runs intact and every frame shows it; late joiners catch up', async () => {
  const page = await host({
    stationConfig: { websocket: `ws://127.0.0.1:${board.port}/`, execute: 'execute' },
    // The station gets ready well after the others: their first request for the backlog finds
    // nobody listening, and they must ask again.
    users: [
      { name: 'Station A', role: 'station', readyDelay: 1500 },
      { name: 'alice', role: 'student', readyDelay: 100 },
      { name: 'Ms T', role: 'teacher', readyDelay: 100 },
    ],
  });
  try {
    const st = await stationConnects(page);
    const alice = await frame(page, 'alice');
    const teacher = await frame(page, 'Ms T');
    // A 10 KB program from an editor module, with non-ASCII text.
    const lines = ['acc = 0'];
    for (let i = 0; lines.join('\n').length < 10 * 1024; i++) lines.push(`acc += ${i}  # step ${i} ${'-'.repeat(40)}`);
    const n = lines.length - 1;
    lines.push("print('done', acc, 'äöü→✓')");
    const code = lines.join('\n') + '\n';
    assert.ok(code.length >= 10 * 1024);
    const sum = (n * (n - 1)) / 2;
    const t0 = Date.now();
    await page.evaluate((c) => window.sendAs('alice', 'execute', c), code);
    const want = new RegExp(`done ${sum} äöü→✓\\n>>>$`);
    await waitForTerminal(st, want, 20_000);
    const ms = Date.now() - t0;
    console.log(`execute of ${code.length} bytes: output at the station after ${ms} ms`);
    for (const f of [alice, teacher]) await waitForTerminal(f, want, 10_000);
    // The terminal says who started the run.
    assert.match(await terminalText(st), /run from alice/);
    // A student who joins late sees the earlier output.
    await page.evaluate(() => window.addUser('bob', 'student'));
    const bob = await frame(page, 'bob');
    await waitForTerminal(bob, want, 10_000);
    // Everyone sees one status.
    await alice.waitForSelector('#status[data-state=connected]');
    // Keystrokes from a student reach the board (input: everyone by default).
    await typeIn(alice, 'print(11*11)\r');
    await waitForTerminal(st, /\n121\n>>>$/);
    await waitForTerminal(bob, /\n121\n>>>$/);
    // Output goes to the room in batches, never one message per frame.
    const outputs = await page.evaluate(() => window.__edrysLog.filter((m) => m.subject === 'webrepl:output').length);
    assert.ok(outputs < 200, `${outputs} output messages`);
  } finally {
    await page.close();
    await new Promise((r) => setTimeout(r, 300));
  }
});

test('input: teacher blocks a student and lets the teacher through', async () => {
  const page = await host({
    stationConfig: { websocket: `ws://127.0.0.1:${board.port}/`, input: 'teacher' },
    users: [{ name: 'Station A', role: 'station' }, { name: 'alice', role: 'student' }, { name: 'Ms T', role: 'teacher' }],
  });
  try {
    const st = await stationConnects(page);
    const alice = await frame(page, 'alice');
    const teacher = await frame(page, 'Ms T');
    await typeIn(alice, 'print(1234+1)\r');
    await alice.waitForSelector('#message:not([hidden])');
    assert.match(await alice.textContent('#message'), /reserved for teachers/);
    await typeIn(teacher, 'print(4321+1)\r');
    await waitForTerminal(st, /\n4322\n>>>$/);
    assert.ok(!(await terminalText(st)).includes('1235'), "the student's keystrokes never reached the board");
  } finally {
    await page.close();
    await new Promise((r) => setTimeout(r, 300));
  }
});

test('a flood of output keeps the room usable, with a notice of what was left out', async () => {
  // A board of its own: a board keeps running code after a client leaves, so a flood left
  // running would spill into later tests.
  const flooded = await startBoard({ port: 0, password: PASSWORD });
  const page = await host({
    stationConfig: { websocket: `ws://127.0.0.1:${flooded.port}/` },
    users: [{ name: 'Station A', role: 'station' }, { name: 'alice', role: 'student' }],
  });
  try {
    const st = await stationConnects(page);
    const alice = await frame(page, 'alice');
    const count = () => page.evaluate(() => window.__edrysLog.filter((m) => m.subject === 'webrepl:output').length);
    const before = await count();
    const t0 = Date.now();
    // A flood at a real board's pace (~250 KB/s over Wi-Fi; the virtual board alone would print
    // 3 MB/s): four times the room's 64 KB/s budget, so it stays above it on a loaded machine
    // (at 100 KB/s this test failed with the load average at 10). In this test every frame
    // shares one renderer thread, so lines are long (fewer frames) and Stop may need to wait for
    // what is already in the pipe.
    await page.evaluate(() => window.sendAs('alice', 'execute', "import time\nwhile True:\n    print('x' * 1000)\n    time.sleep_ms(4)\n"));
    await waitForTerminal(alice, /bytes of output not shown to the room/, 30_000);
    // The room stays usable: a student's Stop reaches the board.
    await alice.click('#stop');
    await waitForTerminal(st, /KeyboardInterrupt[\s\S]*>>>$/, 20_000);
    await waitForTerminal(alice, /KeyboardInterrupt[\s\S]*>>>$/, 20_000);
    // At most one output message per 50 ms over the whole flood.
    const sent = (await count()) - before;
    const ms = Date.now() - t0;
    assert.ok(sent <= ms / 50 + 5, `${sent} output messages in ${ms} ms`);
    await alice.click('#terminal');
    await alice.page().keyboard.type('print(7*6)\r');
    await waitForTerminal(alice, /\n42\n>>>$/, 10_000);
  } finally {
    await page.close();
    await flooded.close();
  }
});

test('a teacher uploads and downloads files through the station; students cannot read the password file', async () => {
  const page = await host({
    stationConfig: { websocket: `ws://127.0.0.1:${board.port}/` },
    users: [{ name: 'Station A', role: 'station' }, { name: 'alice', role: 'student' }, { name: 'Ms T', role: 'teacher' }],
  });
  try {
    await stationConnects(page);
    const teacher = await frame(page, 'Ms T');
    const alice = await frame(page, 'alice');
    // Students work in their own folder (the next test); the teacher's panel shows the board's root.
    await teacher.waitForSelector('#fs-list li[data-name="boot.py"]', { timeout: 15_000 });
    const data = Buffer.alloc(40_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 255;
    await panelUpload(teacher, { name: 'lesson.bin', mimeType: 'application/octet-stream', buffer: data }, 15_000);
    await teacher.waitForSelector('#fs-jobs li[data-state=done]');
    assert.ok((await board.readFile('lesson.bin')).equals(data), 'the board has the teacher\'s file');
    const dl = await panelDownload(teacher, 'lesson.bin', { timeout: 15_000, events: page });
    assert.ok((await import('node:fs')).readFileSync(await dl.path()).equals(data), 'the teacher downloaded the same bytes');
    await teacher.waitForSelector('#fs-gets li[data-state=done]');
    // A student may not read the file that holds the board's password.
    await page.evaluate(() => window.sendAs('alice', 'webrepl:get', { id: 1, name: 'webrepl_cfg.py' }, new URL('/dist/index.html', location.href).href));
    await page.waitForFunction(() => window.__edrysLog.some((m) => m.subject === 'webrepl:xfer' && m.to === 'alice' && m.body.state === 'failed' && /password/.test(m.body.text)));
  } finally {
    await page.close();
    await new Promise((r) => setTimeout(r, 300));
  }
});

test('file panel in the room: students work in their own folder, protected files only for teachers', async () => {
  await board.writeFile('/main.py', 'print("station main")\n');
  const page = await host({
    stationConfig: { websocket: `ws://127.0.0.1:${board.port}/`, student_dir: '/students' },
    users: [{ name: 'Station A', role: 'station' }, { name: 'alice', role: 'student' }, { name: 'Ms T', role: 'teacher' }],
  });
  const listed = (f, names) => f.waitForFunction((want) => {
    const have = [...document.querySelectorAll('#fs-list li[data-name]')].map((li) => li.dataset.name);
    return want.every((n) => have.includes(n));
  }, names, { timeout: 15_000 });
  try {
    await stationConnects(page);
    const alice = await frame(page, 'alice');
    const teacher = await frame(page, 'Ms T');
    // The student's panel opens her own folder, made for her.
    await alice.waitForFunction(() => document.querySelector('#fs-list').dataset.dir === '/students/alice', null, { timeout: 15_000 });
    await alice.setInputFiles('#fs-files', { name: 'blink.py', mimeType: 'text/x-python', buffer: Buffer.from('print("blink")\n') });
    await alice.waitForFunction(() => /1 of 1 files uploaded/.test(document.querySelector('#fs-progress-text').textContent), null, { timeout: 15_000 });
    await listed(alice, ['blink.py']);
    assert.equal((await board.readFile('/students/alice/blink.py')).toString(), 'print("blink")\n');
    // She can look around, but not change protected files or anything outside her folder.
    await alice.click('#fs-path button[data-path="/"]');
    await listed(alice, ['main.py', 'students']);
    page.once('dialog', (d) => d.accept());
    await alice.click('#fs-list li[data-name="main.py"] .del');
    await alice.waitForFunction(() => /main\.py is protected/.test(document.querySelector('#message').textContent), null, { timeout: 10_000 });
    assert.equal((await board.readFile('/main.py')).toString(), 'print("station main")\n');
    await alice.setInputFiles('#fs-files', { name: 'stray.py', mimeType: 'text/x-python', buffer: Buffer.from('x') });
    await alice.waitForFunction(() => /failed/.test(document.querySelector('#fs-progress-text').textContent), null, { timeout: 15_000 });
    assert.match(await alice.textContent('#fs-jobs li[data-state=failed] .state'), /only inside their own folder/);
    assert.equal(await board.exists('/stray.py'), false);
    // The teacher may change protected files; the student's view follows on refresh.
    await listed(teacher, ['main.py']);
    page.once('dialog', (d) => d.accept('main_old.py'));
    await teacher.click('#fs-list li[data-name="main.py"] .ren');
    await listed(teacher, ['main_old.py']);
    assert.equal(await board.exists('/main.py'), false);
    await alice.click('#fs-refresh');
    await listed(alice, ['main_old.py']);
    // Nothing of this reached the shared terminal.
    const st = await frame(page, 'Station A');
    assert.ok(!/raw REPL|ilistdir/.test(await terminalText(st)));
    // Her ▶ runs her file on the board, labelled with her name, for the whole room to see.
    await alice.click('#fs-list li[data-name="students"] .open');
    await listed(alice, ['alice']);
    await alice.click('#fs-list li[data-name="alice"] .open');
    await listed(alice, ['blink.py']);
    await alice.click('#fs-list li[data-name="blink.py"] .run');
    await waitForTerminal(st, /run from alice[\s\S]*\nblink\n>>>$/);
    await waitForTerminal(alice, /\nblink\n>>>$/);
    await board.remove('/main_old.py');
  } finally {
    await page.close();
    await new Promise((r) => setTimeout(r, 300));
  }
});

test('the station explains a proxy that is not running, and reconnects after a board reset', async () => {
  const port = await closedPort();
  let page = await host({
    stationConfig: { websocket: `ws://127.0.0.1:${port}/ws://192.168.4.1:8266` },
    users: [{ name: 'Station A', role: 'station' }],
  });
  try {
    const st = await frame(page, 'Station A');
    // The password was kept by earlier tests' station (this browser only); else type it.
    const auto = await st.waitForSelector('#status[data-state=connecting], #status[data-state=reconnecting]', { timeout: 3000 }).then(() => true, () => false);
    if (!auto) {
      await st.fill('#password', PASSWORD);
      await st.click('#connect');
    }
    await st.waitForSelector('#status[data-state=reconnecting]', { timeout: 10_000 });
    assert.match(await st.textContent('#message'), /is the webrepl proxy running on this computer[\s\S]*local network access/);
  } finally {
    await page.close();
  }
  page = await host({
    stationConfig: { websocket: `ws://127.0.0.1:${board.port}/` },
    users: [{ name: 'Station A', role: 'station' }, { name: 'Ms T', role: 'teacher' }],
  });
  try {
    const st = await stationConnects(page);
    const teacher = await frame(page, 'Ms T');
    await teacher.click('#reset');
    await st.waitForSelector('#status[data-state=reconnecting]', { timeout: 10_000 });
    await st.waitForSelector('#status[data-state=connected]', { timeout: 15_000 });
    await teacher.waitForSelector('#status[data-state=connected]', { timeout: 5000 });
  } finally {
    await page.close();
    await new Promise((r) => setTimeout(r, 300));
  }
});

test('bad configuration shows a visible message and nothing crashes', async () => {
  const cases = [
    ['', /no board address/i],
    [{ execute: 'run' }, /no board address/i],
    [{ websocket: 'ws://bad host:8266' }, /spaces/],
    [{ websocket: 42 }, /should be a text/],
    [{ websocket: `ws://127.0.0.1:${board.port}/`, input: 'admins' }, /everyone, teacher or none/],
    ['websocket: [unclosed', /not valid YAML/],
  ];
  for (const [stationConfig, pattern] of cases) {
    const page = await host({ stationConfig, users: [{ name: 'Station A', role: 'station' }, { name: 'alice', role: 'student' }] });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      const st = await frame(page, 'Station A');
      // (Where the config still names a board, a connection message may show for a moment
      // before the warning is shown again at login: wait for it rather than read once.)
      await st.waitForFunction(([src, flags]) => {
        const m = document.querySelector('#message');
        return !m.hidden && new RegExp(src, flags).test(m.textContent);
      }, [pattern.source, pattern.flags], { timeout: 10_000 }).catch(() => {});
      assert.match(await st.textContent('#message'), pattern, JSON.stringify(stationConfig));
      await frame(page, 'alice');
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  }
  // A non-string execute body is refused with a message; the station keeps working.
  const page = await host({
    stationConfig: { websocket: `ws://127.0.0.1:${board.port}/` },
    users: [{ name: 'Station A', role: 'station' }],
  });
  try {
    const st = await stationConnects(page);
    await page.evaluate(() => window.sendAs('alice', 'execute', 12345));
    await waitForTerminal(st, /carries a number/);
    await page.evaluate(() => window.sendAs('alice', 'execute', 'print(99+1)'));
    await waitForTerminal(st, /\n100\n>>>$/);
  } finally {
    await page.close();
  }
});

test('outside a frame the page runs standalone without waiting for Edrys', async () => {
  const page = await env.context.newPage();
  try {
    const t0 = Date.now();
    await page.goto(`${env.web.url}dist/index.html`);
    await page.waitForFunction(() => window.__webrepl && window.__webrepl.term);
    await waitForTerminal(page, /enter the board's address/);
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(await page.isVisible('#connect'), true);
  } finally {
    await page.close();
  }
});
