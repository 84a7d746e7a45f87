// End-to-end: on a direct link the page's socket worker carries the ACKs a board waits for
// (empty frames while frames move; docs/board-behaviour.md "Speed"), and they change nothing
// the board does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, withPage, connect, waitForTerminal, type, startBoard, PASSWORD } from './support.mjs';

let env;
let board;
before(async () => {
  env = await launch();
  board = await startBoard({ port: 0, password: PASSWORD, inputBuffer: 256 });
});
after(async () => {
  await board?.close();
  await env?.close();
});

test('a direct link nudges the board with empty frames while typing, and the REPL works as before', async () => {
  await withPage(env, board, async (page) => {
    await connect(page);
    const before = board.stats.emptyFrames;
    await type(page, 'print(6*7)\r');
    await waitForTerminal(page, /\n42\n>>>$/);
    assert.ok(board.stats.emptyFrames > before, 'empty frames reached the board');
    // They are not input: nothing was lost from a 256-byte input buffer, no stray prompt.
    assert.equal(board.stats.droppedInputBytes, 0);
    await new Promise((r) => setTimeout(r, 200));
    const idle = board.stats.emptyFrames;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(board.stats.emptyFrames, idle, 'no nudges while nothing moves');
  });
});
