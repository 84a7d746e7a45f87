// End-to-end: the built page with a USB board over Web Serial. Chromium's own navigator.serial
// has no board behind it here, so the test injects a stand-in with the real API's shape
// (tests/e2e/serial/fake-serial.js) whose port carries real bytes to the virtual board's
// serial mode (real MicroPython on a pty, 256-byte input buffer; tests/e2e/serial/bridge.mjs).
// The shared board is an ESP32 dev kit's UART (CP2102 ids; input that overflows is lost); one
// test uses a native-USB board (Pico ids; the board's USB holds input back).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, panelUpload, panelDownload, startBoard, waitForTerminal, terminalText, type, paste, longProgram, ROOT, PASSWORD } from './support.mjs';
import { startSerialBridge, fakeSerialScript } from './serial/bridge.mjs';
import { host as openHost, frame } from './edrys/room.mjs';

let env;
let bridge;
before(async () => {
  env = await launch({ root: ROOT });
  bridge = await startSerialBridge({ baud: 0, inputBuffer: 256 });
  await env.context.addInitScript({ content: bridge.initScript() });
});
after(async () => {
  await bridge?.close();
  await env?.close();
});

async function openPage(query = '') {
  const page = await env.context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${env.web.url}dist/index.html${query}`);
  await page.waitForFunction(() => window.__webrepl && window.__webrepl.term);
  await page.waitForSelector('#connect:not([disabled])');
  return page;
}

async function usbConnect(page) {
  await page.click('#serial-connect');
  await page.waitForSelector('#status[data-state=connected]', { timeout: 10_000 });
  await waitForTerminal(page, />>>$/);
}

async function done(page) {
  if ((await page.getAttribute('#status', 'data-state')) !== 'disconnected') {
    await page.click('#connect').catch(() => {});
    await page.waitForSelector('#status[data-state=disconnected]').catch(() => {});
  }
  await page.close();
  await new Promise((r) => setTimeout(r, 100));
}

test('first time: the chooser (cancel is explained); no password; print(1+1); the granted port reconnects without asking', async () => {
  const page = await openPage();
  try {
    await page.evaluate(() => { window.__fakeSerial.cancelNext = true; });
    await page.click('#serial-connect');
    await page.waitForSelector('#status[data-state=error]');
    assert.match(await page.textContent('#message'), /no port was chosen/i);
    assert.equal(await page.evaluate(() => window.__fakeSerial.opens), 0);
    await usbConnect(page);
    assert.match(await page.textContent('#status'), /Connected to USB board 10c4:ea60/);
    assert.equal(await page.inputValue('#password'), '', 'no password was needed');
    // 115200 baud, and a read buffer larger than Chrome's 255-byte default (one read per 255
    // bytes would cost the page a promise per 255 bytes of a download).
    assert.deepEqual(await page.evaluate(() => window.__fakeSerial.lastOpen), { baudRate: 115200, bufferSize: 65536 });
    await type(page, 'print(1+1)\r');
    await waitForTerminal(page, /print\(1\+1\)\n2\n>>>$/);
    assert.equal(await page.evaluate(() => window.__fakeSerial.requests), 2);
    // Disconnect closes the port cleanly (the stand-in refuses close() while streams are locked).
    await page.click('#connect');
    await page.waitForSelector('#status[data-state=disconnected]');
    await page.waitForFunction(() => navigator.serial.getPorts().then((p) => p[0] && p[0].readable === null));
  } finally {
    await page.close();
  }
  // A new page: the port is granted and remembered, so it opens without the chooser.
  const again = await openPage();
  try {
    await usbConnect(again);
    assert.equal(await again.evaluate(() => window.__fakeSerial.requests), 0, 'the chooser was not shown');
    await type(again, 'print(2+3)\r');
    await waitForTerminal(again, /\n5\n>>>$/);
  } finally {
    await done(again);
  }
});

test('a 200 KB binary file is sent and got back byte-identical through the raw REPL', async () => {
  const data = Buffer.alloc(200 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 8)) & 0xff;
  const file = path.join(os.tmpdir(), `e2e-serial-200k-${process.pid}.bin`);
  fs.writeFileSync(file, data);
  const page = await openPage();
  try {
    await usbConnect(page);
    await page.waitForSelector('#fs-list li[data-name="boot.py"]', { timeout: 30_000 });
    await panelUpload(page, { name: 'big.bin', mimeType: 'application/octet-stream', buffer: data }, 120_000);
    await page.waitForSelector('#fs-jobs li[data-state=done]');
    assert.ok((await bridge.board.readFile('/big.bin')).equals(data), 'the board has the exact bytes');
    const download = await panelDownload(page, 'big.bin', { timeout: 120_000 });
    assert.ok(fs.readFileSync(await download.path()).equals(data), 'downloaded bytes equal the original');
    assert.equal(bridge.board.stats.droppedInputBytes, 0, 'the board lost no input');
    await type(page, 'print(6*7)\r');
    await waitForTerminal(page, /\n42\n>>>$/);
  } finally {
    fs.rmSync(file, { force: true });
    await done(page);
  }
});

test('a native-USB board (Pico ids) takes a put as whole scripts: nothing waits for windows, nothing is lost', async () => {
  const data = Buffer.alloc(100 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 8)) & 0xff;
  const usbEnv = await launch({ root: ROOT });
  const usb = await startSerialBridge({ baud: 0, inputBuffer: 256, inputFlow: 'usb' });
  try {
    await usbEnv.context.addInitScript({ content: usb.initScript() });
    const page = await usbEnv.context.newPage();
    await page.goto(`${usbEnv.web.url}dist/index.html`);
    await page.waitForSelector('#connect:not([disabled])');
    await usbConnect(page);
    assert.match(await page.textContent('#status'), /Connected to USB board 2e8a:0005/);
    await page.waitForSelector('#fs-list li[data-name="boot.py"]', { timeout: 30_000 });
    await panelUpload(page, { name: 'fast.bin', mimeType: 'application/octet-stream', buffer: data }, 120_000);
    await page.waitForSelector('#fs-jobs li[data-state=done]');
    assert.ok((await usb.board.readFile('/fast.bin')).equals(data), 'the board has the exact bytes');
    // The page sent far beyond the board's 256-byte buffer (its USB held the rest back).
    assert.ok(usb.board.stats.mostHeldBytes > 1024, `held at most ${usb.board.stats.mostHeldBytes} bytes`);
    assert.equal(usb.board.stats.droppedInputBytes, 0);
    await type(page, 'print(6*7)\r');
    await waitForTerminal(page, /\n42\n>>>$/);
    await done(page);
  } finally {
    await usb.close();
    await usbEnv.close();
  }
});

test('a pasted 20 KB program runs intact on the 256-byte-buffer board', async () => {
  const page = await openPage();
  try {
    await usbConnect(page);
    const { code, done: ran } = longProgram(20);
    const dropped = bridge.board.stats.droppedInputBytes;
    await paste(page, code);
    await waitForTerminal(page, ran, 60_000);
    assert.equal(bridge.board.stats.droppedInputBytes - dropped, 0, 'the board lost no input');
  } finally {
    await done(page);
  }
});

test('the file panel lists and changes the board files; Stop; soft reset keeps the port', async () => {
  await bridge.board.writeFile('/panel.py', 'print("panel")\n');
  const page = await openPage();
  try {
    await usbConnect(page);
    const names = () => page.$$eval('#fs-list li[data-name]', (lis) => lis.map((li) => li.dataset.name));
    await page.waitForFunction(() => [...document.querySelectorAll('#fs-list li[data-name]')].some((li) => li.dataset.name === 'panel.py'), null, { timeout: 10_000 });
    assert.ok((await names()).includes('boot.py'));
    const p = path.join(os.tmpdir(), `e2e-serial-${process.pid}`, 'up.txt');
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, 'uploaded over USB\n');
    await page.setInputFiles('#fs-files', p);
    await page.waitForFunction(() => /files uploaded/.test(document.querySelector('#fs-progress-text').textContent), null, { timeout: 30_000 });
    await page.waitForSelector('#fs-list li[data-name="up.txt"]');
    assert.equal(String(await bridge.board.readFile('/up.txt')), 'uploaded over USB\n');
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Delete panel.py', exact: true }).click();
    await page.waitForFunction(() => !document.querySelector('#fs-list li[data-name="panel.py"]'));
    assert.equal(await bridge.board.exists('/panel.py'), false);
    // Stop and soft reset.
    const opens = bridge.stats.opens;
    // (A program that prints: the virtual board sees Ctrl-C when the program writes.)
    await type(page, "import time\rwhile True: print('.', end=''); time.sleep_ms(20)\r\r");
    await new Promise((r) => setTimeout(r, 300));
    await page.click('#stop');
    await waitForTerminal(page, /KeyboardInterrupt[\s\S]*>>>$/);
    await page.click('#reset');
    await waitForTerminal(page, /soft reboot[\s\S]*>>>$/);
    await type(page, 'print(8*8)\r');
    await waitForTerminal(page, /\n64\n>>>$/);
    assert.equal(await page.getAttribute('#status', 'data-state'), 'connected');
    assert.equal(bridge.stats.opens, opens, 'the port stayed open through the soft reset');
  } finally {
    await done(page);
  }
});

test('unplugging is reported in words; plugging back in reconnects by itself', async () => {
  const page = await openPage();
  try {
    await usbConnect(page);
    // (The first connect may have asked, when this test runs alone: count from here.)
    const asked = await page.evaluate(() => window.__fakeSerial.requests);
    await page.evaluate(() => window.__fakeSerial.unplug());
    await page.waitForSelector('#status[data-state=reconnecting]');
    await page.waitForFunction(() => /USB board went away \(unplugged/.test(document.querySelector('#message').textContent));
    // It stays waiting while the board is away.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await page.getAttribute('#status', 'data-state'), 'reconnecting');
    assert.match(await page.textContent('#status'), /Waiting for the USB board/);
    // The terminal says what the page does: it waits, it does not count down to a retry.
    // (Whitespace dropped: the long notice wraps across terminal rows.)
    const said = (await terminalText(page)).replace(/\s+/g, '');
    assert.match(said, /wentaway.*\(waitingfortheboardtocomeback\)/);
    assert.doesNotMatch(said, /reconnectingin/i);
    // Said once, though the page has looked for the board again since (every second).
    assert.equal(said.split('(waitingfortheboardtocomeback)').length - 1, 1, said);
    await page.evaluate(() => window.__fakeSerial.replug());
    await page.waitForSelector('#status[data-state=connected]', { timeout: 10_000 });
    await type(page, 'print(7*6)\r');
    await waitForTerminal(page, /\n42\n>>>$/);
    assert.equal(await page.evaluate(() => window.__fakeSerial.requests), asked, 'no chooser on the way back');
  } finally {
    await done(page);
  }
});

test('a port another tab holds is refused with the reason; free again, it connects', async () => {
  const a = await openPage();
  const b = await openPage();
  try {
    await usbConnect(a);
    await b.click('#serial-connect');
    await b.waitForSelector('#status[data-state=error]');
    assert.match(await b.textContent('#message'), /another program or tab has it open/);
    await a.click('#connect');
    await a.waitForSelector('#status[data-state=disconnected]');
    await a.waitForFunction(() => navigator.serial.getPorts().then((p) => p[0]?.readable === null));
    await usbConnect(b);
    await type(b, 'print(9*9)\r');
    await waitForTerminal(b, /\n81\n>>>$/);
  } finally {
    await a.close();
    await done(b);
  }
});

test('a browser without Web Serial says so plainly and WebREPL still works', async () => {
  const board = await startBoard({ port: 0, password: PASSWORD });
  const page = await env.context.newPage();
  try {
    await page.addInitScript({ content: fakeSerialScript({ absent: true }) });
    await page.goto(`${env.web.url}dist/index.html?url=${encodeURIComponent(`ws://127.0.0.1:${board.port}/`)}`);
    await page.waitForSelector('#connect:not([disabled])');
    assert.equal(await page.evaluate(() => 'serial' in navigator), false);
    await page.click('#serial-connect');
    await page.waitForSelector('#message:not([hidden])');
    assert.match(await page.textContent('#message'), /no Web Serial[\s\S]*Chrome and Edge on desktop/);
    await page.fill('#password', PASSWORD);
    await page.click('#connect');
    await page.waitForSelector('#status[data-state=connected]', { timeout: 10_000 });
    await waitForTerminal(page, />>>$/);
    await type(page, 'print(1+1)\r');
    await waitForTerminal(page, /\n2\n>>>$/);
  } finally {
    await done(page);
    await board.close();
  }
});

test('Edrys: a station with serial: true picks the port once, then reconnects by itself; a student\'s execute code runs on the USB board', async () => {
  const config = {
    stationConfig: { serial: true, execute: 'execute' },
    users: [
      { name: 'Station A', role: 'station' },
      { name: 'alice', role: 'student' },
    ],
  };
  // Not granted yet in this browser: forget the grant of the tests above (same origin).
  const blank = await openPage();
  await blank.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('__fakeSerial') || k.startsWith('webrepl.serial')).forEach((k) => localStorage.removeItem(k)));
  await blank.close();
  let room = await openHost(env, config);
  try {
    let st = await frame(room, 'Station A');
    // Not granted yet: one button to press (a browser rule: a click).
    await st.waitForFunction(() => /Connect USB board/.test(document.querySelector('#message').textContent));
    assert.equal(await st.isVisible('#url'), false, 'no address field at a USB station');
    await st.click('#serial-connect');
    await st.waitForSelector('#status[data-state=connected]', { timeout: 10_000 });
    await waitForTerminal(st, />>>$/);
    const alice = await frame(room, 'alice');
    await alice.waitForSelector('#status[data-state=connected]', { timeout: 10_000 });
    await room.evaluate(() => window.sendAs('alice', 'execute', "for i in range(3):\n    print('usb', i * 11)\n"));
    const want = /usb 0\nusb 11\nusb 22\n>>>$/;
    await waitForTerminal(st, want, 20_000);
    await waitForTerminal(alice, want, 10_000);
    assert.match(await terminalText(st), /run from alice/);
    await room.close();
    // The station opens again (a new class session): it reconnects by itself.
    room = await openHost(env, config);
    st = await frame(room, 'Station A');
    await st.waitForSelector('#status[data-state=connected]', { timeout: 10_000 });
    const alice2 = await frame(room, 'alice');
    await room.evaluate(() => window.sendAs('alice', 'execute', 'print(40+2)'));
    await waitForTerminal(alice2, /\n42\n>>>$/, 20_000);
  } finally {
    await room.close().catch(() => {});
  }
});

test('the module config Edrys reads offers serial (boolean) and stays strict JSON', async () => {
  const page = await openPage();
  try {
    const text = await page.getAttribute('meta[name=module-config]', 'content');
    const cfg = JSON.parse(text);
    assert.equal(cfg.stationConfig.serial.type, 'boolean');
    assert.match(cfg.stationConfig.serial.hint, /USB/);
  } finally {
    await page.close();
  }
});
