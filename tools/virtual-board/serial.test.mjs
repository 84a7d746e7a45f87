// The virtual board as a serial board (serial.mjs): through its real pty, as a client sees it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tty from 'node:tty';
import { startSerialBoard } from './serial.mjs';

/** Opens the board's port raw; `until(bytes)` waits for output containing them. */
function openPort(p) {
  const fd = fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  const rs = new tty.ReadStream(fd);
  rs.setRawMode(true);
  let buf = Buffer.alloc(0);
  let waiters = [];
  rs.on('data', (d) => { buf = Buffer.concat([buf, d]); waiters = waiters.filter((w) => !w()); });
  return {
    write: (b) => fs.writeSync(fd, Buffer.from(b, 'latin1')),
    until: (want, ms = 3000) => new Promise((resolve, reject) => {
      const w = Buffer.from(want, 'latin1');
      const t = setTimeout(() => reject(new Error(`no ${JSON.stringify(want)} in ${JSON.stringify(buf.toString('latin1'))}`)), ms);
      const check = () => {
        const i = buf.indexOf(w);
        if (i < 0) return false;
        clearTimeout(t);
        const got = buf.subarray(0, i + w.length);
        buf = buf.subarray(i + w.length);
        resolve(got.toString('latin1'));
        return true;
      };
      if (!check()) waiters.push(check);
    }),
    close: () => rs.destroy(),
  };
}

const link = () => path.join(os.tmpdir(), `vb-serial-test-${process.pid}-${Math.random().toString(16).slice(2)}`);

test('REPL over the pty: \\r\\n output, raw-paste as pyexec.c, soft reset keeps the port', async () => {
  const board = await startSerialBoard({ link: link(), baud: 0 });
  const port = openPort(board.path);
  try {
    port.write('\r');
    assert.equal(await port.until('>>> '), '\r\n>>> ');
    port.write('print(1+1)\r');
    assert.match(await port.until('>>> '), /print\(1\+1\)\r\n2\r\n>>> $/);
    port.write('\x03\x01');
    await port.until('raw REPL; CTRL-B to exit\r\n>');
    port.write('\x05A\x01');
    // R 01, window 128 (half the 256-byte buffer) little-endian, then a first window grant.
    assert.equal(await port.until('\x80\x00\x01'), 'R\x01\x80\x00\x01');
    port.write("print(b'\\xff'+b'\xff', 7)\x04");
    assert.equal(await port.until('>'), "\x04b'\\xff\\xff' 7\r\n\x04\x04>");
    port.write('\x05A\x01');
    await port.until('\x80\x00\x01');
    port.write('1/0\x04');
    assert.match(await port.until('\x04>'), /^\x04\x04Traceback[^]*ZeroDivisionError[^]*\x04>$/);
    port.write('\x02');
    await port.until('>>> ');
    port.write('\x04');
    assert.match(await port.until('>>> '), /MPY: soft reboot\r\n[^]*MicroPython v1\.27[^]*>>> $/);
    port.write('print(3)\r');
    assert.match(await port.until('>>> '), /3\r\n>>> $/);
    assert.equal(board.stats.softResets, 1);
    // A board's flash holds only its own files (no /dev, /proc of the emulator), after a reboot too.
    port.write("import os; print(sorted(os.listdir('/')))\r");
    assert.match(await port.until('>>> '), /\r\n\['boot\.py'\]\r\n>>> $/);
  } finally {
    port.close();
    await board.close();
  }
});

test('raw-paste: a window granted per 128 bytes read, a long script intact, bytes 01/02 in a script', async () => {
  const board = await startSerialBoard({ link: link(), baud: 0 });
  const port = openPort(board.path);
  try {
    port.write('\x03\x01');
    await port.until('raw REPL; CTRL-B to exit\r\n>');
    // 40 KB of script, never more than the two windows the board allows in flight.
    const body = Buffer.alloc(40 * 1024, 0x61);
    const script = Buffer.concat([Buffer.from("x=b'"), body, Buffer.from("'\nprint(len(x), x.count(b'a'))")]);
    port.write('\x05A\x01');
    await port.until('R\x01\x80\x00\x01');
    let credit = 256;
    let sent = 0;
    while (sent < script.length) {
      if (credit === 0) {
        await port.until('\x01');
        credit += 128;
        continue;
      }
      const n = Math.min(credit, script.length - sent);
      port.write(script.subarray(sent, sent + n).toString('latin1'));
      sent += n;
      credit -= n;
    }
    port.write('\x04');
    // Grants for what was read after the last send may still come before the end's `04`.
    assert.match(await port.until('>'), /^\x01*\x04(40960) 40960\r\n\x04\x04>$/);
    // Bytes 01 and 02 inside a script are script bytes, not raw-REPL keys.
    port.write('\x05A\x01');
    await port.until('\x80\x00\x01');
    port.write("print(b'A\x01B\x02C')\x04");
    assert.equal(await port.until('>'), "\x04b'A\\x01B\\x02C'\r\n\x04\x04>");
    assert.equal(board.stats.droppedInputBytes, 0);
  } finally {
    port.close();
    await board.close();
  }
});

test('bytes beyond the 256-byte input buffer are lost while the REPL is busy', async () => {
  const board = await startSerialBoard({ link: link(), baud: 0 });
  const port = openPort(board.path);
  try {
    port.write('import time\r');
    await port.until('>>> ');
    port.write('time.sleep(0.3)\r');
    await new Promise((r) => setTimeout(r, 100));
    port.write('x'.repeat(1000));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(board.stats.droppedInputBytes, 1000 - 256);
  } finally {
    port.close();
    await board.close();
  }
});

test('115200 baud paces output to the line rate', async () => {
  const board = await startSerialBoard({ link: link(), baud: 115200 });
  const port = openPort(board.path);
  try {
    port.write('\r');
    await port.until('>>> ');
    const t = Date.now();
    port.write("print('y'*11000)\r");
    await port.until('>>> ', 5000);
    const s = (Date.now() - t) / 1000;
    // ~11,040 bytes at 11,520 B/s: close to a second, never much faster.
    assert.ok(s > 0.85 && s < 2.5, `${s} s`);
  } finally {
    port.close();
    await board.close();
  }
});
