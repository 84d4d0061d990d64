// Edit one server slot: address, port, limits, weight, prio, ACL. Only the fields that changed
// are sent; moving a server to another address asks first, since its traffic moves with it.
import { useState } from 'preact/hooks';
import type { ServerSnapshot } from '../../../../shared/snapshot.ts';
import type { ServerPatch } from '../../api.ts';
import type { AppState } from '../../state.ts';
import { endpoint } from '../../format.ts';
import { Dialog } from '../dialog/index.tsx';
import styles from './style.module.css';

interface Props {
  state: AppState;
  server: ServerSnapshot;
  onClose: () => void;
}

type Field = 'address' | 'port' | 'max' | 'hard' | 'weight' | 'prio' | 'acl';
const NUMERIC: Field[] = ['port', 'max', 'hard', 'weight', 'prio', 'acl'];
const LABELS: Record<Field, string> = {
  address: 'Address', port: 'Port', max: 'Max (soft)', hard: 'Hard max', weight: 'Weight', prio: 'Prio', acl: 'ACL',
};
const HINTS: Partial<Record<Field, string>> = {
  max: '0 = unlimited', hard: '0 = unlimited', weight: 'weight mode', prio: 'lower first', acl: '0–9',
};

function initial(s: ServerSnapshot): Record<Field, string> {
  return {
    address: s.address, port: String(s.port), max: String(s.maxc), hard: String(s.hard),
    weight: String(s.weight), prio: String(s.prio), acl: String(s.acl),
  };
}

/** The patch for the fields that changed, or an error keyed by field. */
export function diffServer(
  before: Record<Field, string>, after: Record<Field, string>,
): { patch: ServerPatch; errors: Partial<Record<Field, string>> } {
  const patch: ServerPatch = {};
  const errors: Partial<Record<Field, string>> = {};
  if (after.address.trim() !== before.address) {
    if (after.address.trim() === '') errors.address = 'required';
    else patch.address = after.address.trim();
  }
  for (const f of NUMERIC) {
    if (after[f].trim() === before[f]) continue;
    const v = Number(after[f]);
    if (after[f].trim() === '' || !Number.isInteger(v) || v < 0) errors[f] = 'a whole number ≥ 0';
    else if (f === 'port' && (v < 1 || v > 65535)) errors[f] = '1–65535';
    else (patch as Record<string, number>)[f] = v;
  }
  return { patch, errors };
}

export function ServerEditor({ state, server, onClose }: Props) {
  const [start] = useState(() => initial(server));
  const [values, setValues] = useState(start);
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [error, setError] = useState<string | null>(null);
  const busy = state.pending.value.has(`edit-${server.index}`);

  const submit = async () => {
    const { patch, errors: errs } = diffServer(start, values);
    setErrors(errs);
    setError(null);
    if (Object.keys(errs).length > 0) return;
    if (Object.keys(patch).length === 0) {
      onClose();
      return;
    }
    const moved = patch.address !== undefined || patch.port !== undefined;
    const changes = Object.entries(patch).map(([k, v]) => `${k} ${v}`).join(', ');
    const r = await state.run(
      `edit-${server.index}`,
      `change server ${server.index}: ${changes}`,
      () => state.api.patchServer(server.index, patch),
      moved ? {
        title: `Move server ${server.index}?`,
        body: `New connections for server ${server.index} will go to ${endpoint(patch.address ?? server.address, patch.port ?? server.port)} instead of ${endpoint(server.address, server.port)}.`,
        action: 'Move it',
      } : undefined,
    );
    if (r.ok) onClose();
    else if (r.error) {
      const f = r.error.field as Field | undefined;
      if (f && f in LABELS) setErrors({ [f]: r.error.message });
      else setError(r.error.message);
    }
  };

  const input = (f: Field) => (
    <label class="field" key={f}>
      <span>{LABELS[f]}{HINTS[f] && <span class="faint"> · {HINTS[f]}</span>}</span>
      <input
        class={`input ${errors[f] ? 'invalid' : ''} ${f === 'address' ? 'mono' : 'num'}`}
        name={f}
        data-testid={`edit-${f}`}
        inputMode={f === 'address' ? undefined : 'numeric'}
        value={values[f]}
        onInput={(e) => setValues({ ...values, [f]: e.currentTarget.value })}
      />
      {errors[f] && <span class="field-error">{errors[f]}</span>}
    </label>
  );

  return (
    <Dialog
      title={`Server ${server.index}`}
      testId="server-editor"
      onClose={onClose}
      onSubmit={() => void submit()}
      footer={<>
        <button type="button" class="btn" onClick={onClose}>Cancel</button>
        <button type="submit" class="btn primary" data-testid="edit-save" disabled={busy}>Save</button>
      </>}
    >
      <div class={styles.grid}>
        <div class={styles.wide}>{input('address')}</div>
        {input('port')}
        {input('max')}
        {input('hard')}
        {input('weight')}
        {input('prio')}
        {input('acl')}
      </div>
      {error && <div class="field-error" role="alert">{error}</div>}
    </Dialog>
  );
}
