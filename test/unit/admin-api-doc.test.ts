// docs/admin-api.md's route table against the routes the admin app really registers, method and
// path, both ways: a route added, renamed or removed without its row fails here. `<name>` rows
// stand for the generic mirror, one route per command (GET only for read-only ones). The Swagger
// UI's own files under /docs/ are the plugin's and are not listed; `GET /docs` is.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { COMMANDS } from '../../shared/commands.ts';
import { commandSlug } from '../../shared/api.ts';
import { adminRoutes } from '../helpers/admin-routes.ts';

const DOC = new URL('../../docs/admin-api.md', import.meta.url);

/** `METHOD /path` of every route the table's first column names, `<name>` expanded. */
function documented(): string[] {
  const text = readFileSync(DOC, 'utf8');
  const section = text.slice(text.indexOf('\n## Routes\n'), text.indexOf('\n### Errors\n'));
  assert.ok(section.length > 0, 'docs/admin-api.md has a Routes section before Errors');
  const out: string[] = [];
  for (const row of section.split('\n').filter((l) => l.startsWith('| `'))) {
    const first = row.slice(1, row.indexOf(' | ', 1));
    for (const [, method, raw] of first.matchAll(/`([A-Z]+) (\/[^`\s]*)`/g)) {
      const path = (raw ?? '').replace(/\?.*$/, '');
      if (!path.includes('<name>')) {
        out.push(`${method} ${path}`);
        continue;
      }
      for (const c of COMMANDS) {
        if (method === 'GET' && c.scope !== 'read') continue;
        out.push(`${method} ${path.replace('<name>', commandSlug(c.name))}`);
      }
    }
  }
  return out;
}

test('docs/admin-api.md lists every route of the admin app, and only those', async () => {
  const real = (await adminRoutes())
    .filter((r) => !r.path.startsWith('/docs/'))
    .map((r) => `${r.method} ${r.path}`);
  const doc = documented();
  assert.equal(new Set(doc).size, doc.length, 'no route is listed twice');
  assert.ok(doc.includes('POST /commands/no-http') && doc.includes('GET /commands/servers'), 'the <name> rows expand');
  const missing = real.filter((r) => !doc.includes(r));
  const extra = doc.filter((r) => !real.includes(r));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] });
});
