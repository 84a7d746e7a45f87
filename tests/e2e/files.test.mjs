// End-to-end: the file panel of the built page in Chromium against the virtual board (real
// MicroPython and its filesystem): listing without disturbing the terminal, uploads (files,
// folders, non-ASCII and 63/64-byte names, safe against a cut link), download of files and of
// folders as zip, delete, rename, new folder, the viewer, a listing while a program prints,
// a board left in the raw REPL by another client, running a .py file (▶), and downloads on a
// direct link read through the raw REPL (no WebREPL get, a missing file keeps the session).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import WebSocket from 'ws';
import { launch, withPage as openWith, connect, waitForTerminal, terminalText, type, paste, startBoard, PASSWORD } from './support.mjs';

let env;
let board;
let tmp;
before(async () => {
  env = await launch();
  board = await startBoard({ port: 0, password: PASSWORD });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webrepl-files-'));
});
after(async () => {
  await board?.close();
  await env?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The page connected to `b`; disconnected and closed afterwards. */
const withPage = (b, fn) => openWith(env, b, async (page) => {
  await connect(page);
  return fn(page);
});

/** The names listed in the panel (folders end in /), once `names` are all there. */
async function listed(page, names = [], timeout = 10_000) {
  await page.waitForFunction((want) => {
    const have = [...document.querySelectorAll('#fs-list li[data-name]')].map((li) => li.dataset.name);
    return document.querySelector('#fs-list').getAttribute('aria-busy') !== 'true' && want.every((n) => have.includes(n));
  }, names, { timeout });
  return page.$$eval('#fs-list li[data-name]', (lis) => lis.map((li) => (li.dataset.kind === 'dir' ? `${li.dataset.name}/` : li.dataset.name)));
}

async function gone(page, name) {
  await page.waitForFunction((n) => ![...document.querySelectorAll('#fs-list li[data-name]')].some((li) => li.dataset.name === n), name);
}

function row(page, name) {
  return page.locator(`#fs-list li[data-name="${name}"]`);
}

/** Answers the next prompt()/confirm() with `answer`. */
function answerNextDialog(page, answer) {
  page.once('dialog', (d) => (d.type() === 'prompt' ? d.accept(answer) : d.accept()));
}

async function uploadFiles(page, files) {
  const paths = files.map(([name, data]) => {
    const p = path.join(tmp, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, data);
    return p;
  });
  await page.setInputFiles('#fs-files', paths);
}

async function uploadsSettled(page) {
  await page.waitForFunction(() => /files uploaded/.test(document.querySelector('#fs-progress-text').textContent), null, { timeout: 30_000 });
  return page.textContent('#fs-progress-text');
}

test('lists the board files after login without a trace in the terminal; the REPL still works', async () => {
  await board.writeFile('/main.py', 'print("hi")\n');
  await withPage(board, async (page) => {
    const names = await listed(page, ['boot.py', 'main.py', 'webrepl_cfg.py']);
    assert.ok(names.includes('boot.py'));
    assert.equal(await row(page, 'main.py').locator('.size').getAttribute('data-bytes'), '12');
    const text = await terminalText(page);
    assert.ok(!/raw REPL|ilistdir|_w\(|hexlify/.test(text), `terminal shows the listing's commands:\n${text}`);
    assert.match(text, />>>$/);
    await type(page, 'print(6*7)\r');
    await waitForTerminal(page, /print\(6\*7\)\n42\n>>>$/);
    // Nothing of the listing is left in the user's namespace.
    await type(page, "print('_w' in globals())\r");
    await waitForTerminal(page, /\nFalse\n>>>$/);
  });
});

test('new folder, upload into it (non-ASCII and 63-byte names), view, rename, delete', async () => {
  await withPage(board, async (page) => {
    await listed(page, ['boot.py']);
    answerNextDialog(page, 'lib');
    await page.click('#fs-mkdir');
    await listed(page, ['lib']);
    await row(page, 'lib').locator('.open').click();
    await page.waitForFunction(() => document.querySelector('#fs-list').dataset.dir === '/lib');
    const umlaut = 'häßlich ✓.py';
    const n63 = `${'n'.repeat(63 - '/lib/'.length - 3)}.py`; // '/lib/' + name = 63 bytes
    const n64 = `${'n'.repeat(64 - '/lib/'.length - 3)}.py`;
    assert.equal(Buffer.byteLength(`/lib/${n63}`), 63);
    const code = "print('äöü→✓')\n";
    const bin = Buffer.alloc(3000, 7);
    await uploadFiles(page, [[umlaut, code], [n63, bin], [n64, 'x']]);
    const summary = await uploadsSettled(page);
    assert.match(summary, /2 of 3 files uploaded, 1 failed/);
    const failed = await page.textContent('#fs-jobs li[data-state=failed] .state');
    assert.match(failed, /64 bytes.*at most 63/);
    assert.deepEqual(Buffer.from(await board.readFile(`/lib/${umlaut}`)), Buffer.from(code));
    assert.deepEqual(Buffer.from(await board.readFile(`/lib/${n63}`)), bin);
    assert.equal(await board.exists(`/lib/${n64}`), false);
    await listed(page, [umlaut, n63]);

    // View a small text file.
    await row(page, umlaut).locator('.open').click();
    await page.waitForSelector('#fs-view:not([hidden])');
    assert.equal(await page.textContent('#fs-view pre'), code);
    assert.equal(await page.textContent('#fs-view .title'), `/lib/${umlaut}`);
    await page.click('#fs-view-close');

    // Rename, then delete.
    answerNextDialog(page, 'renamed.py');
    await row(page, umlaut).locator('.ren').click();
    await listed(page, ['renamed.py']);
    assert.equal(await board.exists(`/lib/${umlaut}`), false);
    assert.deepEqual(Buffer.from(await board.readFile('/lib/renamed.py')), Buffer.from(code));
    answerNextDialog(page, '');
    // (Found by its accessible name, as a screen reader user would.)
    await page.getByRole('button', { name: 'Delete renamed.py', exact: true }).click();
    await gone(page, 'renamed.py');
    assert.equal(await board.exists('/lib/renamed.py'), false);

    // Renaming onto an existing name is refused with a message; nothing changes.
    await uploadFiles(page, [['other.py', 'other\n']]);
    await uploadsSettled(page);
    answerNextDialog(page, 'other.py');
    await row(page, n63).locator('.ren').click();
    await page.waitForFunction(() => /already exists/.test(document.querySelector('#message').textContent));
    assert.deepEqual(Buffer.from(await board.readFile('/lib/other.py')), Buffer.from('other\n'));

    // Back to / and delete the folder with everything in it.
    await page.click('#fs-path button[data-path="/"]');
    await listed(page, ['lib']);
    answerNextDialog(page, '');
    await row(page, 'lib').locator('.del').click();
    await gone(page, 'lib');
    assert.equal(await board.exists(`/lib/${n63}`), false);
    assert.match(await terminalText(page), />>>$/);
  });
});

test('a folder of 50 files uploads in one go and downloads again as a zip', async () => {
  const dir = path.join(tmp, 'sensors');
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  const want = new Map();
  for (let i = 0; i < 50; i++) {
    const rel = i < 45 ? `f${String(i).padStart(2, '0')}.py` : `sub/g${i}.txt`;
    const data = Buffer.from(`# file ${i}\n${'x'.repeat(i * 37)}\n`);
    fs.writeFileSync(path.join(dir, rel), data);
    want.set(`sensors/${rel}`, data);
  }
  await withPage(board, async (page) => {
    await listed(page, ['boot.py']);
    await page.setInputFiles('#fs-dir', dir);
    const summary = await uploadsSettled(page);
    assert.match(summary, /50 of 50 files uploaded/);
    for (const [rel, data] of want) assert.deepEqual(Buffer.from(await board.readFile(`/${rel}`)), data, rel);
    await listed(page, ['sensors']);
    await row(page, 'sensors').locator('.open').click();
    const names = await listed(page, ['f00.py', 'f44.py', 'sub']);
    assert.equal(names.length, 46);
    assert.equal(names[0], 'sub/', 'folders first');
    await page.click('#fs-path button[data-path="/"]');
    await listed(page, ['sensors']);

    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 30_000 }),
      row(page, 'sensors').locator('.dl').click(),
    ]);
    assert.equal(download.suggestedFilename(), 'sensors.zip');
    const zip = readZip(fs.readFileSync(await download.path()));
    for (const [rel, data] of want) {
      assert.ok(zip.has(rel), `${rel} is in the zip`);
      assert.deepEqual(zip.get(rel), data, rel);
    }
    assert.ok(zip.has('sensors/sub/'));
    // A single file downloads as itself.
    await row(page, 'sensors').locator('.open').click();
    await listed(page, ['f07.py']);
    const [one] = await Promise.all([page.waitForEvent('download'), row(page, 'f07.py').locator('.dl').click()]);
    assert.equal(one.suggestedFilename(), 'f07.py');
    assert.deepEqual(fs.readFileSync(await one.path()), want.get('sensors/f07.py'));
  });
});

