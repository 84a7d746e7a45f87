// End-to-end: the built page in real Chromium against the virtual board (real MicroPython).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { launch, openPage, withPage as openWith, connect, waitForTerminal, type, paste, startBoard, closedPort, PASSWORD } from './support.mjs';

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

// The Get form on this direct link reads through the raw REPL; hex (?read=hex) here, since the
// virtual board's binascii is micropython-lib's pure-Python one, whose b2a_base64 leaves the
// interpreter's heap hundreds of MB larger (files.test.mjs covers base64, the default).
test('a 200 KB binary file is sent and got back byte-identical', async () => {
  const data = Buffer.alloc(200 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 8)) & 0xff;
  const file = `/tmp/e2e-200k-${process.pid}.bin`;
  fs.writeFileSync(file, data);
  const { gets } = board.stats;
  await withPage(board, async (page) => {
    await connect(page);
    await page.setInputFiles('#file-input', file);
    await page.fill('#uploads li .dest', 'big.bin');
    await page.click('#send');
    await page.waitForSelector('#uploads li[data-state=done]', { timeout: 30_000 });
    assert.ok((await board.readFile('big.bin')).equals(data), 'the board has the exact bytes');
    await page.fill('#get-name', 'big.bin');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#get')]);
    const got = fs.readFileSync(await download.path());
    assert.equal(download.suggestedFilename(), 'big.bin');
    assert.ok(got.equals(data), 'downloaded bytes equal the original');
    await page.waitForSelector('#downloads li[data-state=done]');
    assert.equal(board.stats.gets, gets, 'read through the raw REPL, not the WebREPL get');
    // The terminal still works after the transfers.
    await type(page, 'print(6*7)\r');
    await waitForTerminal(page, /\n42\n>>>$/);
  }, { query: '&read=hex' });
  fs.rmSync(file, { force: true });
});

test('a name over 63 bytes is refused with a clear message', async () => {
  const file = `/tmp/e2e-small-${process.pid}.txt`;
  fs.writeFileSync(file, 'x');
  await withPage(board, async (page) => {
    await connect(page);
    await page.setInputFiles('#file-input', file);
    await page.fill('#uploads li .dest', 'n'.repeat(64));
    await page.click('#send');
    await page.waitForSelector('#uploads li[data-state=failed]');
    assert.match(await page.textContent('#uploads li .state'), /at most 63/);
  });
  fs.rmSync(file, { force: true });
});

test('a WebREPL get (?get=wa) of a missing file gives a clear message and the page reconnects', async () => {
  const gets = board.stats.gets;
  await withPage(board, async (page) => {
    await connect(page);
    await page.fill('#get-name', 'no_such_file.txt');
    await page.click('#get');
    await page.waitForSelector('#downloads li[data-state=failed]');
    assert.match(await page.textContent('#downloads li .state'), /not found/);
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
      const lines = [];
      let total = 0;
      for (let i = 0; total < 20 * 1024; i++) {
        const line = `v${i} = ${i} * 3  # padding to make the program long ${'#'.repeat(20)}`;
        lines.push(line);
        total += line.length + 1;
      }
      const n = lines.length;
      lines.push(`print('total', ${Array.from({ length: 50 }, (_, i) => `v${i * Math.floor(n / 50)}`).join(' + ')})`);
      lines.push('def check():');
      lines.push(`    return all(globals()['v%d' % i] == i * 3 for i in range(${n}))`);
      lines.push("print('intact', check())");
      const code = lines.join('\n') + '\n';
      assert.ok(code.length >= 20 * 1024);
      const expected = Array.from({ length: 50 }, (_, i) => i * Math.floor(n / 50) * 3).reduce((a, b) => a + b, 0);
      await paste(page, code);
      await waitForTerminal(page, new RegExp(`total ${expected}\\nintact True\\n>>>$`), 60_000);
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
  const file = `/tmp/e2e-drop-${process.pid}.bin`;
  fs.writeFileSync(file, Buffer.alloc(150_000, 1));
  try {
    await withPage(flaky, async (page) => {
      await connect(page);
      await page.setInputFiles('#file-input', file);
      await page.click('#send');
      await page.waitForSelector('#uploads li[data-state=failed]', { timeout: 10_000 });
      assert.match(await page.textContent('#uploads li .state'), /connection was lost during the transfer/);
      // A plain put writes as data arrives, as a board does: the cut leaves a truncated file
      // (the file panel's safe upload is the remedy; see files.test.mjs).
      const left = await flaky.readFile('e2e-drop-' + process.pid + '.bin');
      assert.ok(left && left.length < 150_000, 'the board holds a truncated file');
    });
  } finally {
    fs.rmSync(file, { force: true });
    await flaky.close();
  }
});

test('files dropped onto the page are queued with editable names', async () => {
  await withPage(board, async (page) => {
    await connect(page);
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['print("dropped")\n'], 'dropped.py', { type: 'text/x-python' }));
      dt.items.add(new File(['x'], 'second.txt'));
      document.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForSelector('#uploads li:nth-child(2)');
    await page.fill('#uploads li:nth-child(1) .dest', 'lib_dropped.py');
    await page.click('#send');
    await page.waitForFunction(() => document.querySelectorAll('#uploads li[data-state=done]').length === 2);
    assert.equal((await board.readFile('lib_dropped.py')).toString(), 'print("dropped")\n');
    assert.equal((await board.readFile('second.txt')).toString(), 'x');
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
