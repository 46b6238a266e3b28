/**
 * Code comments cite the design by section ("architecture", the section sign, a number):
 * every cited number must be a numbered heading of docs/architecture.md, so that renumbering
 * the document without updating the comments (or citing a section that does not exist) fails.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DOC = path.join(ROOT, 'docs/architecture.md');
/** Where code lives; generated and installed trees are skipped. */
const CODE_DIRS = ['apps', 'packages', 'scripts', 'bench'];
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'results']);
const CODE_FILE = /\.(ts|tsx|js|mjs|cjs|sql)$/;
/** "architecture §4", and the further sections of a list: "architecture §4, §9". */
const CITATION = /architecture\s+\u00a7\s*(\d+)((?:\s*(?:,|and)\s*\u00a7\s*\d+)*)/g;

function* codeFiles(dir: string): Generator<string> {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP_DIRS.has(entry.name)) continue;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* codeFiles(p);
    else if (CODE_FILE.test(entry.name)) yield p;
  }
}

/** Every section number cited in the code, with where. */
function citations(files: Iterable<string>): { where: string; section: number }[] {
  const out: { where: string; section: number }[] = [];
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(CITATION)) {
      const line = text.slice(0, m.index).split('\n').length;
      const where = `${path.relative(ROOT, file) || file}:${line}`;
      const numbers = [m[1]!, ...[...(m[2] ?? '').matchAll(/\d+/g)].map((n) => n[0])];
      for (const n of numbers) out.push({ where, section: Number(n) });
    }
  }
  return out;
}

/** The numbers of the document's numbered headings ("## 4. Device protocol"). */
function sectionNumbers(markdown: string): Set<number> {
  return new Set([...markdown.matchAll(/^#{1,6}\s+(\d+)\.\s/gm)].map((m) => Number(m[1])));
}

describe('docs/architecture.md', () => {
  it('has a heading for every section a code comment cites', () => {
    const sections = sectionNumbers(fs.readFileSync(DOC, 'utf8'));
    const cited = citations(CODE_DIRS.flatMap((d) => [...codeFiles(path.join(ROOT, d))]));
    // The scan itself works: the device protocol is cited from the contracts and the broker.
    expect(cited.length).toBeGreaterThan(0);
    const missing = cited.filter((c) => !sections.has(c.section)).map((c) => `${c.where} cites section ${c.section}`);
    expect(missing, `sections in docs/architecture.md: ${[...sections].join(', ')}`).toEqual([]);
  });

  it('reads section numbers and lists of citations', () => {
    expect([...sectionNumbers('# Title\n## 1. One\ntext\n## 12. Twelve\n### Not numbered\n')]).toEqual([1, 12]);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-docs-test-'));
    try {
      const f = path.join(tmp, 'x.ts');
      fs.writeFileSync(f, '// see architecture \u00a74, \u00a79\n// and architecture \u00a7 77\n');
      expect(citations([f]).map((c) => c.section)).toEqual([4, 9, 77]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
