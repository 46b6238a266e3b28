// Builds an initialized, empty PGlite data directory once per PGlite version, so
// the first `tether start` copies it (well under a second) instead of running
// initdb (about 5 s). It is a plain directory, copied file by file: loading a
// tarball through PGlite's loadDataDir unpacks it inside the WASM heap, which
// never shrinks, and left a new server 130 MB larger than a restarted one.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { PGlite } from '@electric-sql/pglite';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../dist/pglite-template');
const stamp = path.join(out, 'TETHER_TEMPLATE_VERSION');
let pkgDir = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
while (!fs.existsSync(path.join(pkgDir, 'package.json'))) pkgDir = path.dirname(pkgDir);
const version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;

if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === version) process.exit(0);
// The tarball of earlier builds.
fs.rmSync(`${out}.tgz`, { force: true });
fs.rmSync(`${out}.tgz.version`, { force: true });
fs.mkdirSync(path.dirname(out), { recursive: true });
const tmp = fs.mkdtempSync(path.join(path.dirname(out), '.pglite-template-'));
try {
  const db = await PGlite.create(tmp);
  await db.close();
  fs.writeFileSync(path.join(tmp, 'TETHER_TEMPLATE_VERSION'), version);
  fs.rmSync(out, { recursive: true, force: true });
  fs.renameSync(tmp, out);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
