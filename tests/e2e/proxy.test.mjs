// End-to-end: the page through `webrepl proxy` (the station's main path) to the virtual board as
// boards write (header and payload apart, Nagle on): the terminal, a WebREPL get read ahead by
// the proxy (the worker's acks batched into one frame per merged message), a put, and a long
// print merged by the proxy — every byte intact, the session kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { launch, panelUpload, panelDownload, openPage, connect, waitForTerminal, type, startBoard, closedPort, terminalText, PASSWORD, ROOT } from './support.mjs';

const BIN = path.join(ROOT, 'target/debug/webrepl');
let env;
let board;
let proxy;
let link;
before(async () => {
  if (!fs.existsSync(BIN)) await promisify(execFile)('cargo', ['build', '-q', '-p', 'webrepl'], { cwd: ROOT });
  env = await launch();
  board = await startBoard({ port: 0, password: PASSWORD });
  const port = await closedPort();
  proxy = spawn(BIN, ['proxy', '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  proxy.log = '';
  await new Promise((resolve, reject) => {
    proxy.stderr.on('data', (d) => { proxy.log += d; if (proxy.log.includes('listening')) resolve(); });
    proxy.on('exit', (c) => reject(new Error(`proxy exited ${c}: ${proxy.log}`)));
  });
  link = `ws://127.0.0.1:${port}/ws://127.0.0.1:${board.port}`;
});
after(async () => {
  proxy?.kill();
  await board?.close();
  await env?.close();
});

test('through webrepl proxy: terminal, a 300 KB WebREPL get and a put byte-identical, 5,000 printed lines in order', async () => {
  const data = Buffer.alloc(300 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 9)) & 0xff;
  await board.writeFile('/big.bin', data);
  const page = await openPage(env, board);
  try {
    await page.fill('#url', link);
    await connect(page);
    await page.waitForSelector('#fs-list li[data-name="boot.py"]');
    await type(page, 'print(6*7)\r');
    await waitForTerminal(page, /\n42\n>>>$/);

    // Through the proxy the page uses the WebREPL get (read ahead by the proxy).
    const gets = board.stats.gets;
    const dl = await panelDownload(page, 'big.bin', { timeout: 60_000 });
    assert.ok(fs.readFileSync(await dl.path()).equals(data), 'the download is byte-identical');
    assert.equal(board.stats.gets, gets + 1, 'one WebREPL get');

    await panelUpload(page, { name: 'up.bin', mimeType: 'application/octet-stream', buffer: data.subarray(0, 100 * 1024) }, 60_000);
    await page.waitForSelector('#fs-jobs li[data-state=done]');
    assert.ok((await board.readFile('/up.bin')).equals(data.subarray(0, 100 * 1024)), 'the upload is byte-identical');

    // A long print arrives merged and whole: the last lines in order, then the prompt.
    await type(page, "for i in range(5000):print('L%05d' % i)\r\r");
    const text = await waitForTerminal(page, /L04999\n>>>$/, 30_000);
    const nums = text.split('\n').filter((l) => /^L\d{5}$/.test(l)).map((l) => Number(l.slice(1)));
    assert.ok(nums.length > 1000, `${nums.length} lines kept in the scrollback`);
    assert.deepEqual(nums, nums.map((_, i) => nums[0] + i), 'in order, none lost');
    assert.match(await terminalText(page), />>>$/);
  } finally {
    await page.click('#connect').catch(() => {});
    await page.close();
  }
  assert.doesNotMatch(proxy.log, /dropped the connection/);
});
