// The selection mode: client tracking or round robin, plus the hash, weight, prio and stubborn
// flags pen combines with either. Read-only sessions see the same switches, disabled.
import type { ModePatch } from '../../api.ts';
import type { AppState } from '../../state.ts';
import styles from './style.module.css';

const FLAGS: { key: 'hash' | 'weight' | 'prio' | 'stubborn'; label: string; help: string }[] = [
  { key: 'hash', label: 'Hash', help: 'pick the first server from a hash of the client address (-h)' },
  { key: 'weight', label: 'Weight', help: 'spread by weight, relative to open connections (-W)' },
  { key: 'prio', label: 'Prio', help: 'prefer the lowest prio value with room to spare' },
  { key: 'stubborn', label: 'Stubborn', help: 'if the chosen server fails, drop the client instead of trying another (-s)' },
];

export function ModePanel({ state }: { state: AppState }) {
  const s = state.snapshot.value;
  if (!s) return null;
  const m = s.mode;
  const can = state.canChange.value;
  const busy = state.pending.value.has('mode');
  const set = (patch: ModePatch, what: string) => void state.run('mode', what, () => state.api.patchMode(patch));
  return (
    <section class="panel" aria-label="mode" data-testid="mode-panel">
      <div class="panel-head"><h2>Mode</h2></div>
      <div class={`panel-body ${styles.body}`}>
        <div class={styles.segmented} role="radiogroup" aria-label="client selection">
          <button
            type="button" role="radio" aria-checked={!m.roundrobin} data-testid="mode-tracking"
            class={!m.roundrobin ? styles.on : ''} disabled={!can || busy}
            title="send a returning client to the server it used last"
            onClick={() => m.roundrobin && set({ roundrobin: false }, 'switch to client tracking')}
          >Tracking</button>
          <button
            type="button" role="radio" aria-checked={m.roundrobin} data-testid="mode-roundrobin"
            class={m.roundrobin ? styles.on : ''} disabled={!can || busy}
            title="ignore client history: every connection goes to the next server (-r)"
            onClick={() => !m.roundrobin && set({ roundrobin: true }, 'switch to round robin')}
          >Round robin</button>
        </div>
        <div class={styles.flags}>
          {FLAGS.map((f) => (
            <label key={f.key} class={`${styles.flag} ${m[f.key] ? styles.flagOn : ''}`} title={f.help}>
              <input
                type="checkbox" checked={m[f.key]} disabled={!can || busy} data-testid={`mode-${f.key}`}
                onChange={(e) => set({ [f.key]: e.currentTarget.checked }, `turn ${f.key} ${e.currentTarget.checked ? 'on' : 'off'}`)}
              />
              {f.label}
            </label>
          ))}
        </div>
      </div>
    </section>
  );
}
