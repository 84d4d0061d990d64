// Blacklist one server for N seconds. The dialog is the confirmation: it says what will happen.
import { useState } from 'preact/hooks';
import type { ServerSnapshot } from '../../../../shared/snapshot.ts';
import type { AppState } from '../../state.ts';
import { endpoint } from '../../format.ts';
import { Dialog } from '../dialog/index.tsx';

interface Props {
  state: AppState;
  server: ServerSnapshot;
  onClose: () => void;
}

export function BlacklistDialog({ state, server, onClose }: Props) {
  // pen's own blacklist time (-b) is the natural default
  const [seconds, setSeconds] = useState(() => String(state.snapshot.peek()?.settings?.blacklist || 30));
  const [error, setError] = useState<string | null>(null);
  const n = Number(seconds);
  const valid = seconds.trim() !== '' && Number.isInteger(n) && n > 0;
  const busy = state.pending.value.has(`bl-${server.index}`);
  const submit = async () => {
    if (!valid) return;
    const r = await state.run(`bl-${server.index}`, `blacklist server ${server.index} for ${n}s`, () => state.api.blacklist(server.index, n));
    if (r.ok) onClose();
    else setError(r.error?.message ?? 'failed');
  };
  return (
    <Dialog
      title={`Blacklist server ${server.index}?`}
      testId="blacklist-dialog"
      onClose={onClose}
      onSubmit={() => void submit()}
      footer={<>
        <button type="button" class="btn" onClick={onClose}>Cancel</button>
        <button type="submit" class="btn danger solid" data-testid="blacklist-confirm" disabled={!valid || busy}>Blacklist</button>
      </>}
    >
      <p>
        New connections will avoid <span class="mono">{endpoint(server.address, server.port)}</span> until
        the time runs out. Connections already open stay open.
      </p>
      <label class="field">
        Seconds
        <input
          class={`input ${valid ? '' : 'invalid'}`}
          type="number" min="1" step="1" inputMode="numeric" autoFocus
          data-testid="blacklist-seconds"
          value={seconds}
          onInput={(e) => { setSeconds(e.currentTarget.value); setError(null); }}
        />
      </label>
      {error && <div class="field-error" role="alert">{error}</div>}
    </Dialog>
  );
}
