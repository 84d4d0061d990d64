// Bundled by servers-table.test.ts (esbuild) and run in chromium: the real ServersTable over an
// app state fed snapshot frames by hand. Preact's public `options.vnode` hook counts the <tr> each
// row render creates, by its data-testid, so the test can tell a re-rendered row from one whose
// signals updated the DOM in place.
import { h, options, render } from 'preact';
import type { Snapshot } from '../../shared/snapshot.ts';
import { ServersTable } from '../../web/src/components/servers-table/index.tsx';
import { createAppState } from '../../web/src/state.ts';

const renders: Record<string, number> = {};
const previous = options.vnode;
options.vnode = (vnode) => {
  const id = (vnode.props as { 'data-testid'?: unknown })['data-testid'];
  if (typeof id === 'string' && (id.startsWith('server-row-') || id === 'servers')) renders[id] = (renders[id] ?? 0) + 1;
  previous?.(vnode);
};

const state = createAppState({ connect: false, storage: null, base: new URL(location.href) });
state.scope.value = 'admin';
const root = document.getElementById('app');
if (!root) throw new Error('no #app');
render(h(ServersTable, { state }), root);

Object.assign(window, {
  harness: {
    renders: () => ({ ...renders }),
    frame: (snapshot: Snapshot) => state.applyMessage({ type: 'snapshot', snapshot }),
  },
});
