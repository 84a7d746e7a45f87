// End-to-end: the built page in real Chromium against the virtual board (real MicroPython).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { launch, openPage, panelUpload, panelDownload, withPage as openWith, connect, waitForTerminal, type, paste, startBoard, closedPort, longProgram, PASSWORD } from './support.mjs';

let env;
let board;
before(async () => {
  env = await launch();
  board = await startBoard({ port: 0, password: PASSWORD });
});
after(async () => {
  await board?.close();
  await env?.close();
});

const withPage = (b, fn, opts) => openWith(env, b, fn, opts);

test('logs in, shows the version, print(1+1) shows 2', async () => {
  await withPage(board, async (page) => {
    await connect(page);
    await page.waitForFunction(() => /MicroPython 1\.\d+\.\d+/.test(document.querySelector('#version').textContent));
    await type(page, 'print(1+1)\r');
    await waitForTerminal(page, /print\(1\+1\)\n2\n>>>$/);
    // The password never reaches the terminal.
    assert.ok(!(await waitForTerminal(page, />>>$/)).includes(PASSWORD));
  });
});

test('the password field is never echoed and a wrong password gives one clear message, no retry', async () => {
  const before = board.stats.deniedLogins;
  await withPage(board, async (page) => {
    await page.click('#connect');
    await page.waitForSelector('#status[data-state=error]');
    const msg = await page.textContent('#message');
    assert.match(msg, /access denied: wrong password/i);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(board.stats.deniedLogins - before, 1, 'exactly one login attempt');
    assert.equal(await page.textContent('#connect'), 'Connect');
  }, { password: 'wrongpw' });
});

test('a password longer than 9 characters is refused before connecting', async () => {
  const sessions = board.stats.sessions;
  await withPage(board, async (page) => {
    await page.click('#connect');
    await page.waitForSelector('#message:not([hidden])');
    assert.match(await page.textContent('#message'), /at most 9/);
    assert.equal(board.stats.sessions, sessions);
  }, { password: 'secret1234' });
});

test('malformed URL gives a clear message', async () => {
  await withPage(board, async (page) => {
    await page.fill('#url', 'ws://my board:8266');
    await page.click('#connect');
    await page.waitForSelector('#message:not([hidden])');
    assert.match(await page.textContent('#message'), /spaces/);
    await page.fill('#url', 'ws://127.0.0.1:99999/');
    await page.click('#connect');
    await page.waitForFunction(() => /1 to 65535/.test(document.querySelector('#message').textContent));
  });
});

test('connection refused is explained', async () => {
  await withPage(board, async (page) => {
    await page.fill('#url', `ws://127.0.0.1:${await closedPort()}/`);
    await page.click('#connect');
    await page.waitForSelector('#status[data-state=error]');
    assert.match(await page.textContent('#message'), /could not connect/i);
  });
});

// The panel's download on this direct link reads through the raw REPL; hex (?read=hex) here,
// since the virtual board's binascii is micropython-lib's pure-Python one, whose b2a_base64
// leaves the interpreter's heap hundreds of MB larger (files.test.mjs covers base64, the default).
test('a 200 KB binary file is sent and got back byte-identical', async () => {
  const data = Buffer.alloc(200 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 8)) & 0xff;
  const { gets } = board.stats;
  await withPage(board, async (page) => {
    await connect(page);
    await panelUpload(page, { name: 'big.bin', mimeType: 'application/octet-stream', buffer: data });
    await page.waitForSelector('#fs-jobs li[data-state=done]');
    assert.ok((await board.readFile('big.bin')).equals(data), 'the board has the exact bytes');
    const download = await panelDownload(page, 'big.bin');
    const got = fs.readFileSync(await download.path());
    assert.equal(download.suggestedFilename(), 'big.bin');
    assert.ok(got.equals(data), 'downloaded bytes equal the original');
    await page.waitForSelector('#fs-gets li[data-state=done]');
    assert.equal(board.stats.gets, gets, 'read through the raw REPL, not the WebREPL get');
    // The terminal still works after the transfers.
    await type(page, 'print(6*7)\r');
    await waitForTerminal(page, /\n42\n>>>$/);
  }, { query: '&read=hex' });
});

test('a name over 63 bytes is refused with a clear message', async () => {
  await withPage(board, async (page) => {
    await connect(page);
    await panelUpload(page, { name: 'n'.repeat(64), mimeType: 'text/plain', buffer: Buffer.from('x') });
    await page.waitForSelector('#fs-jobs li[data-state=failed]');
    assert.match(await page.textContent('#fs-jobs li .state'), /at most 63/);
  });
});

test('a WebREPL get (?get=wa) of a missing file gives a clear message and the page reconnects', async () => {
  await board.writeFile('/no_such_file.txt', 'soon gone');
  await withPage(board, async (page) => {
    await connect(page);
    // Listed, then removed behind the panel's back: its download asks for a missing file.
    await page.waitForSelector('#fs-list li[data-name="no_such_file.txt"]');
    await type(page, "import os; os.remove('no_such_file.txt')\r");
    await waitForTerminal(page, /os\.remove[^\n]*\n>>>$/);
    const gets = board.stats.gets;
    await page.click('#fs-list li[data-name="no_such_file.txt"] .dl');
    await page.waitForSelector('#fs-gets li[data-state=failed]');
    assert.match(await page.textContent('#fs-gets li .state'), /not found/);
    assert.equal(board.stats.gets, gets + 1, 'the WebREPL get reached the board');
    await page.waitForSelector('#status[data-state=connected]', { timeout: 10_000 });
    await type(page, 'print(3+4)\r');
    await waitForTerminal(page, /\n7\n>>>$/);
  }, { query: '&get=wa' });
});

