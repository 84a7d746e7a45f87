// The benchmarks' one output: a Markdown table of rows [what, board, measured, target].
export function printTable(rows) {
  const heads = ['what', 'board', 'measured', 'target'];
  const w = heads.map((h, i) => Math.max(...rows.map((r) => String(r[i]).length), h.length));
  const line = (r) => `| ${r.map((c, i) => String(c).padEnd(w[i])).join(' | ')} |`;
  console.log(line(heads));
  console.log(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}