test('on a direct link the panel downloads through the raw REPL: 200 KB of every byte value identical, a missing file a message, the session kept', async () => {
  const data = Buffer.alloc(200 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 8)) & 0xff;
  assert.equal(new Set(data).size, 256, 'every byte value');
  await board.writeFile('/dl/all.bin', data);
  await board.writeFile('/dl/gone.bin', 'soon gone');
  await withPage(board, async (page) => {
    const { sessions, gets } = board.stats;
    await listed(page, ['dl']);
    await row(page, 'dl').locator('.open').click();
    await listed(page, ['all.bin', 'gone.bin']);
    const [dl] = await Promise.all([
      page.waitForEvent('download', { timeout: 30_000 }),
      row(page, 'all.bin').locator('.dl').click(),
    ]);
    assert.equal(dl.suggestedFilename(), 'all.bin');
    assert.ok(fs.readFileSync(await dl.path()).equals(data), 'the downloaded bytes equal the board\'s');
    await page.waitForFunction(() => /\/dl\/all\.bin downloaded \(204\.8 KB\)/.test(document.querySelector('#fs-progress-text').textContent));
    assert.equal(board.stats.gets, gets, 'no WebREPL get reached the board');

    // Gone since the listing: the board's answer, in words; no reconnect.
    await board.remove('/dl/gone.bin');
    await row(page, 'gone.bin').locator('.dl').click();
    await page.waitForFunction(() => /gone\.bin: no such file or folder/.test(document.querySelector('#message').textContent));
    assert.match(await page.textContent('#message'), /Getting \/dl\/gone\.bin failed: \/dl\/gone\.bin: no such file or folder/);
    assert.equal(await page.getAttribute('#status', 'data-state'), 'connected');
    assert.equal(board.stats.sessions, sessions, 'the same session');
    assert.equal(board.stats.gets, gets);

    // Nothing of it in the terminal, nothing left in the namespace, the REPL works.
    const text = await terminalText(page);
    assert.ok(!/raw REPL|b2a_base64|_w\(|ENOENT|S 204800/.test(text), `terminal shows the reads:\n${text}`);
    await type(page, "print('_w' in globals(), 6*7)\r");
    await waitForTerminal(page, /\nFalse 42\n>>>$/);
  });
});

