// Results of this session's changes, briefly, in the corner. Errors stay longer.
import type { AppState } from '../../state.ts';
import styles from './style.module.css';

export function Toasts({ state }: { state: AppState }) {
  const list = state.toasts.value;
  return (
    <div class={styles.stack} aria-live="polite" data-testid="toasts">
      {list.map((t) => (
        <div key={t.id} class={`${styles.toast} ${t.ok ? styles.ok : styles.bad}`} role={t.ok ? 'status' : 'alert'} data-testid={t.ok ? 'toast-ok' : 'toast-error'}>
          <span class={styles.icon}>{t.ok ? '✓' : '!'}</span>
          <span class={styles.text}>{t.text}</span>
          <button type="button" class={styles.x} aria-label="dismiss" onClick={() => state.dismiss(t.id)}>×</button>
        </div>
      ))}
    </div>
  );
}
