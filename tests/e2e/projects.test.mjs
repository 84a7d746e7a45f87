// End-to-end: multi-file projects from editor modules at an Edrys station (issue "Editor
// projects"). The bodies are built the way edrys-labs/module-editor builds them: several files
// go as the string JSON.stringify({file}) — {"file": {"main.py": …, "lib.py": …}}.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startBoard, waitForTerminal, terminalText, ROOT, PASSWORD } from './support.mjs';
import { host, frame, stationConnects } from './edrys/room.mjs';

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

const editorBody = (file) => JSON.stringify({ file });
const users = [{ name: 'Station A', role: 'station' }, { name: 'alice', role: 'student' }, { name: 'Ms T', role: 'teacher' }];

async function room(stationConfig) {
  const page = await host(env, { stationConfig: { websocket: `ws://127.0.0.1:${board.port}/`, ...stationConfig }, users });
  return { page, st: await stationConnects(page), alice: await frame(page, 'alice') };
}

/** Sends `body` on the execute topic as `who` and waits until the station shows `want`. */
async function run(page, st, who, body, want) {
  const before = board.stats.puts;
  const t0 = Date.now();
  await page.evaluate(([w, b]) => window.sendAs(w, 'execute', b), [who, body]);
  await waitForTerminal(st, want, 20_000);
  return { ms: Date.now() - t0, puts: board.stats.puts - before };
}

test('a module-editor project runs as a project: lib.py is written first, main.py imports it; a second Run writes nothing; a changed lib.py is imported afresh', async () => {
  await board.remove('/lib.py').catch(() => {});
  const { page, st } = await room({});
  try {
    const files = {
      'main.py': "import lib\nprint('project says', lib.greet('ann'))\n",
      'lib.py': "def greet(n):\n    return 'hello ' + n\n",
    };
    const first = await run(page, st, 'alice', editorBody(files), /project says hello ann\n>>>$/);
    assert.equal(first.puts, 1, 'lib.py went to the board');
    assert.equal((await board.readFile('/lib.py'))?.toString(), files['lib.py']);
    assert.equal(await board.exists('/main.py'), false, 'main.py runs from the message: not written');
    const again = await run(page, st, 'alice', editorBody(files), /project says hello ann\n>>>[\s\S]*project says hello ann\n>>>$/);
    assert.equal(again.puts, 0, 'an unchanged lib.py is not written again');
    console.log(`project run: first ${first.ms} ms, unchanged ${again.ms} ms (direct link)`);
    files['lib.py'] = "def greet(n):\n    return 'good day ' + n\n";
    const changed = await run(page, st, 'alice', editorBody(files), /project says good day ann\n>>>$/);
    assert.equal(changed.puts, 1);
    assert.match(await terminalText(st), /run from alice/);
    // No names of the set-up are left at the REPL.
    await page.evaluate(() => window.sendAs('Ms T', 'execute', "print(sorted(k for k in globals() if k in ('D','m','sys')))"));
    await waitForTerminal(st, /\n\[\]\n>>>$/);
  } finally {
    await page.close();
    await new Promise((r) => setTimeout(r, 300));
  }
});

test("a student's project that would change a protected file is refused and nothing runs", async () => {
  const { page, st, alice } = await room({});
  try {
    const boot = (await board.readFile('/boot.py'))?.toString();
    const files = { 'main.py': "print('should not run')\n", 'boot.py': 'import os\n' };
    await page.evaluate((b) => window.sendAs('alice', 'execute', b), editorBody(files));
    await alice.waitForSelector('#message:not([hidden])');
    assert.match(await alice.textContent('#message'), /project was not run: \/boot\.py is protected/);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(!(await terminalText(st)).includes('should not run'));
    assert.equal((await board.readFile('/boot.py'))?.toString(), boot, 'boot.py untouched');
  } finally {
    await page.close();
    await new Promise((r) => setTimeout(r, 300));
  }
});

test('with student_dir a student project goes to their own folder and imports from there', async () => {
  const { page, st } = await room({ student_dir: '/students' });
  try {
    const files = { 'main.py': 'import helper\nhelper.show()\n', 'helper.py': "def show():\n    print('in my folder')\n" };
    const r = await run(page, st, 'alice', editorBody(files), /in my folder\n>>>$/);
    assert.equal(r.puts, 1);
    assert.ok(await board.exists('/students/alice/helper.py'));
    assert.equal(await board.exists('/helper.py'), false);
  } finally {
    await page.close();
    await new Promise((r) => setTimeout(r, 300));
  }
});