test('drop files onto a folder in the panel uploads them there', async () => {
  await board.writeFile('/drop/keep.txt', 'k');
  await withPage(board, async (page) => {
    await listed(page, ['drop']);
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['dropped!'], 'd1.txt'));
      dt.items.add(new File([new Uint8Array([0, 1, 2, 255])], 'd2.bin'));
      const target = document.querySelector('#fs-list li[data-name="drop"] .open');
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await uploadsSettled(page);
    assert.equal(Buffer.from(await board.readFile('/drop/d1.txt')).toString(), 'dropped!');
    assert.deepEqual([...Buffer.from(await board.readFile('/drop/d2.bin'))], [0, 1, 2, 255]);
    // Dropped on the panel: uploaded once (the page's own drop handler did not take it too).
    assert.equal(await page.locator('#fs-jobs li').count(), 2);
  });
});

test('an upload cut off midway leaves the old file intact', async () => {
  const old = Buffer.from('print("the old main")\n');
  const cut = await startBoard({ port: 0, password: PASSWORD, dropAfterBytes: 100_000 });
  try {
    await cut.writeFile('/main.py', old);
    await withPage(cut, async (page) => {
      await listed(page, ['main.py']);
      await uploadFiles(page, [['main.py', Buffer.alloc(200_000, 0x41)]]);
      const summary = await uploadsSettled(page);
      assert.match(summary, /0 of 1 files uploaded, 1 failed/);
      assert.match(await page.textContent('#fs-jobs li[data-state=failed] .state'), /main\.py/);
      assert.deepEqual(Buffer.from(await cut.readFile('/main.py')), old, 'main.py untouched');
      // The page reconnects by itself; the listing comes back with main.py as it was.
      await page.waitForSelector('#status[data-state=connected]', { timeout: 15_000 });
      await listed(page, ['main.py']);
      assert.equal(await row(page, 'main.py').locator('.size').getAttribute('data-bytes'), String(old.length));
    });
  } finally {
    await cut.close();
  }
});