test('unicode typed as ASCII escapes renders, and runs intact through the run-code path', async () => {
  await withPage(board, async (page) => {
    await connect(page);
    await type(page, "print('\\u00e4\\u00f6\\u00fc\\u2192\\u2713')\r");
    await waitForTerminal(page, /\näöü→✓\n>>>$/);
    await paste(page, "s = 'äöü→✓'\nprint(s, len(s))\n");
    await waitForTerminal(page, /\näöü→✓ 5\n>>>$/);
  });
});

test('a pasted 20 KB program runs intact on a board with a 256-byte input buffer', async () => {
  const small = await startBoard({ port: 0, password: PASSWORD, inputBuffer: 256 });
  try {
    await withPage(small, async (page) => {
      await connect(page);
      const { code, done } = longProgram(20);
      assert.ok(code.length >= 20 * 1024);
      await paste(page, code);
      await waitForTerminal(page, done, 60_000);
      assert.equal(small.stats.droppedInputBytes, 0, 'the board lost no input');
    });
  } finally {
    await small.close();
  }
});

test('Stop interrupts a running program; Soft reset reconnects on its own', async () => {
  await withPage(board, async (page) => {
    await connect(page);
    await type(page, 'while True: pass\r\r');
    await new Promise((r) => setTimeout(r, 300));
    await page.click('#stop');
    await waitForTerminal(page, /KeyboardInterrupt[\s\S]*>>>$/);
    await page.click('#reset');
    await page.waitForSelector('#status[data-state=reconnecting]', { timeout: 5000 });
    await page.waitForSelector('#status[data-state=connected]', { timeout: 10_000 });
    await type(page, 'print(5*5)\r');
    await waitForTerminal(page, /\n25\n>>>$/);
  });
});

test('a second client is told that another one is connected', async () => {
  const first = await openPage(env, board);
  try {
    await connect(first);
    await withPage(board, async (page) => {
      await page.click('#connect');
      await page.waitForSelector('#status[data-state=error]', { timeout: 10_000 });
      assert.match(await page.textContent('#message'), /another WebREPL client is probably connected/);
    });
    await waitForTerminal(first, /Concurrent WebREPL connection from[^\n]*rejected/);
  } finally {
    await first.click('#connect');
    await first.close();
    await new Promise((r) => setTimeout(r, 100));
  }
});

test('the link dropping during a transfer is reported clearly', async () => {
  const flaky = await startBoard({ port: 0, password: PASSWORD, dropAfterBytes: 50_000 });
  const name = `e2e-drop-${process.pid}.bin`;
  try {
    await withPage(flaky, async (page) => {
      await connect(page);
      await page.setInputFiles('#fs-files', { name, mimeType: 'application/octet-stream', buffer: Buffer.alloc(150_000, 1) });
      await page.waitForSelector('#fs-jobs li[data-state=failed]', { timeout: 10_000 });
      assert.match(await page.textContent('#fs-jobs li .state'), /connection was lost during the transfer/);
      // The panel's upload is safe: the cut leaves no truncated file under the name (a plain
      // put would, as a board writes as data arrives; files.test.mjs covers the cleanup).
      assert.equal(await flaky.readFile(name), null, 'no truncated file under the name');
    });
  } finally {
    await flaky.close();
  }
});

test('files dropped onto the page upload into the panel\'s folder, and can be renamed there', async () => {
  await withPage(board, async (page) => {
    await connect(page);
    await page.waitForSelector('#fs-list li[data-name="boot.py"]');
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['print("dropped")\n'], 'dropped.py', { type: 'text/x-python' }));
      dt.items.add(new File(['x'], 'second.txt'));
      document.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => document.querySelectorAll('#fs-jobs li[data-state=done]').length === 2, null, { timeout: 15_000 });
    assert.equal((await board.readFile('second.txt')).toString(), 'x');
    page.once('dialog', (d) => d.accept('lib_dropped.py'));
    await page.click('#fs-list li[data-name="dropped.py"] .ren');
    await page.waitForSelector('#fs-list li[data-name="lib_dropped.py"]');
    assert.equal((await board.readFile('lib_dropped.py')).toString(), 'print("dropped")\n');
    await type(page, 'exec(open("lib_dropped.py").read())\r');
    await waitForTerminal(page, /\ndropped\n>>>$/);
  });
});

test('the cursor blinks only while the terminal has the focus', async () => {
  await withPage(board, async (page) => {
    await connect(page);
    await waitForTerminal(page, />>>$/);
    const blinking = () => page.evaluate(() => window.__webrepl.term.options.cursorBlink);
    await page.click('#terminal');
    assert.equal(await blinking(), true, 'focused: blinks');
    await page.click('#url');
    assert.equal(await blinking(), false, 'focus elsewhere: steady');
    await page.click('#terminal');
    assert.equal(await blinking(), true, 'focused again: blinks');
  });
});
