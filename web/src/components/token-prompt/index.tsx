// Shown when the admin API wants a token. The token is kept in sessionStorage only: it is gone
// when the tab closes.
import { useState } from 'preact/hooks';
import type { AppState } from '../../state.ts';
import styles from './style.module.css';

export function TokenPrompt({ state }: { state: AppState }) {
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    await state.login(value);
    setBusy(false);
  };
  return (
    <div class={styles.wrap}>
      <form class={`panel ${styles.card}`} onSubmit={(e) => void submit(e)} data-testid="token-prompt">
        <div class={styles.logo}>pen</div>
        <h1 class={styles.title}>This balancer needs a token</h1>
        <p class="muted">
          Paste an admin or read-only token from the file given to <span class="mono">--admin-token-file</span>.
          It is kept for this browser tab only.
        </p>
        <input
          class="input" type="password" autoFocus autoComplete="off" placeholder="token"
          data-testid="token-input" value={value} onInput={(e) => setValue(e.currentTarget.value)}
        />
        {state.authError.value && <div class="field-error" role="alert">{state.authError.value}</div>}
        <button class="btn primary" type="submit" disabled={busy || value.trim() === ''} data-testid="token-submit">Open dashboard</button>
      </form>
    </div>
  );
}