test('Cancel stops the waiting uploads; nothing half-written or temporary is left', async () => {
  const slow = await startBoard({ port: 0, password: PASSWORD, slowMs: 40 });
  try {
    await slow.writeFile('/keep.txt', 'old\n');
    await withPage(slow, async (page) => {
      await listed(page, ['keep.txt']);
      const files = ['a.txt', 'b.txt', 'c.txt', 'd.txt'].map((n) => [n, Buffer.alloc(20_000, n.charCodeAt(0))]);
      files.push(['keep.txt', Buffer.from('new\n')]);
      await uploadFiles(page, files);
      await page.waitForSelector('#fs-cancel:not([hidden])');
      // Cancel the moment the first upload is done (in the page: a click from here could come
      // late enough on a loaded machine for the others to have finished too).
      await page.evaluate(() => new Promise((resolve) => {
        const jobs = document.querySelector('#fs-jobs');
        const fire = () => {
          if (!jobs.querySelector('li[data-state=done]')) return false;
          document.querySelector('#fs-cancel').click();
          resolve();
          return true;
        };
        if (!fire()) new MutationObserver((_, o) => { if (fire()) o.disconnect(); }).observe(jobs, { subtree: true, childList: true, attributes: true });
      }));
      const summary = await uploadsSettled(page);
      const states = await page.$$eval('#fs-jobs li', (els) => els.map((e) => `${e.textContent} [${e.dataset.state}]`));
      assert.match(summary, /failed/, states.join(' | '));
      assert.ok(states.some((t) => /cancelled/.test(t)), states.join(' | '));
      assert.equal((await slow.readFile('/keep.txt')).toString(), 'old\n', 'the last file was not replaced');
      await page.click('#fs-refresh');
      // (The slow board finishes the cancelled batch's cleanup first: on a loaded machine that
      // took over 10 s once.)
      await listed(page, ['keep.txt', 'a.txt'], 30_000).catch(async (e) => {
        // (Seen twice in full-suite runs, never alone: say what the panel showed.)
        const seen = await page.evaluate(() => ({
          busy: document.querySelector('#fs-list').getAttribute('aria-busy'),
          names: [...document.querySelectorAll('#fs-list li[data-name]')].map((li) => li.dataset.name),
          list: document.querySelector('#fs-list').textContent.slice(0, 300),
          jobs: [...document.querySelectorAll('#fs-jobs li')].map((li) => `${li.textContent} [${li.dataset.state}]`),
          status: document.querySelector('#status').textContent,
        }));
        seen.board = { ...slow.stats, files: await slow.exists('/a.txt') ? 'a.txt there' : 'no a.txt' };
        throw new Error(`${e.message}; the panel: ${JSON.stringify(seen)}`);
      });
      const names = await listed(page, []);
      assert.ok(!names.some((n) => n.startsWith('.webrepl-')), `temporary files left: ${names}`);
      for (const n of names.filter((x) => /^[abcd]\.txt$/.test(x))) {
        assert.equal((await slow.readFile(`/${n}`)).length, 20_000, `${n} is whole`);
      }
    });
  } finally {
    await slow.close();
  }
});

