/**
 * The layer rule: platform/ is infrastructure with no business rules, so it
 * depends on nothing in the layers above it (modules/, cli/, main.ts). What it
 * needs of them it declares as an interface and is given (e.g. MqttHandlers,
 * CodedError).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const platformDir = path.dirname(fileURLToPath(import.meta.url));
const srcDir = path.dirname(platformDir);
const ABOVE = ['modules', 'cli', 'main.ts'].map((p) => path.join(srcDir, p));

/** Every module specifier of a file: static imports and re-exports, `import type`, and dynamic import(). */
function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  for (const m of source.matchAll(
    /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  )) {
    specifiers.push((m[1] ?? m[2] ?? m[3])!);
  }
  return specifiers;
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return filesUnder(p);
    return /\.(ts|tsx|js|mjs)$/.test(e.name) ? [p] : [];
  });
}

const isAbove = (file: string, specifier: string): boolean => {
  if (!specifier.startsWith('.')) return false;
  const target = path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts');
  return ABOVE.some((a) => target === a || target.startsWith(a + path.sep));
};

describe('platform/ depends on nothing in modules/, cli/ or main.ts', () => {
  it('finds every kind of import it looks for', () => {
    const sample = [
      "import { A } from '../../cli/a.js';",
      "import type { B } from '../cli/b.js'",
      "export { C } from './c.js';",
      "import {\n  D,\n  E,\n} from '../../cli/d.js';",
      "import '../../cli/side-effect.js';",
      "const f = await import('../../main.js');",
    ].join('\n');
    expect(importsOf(sample)).toEqual(['../../cli/a.js', '../cli/b.js', './c.js', '../../cli/d.js', '../../cli/side-effect.js', '../../main.js']);
    expect(isAbove(path.join(platformDir, 'http', 'server.ts'), ['..', '..', 'modules', 'errors.js'].join('/'))).toBe(true);
    expect(isAbove(path.join(platformDir, 'http', 'server.ts'), '../../main.js')).toBe(true);
    expect(isAbove(path.join(platformDir, 'http', 'server.ts'), '../db/database.js')).toBe(false);
  });

  it('holds for every file under platform/', () => {
    const files = filesUnder(platformDir);
    expect(files.length).toBeGreaterThan(20);
    const violations = files.flatMap((f) =>
      importsOf(fs.readFileSync(f, 'utf8'))
        .filter((s) => isAbove(f, s))
        .map((s) => `${path.relative(srcDir, f)} imports ${s}`),
    );
    expect(violations).toEqual([]);
  });
});
