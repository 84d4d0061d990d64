// The event log: what the balancer reported over the stream (blacklisting, limits, config
// changes, failed connects) and what this session did, newest first.
import type { AppState, LogKind } from '../../state.ts';
import { clock } from '../../format.ts';
import styles from './style.module.css';

const TONE: Record<LogKind, string> = {
  blacklisted: 'bad', error: 'bad', limit: 'warn', back: 'up', config: 'info', link: '',
  down: 'bad', up: 'up', drained: 'info', 'peer-up': 'up', 'peer-down': 'bad',
};
const LABEL: Record<LogKind, string> = {
  blacklisted: 'blacklist', error: 'error', limit: 'limit', back: 'back', config: 'config', link: 'link',
  down: 'down', up: 'up', drained: 'drained', 'peer-up': 'peer up', 'peer-down': 'peer down',
};

export function EventLog({ state }: { state: AppState }) {
  const log = state.log.value;
  return (
    <section class={`panel ${styles.panel}`} aria-label="events" data-testid="events">
      <div class="panel-head">
        <h2>Events</h2>
        <span class="spacer" />
        {log.length > 0 && <button type="button" class="btn ghost small" onClick={() => { state.log.value = []; }}>Clear</button>}
      </div>
      {log.length === 0 ? <div class="empty">Nothing yet. Blacklisting, limits, config changes and failed connects show up here.</div> : (
        <ol class={styles.list}>
          {log.map((e) => (
            <li key={e.id} class={styles.item}>
              <time class={styles.time}>{clock(e.time)}</time>
              <span class={`badge plain ${TONE[e.kind]} ${styles.kind}`}>{LABEL[e.kind]}</span>
              <span class={styles.msg}>{e.message}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