test('a listing while a program prints waits, offers Stop, then lists; the terminal stays clean', async () => {
  await withPage(board, async (page) => {
    await listed(page, ['boot.py']);
    await paste(page, 'import time\ni = 0\nwhile True:\n    print("tick", i)\n    i += 1\n    time.sleep_ms(5)\n');
    await waitForTerminal(page, /tick 20/);
    await page.click('#fs-refresh');
    await page.waitForSelector('#fs-busy:not([hidden])');
    await waitForTerminal(page, /tick 100/); // the program keeps running meanwhile
    await page.click('#fs-stop');
    await page.waitForSelector('#fs-busy', { state: 'hidden' });
    await listed(page, ['boot.py', 'webrepl_cfg.py']);
    const text = await waitForTerminal(page, /KeyboardInterrupt[\s\S]*>>>$/);
    assert.ok(!/raw REPL|ilistdir/.test(text), 'no listing commands in the terminal');
    await type(page, 'print(i > 100)\r');
    await waitForTerminal(page, /\nTrue\n>>>$/);
  });
});

test('▶ runs a Python file of the board in the terminal; only .py files have it', async () => {
  await board.writeFile('/lib/hello.py', "import sys\nfor i in range(2):\n    print('hello', i, 6*7)\ncount = 2\n");
  await board.writeFile('/lib/data.txt', 'not code\n');
  await withPage(board, async (page) => {
    await listed(page, ['lib']);
    await row(page, 'lib').locator('.open').click();
    await listed(page, ['hello.py', 'data.txt']);
    assert.equal(await row(page, 'data.txt').locator('.run').count(), 0, 'no ▶ for a text file');
    await page.getByRole('button', { name: 'Run hello.py', exact: true }).click();
    await waitForTerminal(page, /hello 0 42\nhello 1 42\n>>>$/);
    // Its names stay at the REPL, as after running main.py.
    await type(page, 'print(count)\r');
    await waitForTerminal(page, /print\(count\)\n2\n>>>$/);
  });
});

test('a board left in the raw REPL by a cut link: the page lists its files and the REPL works', async () => {
  // Another client enters the raw REPL and its link is cut: the board stays there, and its
  // next login banner still says >>>.
  const ws = new WebSocket(board.url);
  let text = '';
  ws.on('message', (d) => { text += d.toString(); });
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  const until = async (re) => { for (let i = 0; i < 300 && !re.test(text); i++) await new Promise((r) => setTimeout(r, 10)); assert.match(text, re); };
  await until(/Password: $/);
  ws.send(`${PASSWORD}\r`);
  await until(/>>> $/);
  ws.send('\x01');
  await until(/raw REPL; CTRL-B to exit\r\n>$/);
  ws.terminate();
  await new Promise((r) => setTimeout(r, 300));
  await withPage(board, async (page) => {
    await listed(page, ['boot.py', 'webrepl_cfg.py']);
    assert.equal(await page.isHidden('#fs-busy'), true, 'not taken for a running program');
    await type(page, 'print(6*7)\r');
    await waitForTerminal(page, /print\(6\*7\)\n42\n>>>$/);
  });
});

/** Entries of a stored (uncompressed) zip, checking each CRC. */
function readZip(buf) {
  const out = new Map();
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(eocd >= 0, 'end of central directory');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50);
    const crc = buf.readUInt32LE(p + 16);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    const lnameLen = buf.readUInt16LE(local + 26);
    const lextraLen = buf.readUInt16LE(local + 28);
    const data = buf.subarray(local + 30 + lnameLen + lextraLen, local + 30 + lnameLen + lextraLen + size);
    assert.equal(zlib.crc32(data) >>> 0, crc, `crc of ${name}`);
    out.set(name, Buffer.from(data));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}
