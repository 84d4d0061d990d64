// Every route the admin app registers, as method + path: read from app.printRoutes(), whose tree
// splits paths where the radix tree does ("health" then "z"), so a route's path is its ancestors'
// pieces joined. HEAD, which fastify adds beside each GET, is left out.
import { Balancer } from '../../server/core/balancer.ts';
import { buildAdmin } from '../../server/admin/app.ts';

export interface Route { method: string; path: string }

export function parseRouteTree(tree: string): Route[] {
  const stack: string[] = [];
  const routes: Route[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│├└─ ]*?)(\S+)(?: \(([A-Z, ]+)\))?$/u.exec(line);
    if (!m || m[2] === undefined) continue;
    const depth = (m[1] ?? '').length / 4;
    stack.length = depth;
    stack[depth] = m[2];
    const path = stack.join('');
    for (const method of (m[3] ?? '').split(', ')) {
      if (method !== '' && method !== 'HEAD') routes.push({ method, path });
    }
  }
  return routes;
}

/** The routes of the app as the admin tests build it (no dashboard files, no tokens). */
export async function adminRoutes(): Promise<Route[]> {
  const pen = new Balancer();
  const app = await buildAdmin({ pen, runtime: { argv: ['pen'], exit() {}, stdout() {} }, webRoot: null });
  try {
    await app.ready();
    return parseRouteTree(app.printRoutes({ commonPrefix: false }));
  } finally {
    await app.close();
    pen.shutdown();
  }
}
