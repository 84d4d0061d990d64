// The layering of pen-ts, checked by test/unit/layering.test.ts (and by hand: `npm run layers`).
//
//   shared ← core ← stats ← control ← {admin, cli}        web → shared
//
// An import may only point down this line: a layer may import the layers below it and its own files, nothing
// above, and admin and cli not each other, with the one exception below. server/package.ts (where the
// package is, its version) is a leaf any server layer may import. Every import counts, type-only ones and
// dynamic import() included, and no import cycle is allowed anywhere: a cycle held apart by a dynamic
// import is still a cycle.
'use strict';

/** Each layer and the layers it may import (its own files are always allowed). */
const LAYERS = {
  shared: { path: '^shared/', may: [] },
  package: { path: '^server/package[.]ts$', may: [] },
  core: { path: '^server/core/', may: ['shared', 'package'] },
  stats: { path: '^server/stats/', may: ['core', 'shared', 'package'] },
  control: { path: '^server/control/', may: ['stats', 'core', 'shared', 'package'] },
  admin: { path: '^server/admin/', may: ['control', 'stats', 'core', 'shared', 'package'] },
  cli: { path: '^server/cli/', may: ['control', 'stats', 'core', 'shared', 'package'] },
  web: { path: '^web/src/', may: ['shared'] },
};
const OURS = '^(shared|server|web)/';

/** Single edges against the layering (one per file), each with its reason; every other edge is checked. */
const EXCEPTIONS = [
  {
    layer: 'cli',
    from: '^server/cli/pen[.]ts$',
    to: '^server/admin/server[.]ts$',
    why: 'pen.ts is the process: it starts the admin API (--admin) as it opens the control port; nothing else in cli uses admin',
  },
];

const layerRules = Object.entries(LAYERS).flatMap(([name, layer]) => {
  const allowed = [layer.path, ...layer.may.map((m) => LAYERS[m].path)];
  const rule = (from, exception) => ({
    name: `layer-${name}`,
    comment: `${name} may import only ${[name, ...layer.may].join(', ')} of ours${exception ? `; ${exception.to}: ${exception.why}` : ''}`,
    severity: 'error',
    from,
    to: { path: OURS, pathNot: exception ? [...allowed, exception.to] : allowed },
  });
  const own = EXCEPTIONS.filter((e) => e.layer === name);
  return [rule({ path: layer.path, pathNot: own.map((e) => e.from) }), ...own.map((e) => rule({ path: e.from }, e))];
});

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      comment: 'no import cycles, type-only and dynamic imports included',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'browser-has-no-node',
      comment: 'shared/ and web/ run in the browser too: no Node built-ins',
      severity: 'error',
      from: { path: [LAYERS.shared.path, LAYERS.web.path] },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'resolvable',
      comment: 'an import the tool cannot resolve is an edge it cannot check',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    parser: 'tsc', // the project's TypeScript reads .ts and .tsx alike
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '[.]css$' },
    moduleSystems: ['es6', 'cjs'],
  },
};
