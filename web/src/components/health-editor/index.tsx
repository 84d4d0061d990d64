// Edit a health check: one server's own (or back to the default), or the default every server
// gets. The words go to the same command as `health …` / `server N health …`, which checks them.
import { useState } from 'preact/hooks';
import { HEALTH_DEFAULTS, type HealthBody, type HealthCheck, type HealthKind } from '../../../../shared/health.ts';
import type { ServerSnapshot } from '../../../../shared/snapshot.ts';
import type { AppState } from '../../state.ts';
import { Dialog } from '../dialog/index.tsx';
import styles from '../server-editor/style.module.css';

interface Props {
  state: AppState;
  server: ServerSnapshot;
  onClose: () => void;
}

const KINDS: HealthKind[] = ['off', 'tcp', 'http', 'dns'];
const OPTIONS = ['interval', 'timeout', 'rise', 'fall'] as const;
type Scope = 'server' | 'default';
type Form = Record<'kind' | 'path' | 'status' | 'name' | (typeof OPTIONS)[number], string>;

/** The REST body for the form, or the first problem found. */
export function healthBody(v: Form): { body?: HealthBody; error?: string } {
  const kind = v.kind as HealthKind;
  const body: HealthBody = { kind };
  if (kind === 'http') {
    if (!v.path.startsWith('/')) return { error: 'the path starts with /' };
    body.path = v.path;
    if (v.status.trim() !== '') body.status = v.status.trim();
  }
  if (kind === 'dns') {
    if (v.name.trim() === '') return { error: 'a name to query' };
    body.name = v.name.trim();
  }
  for (const o of OPTIONS) {
    const n = Number(v[o]);
    if (!Number.isInteger(n) || n < 1) return { error: `${o}: a whole number ≥ 1` };
    body[o] = n;
  }
  return { body };
}

function initial(c: HealthCheck): Form {
  return {
    kind: c.kind, path: c.path ?? '/', status: c.status ?? '200', name: c.name ?? '',
    interval: String(c.interval), timeout: String(c.timeout), rise: String(c.rise), fall: String(c.fall),
  };
}

export function HealthEditor({ state, server, onClose }: Props) {
  const snap = state.snapshot.value;
  const fallback = snap?.health ?? { kind: 'off', ...HEALTH_DEFAULTS };
  const [values, setValues] = useState(() => initial(server.health?.check ?? fallback));
  const [scope, setScope] = useState<Scope>('server');
  const [error, setError] = useState<string | null>(null);
  const key = `health-${server.index}`;
  const busy = state.pending.value.has(key);
  const set = (k: keyof Form, v: string) => setValues({ ...values, [k]: v });

  const submit = async () => {
    const { body, error: problem } = healthBody(values);
    setError(problem ?? null);
    if (!body) return;
    const target = scope === 'default' ? null : server.index;
    const r = await state.run(key, scope === 'default' ? 'set the default health check' : `set server ${server.index}'s health check`,
      () => state.api.setHealth(target, body));
    if (r.ok) onClose();
    else if (r.error) setError(r.error.message);
  };

  const useDefault = async () => {
    const r = await state.run(key, `server ${server.index} back to the default health check`, () => state.api.defaultHealth(server.index));
    if (r.ok) onClose();
    else if (r.error) setError(r.error.message);
  };

  const text = (k: keyof Form, label: string, hint?: string) => (
    <label class="field" key={k}>
      <span>{label}{hint && <span class="faint"> · {hint}</span>}</span>
      <input class={`input ${OPTIONS.includes(k as never) ? 'num' : 'mono'}`} name={k} data-testid={`health-${k}`}
        value={values[k]} onInput={(e) => set(k, e.currentTarget.value)} />
    </label>
  );

  return (
    <Dialog
      title={`Health check · server ${server.index}`}
      testId="health-editor"
      onClose={onClose}
      onSubmit={() => void submit()}
      footer={<>
        {server.health?.own && <button type="button" class="btn" data-testid="health-use-default" disabled={busy} onClick={() => void useDefault()}>Use default</button>}
        <button type="button" class="btn" onClick={onClose}>Cancel</button>
        <button type="submit" class="btn primary" data-testid="health-save" disabled={busy}>Save</button>
      </>}
    >
      <div class={styles.grid}>
        <label class="field">
          <span>Applies to</span>
          <select class="input" data-testid="health-scope" value={scope} onChange={(e) => setScope(e.currentTarget.value as Scope)}>
            <option value="server">server {server.index} only</option>
            <option value="default">every server (the default)</option>
          </select>
        </label>
        <label class="field">
          <span>Check</span>
          <select class="input" data-testid="health-kind" value={values.kind} onChange={(e) => set('kind', e.currentTarget.value)}>
            {KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
          </select>
        </label>
        {values.kind === 'http' && <>{text('path', 'Path')}{text('status', 'Status', 'e.g. 200 or 2xx')}</>}
        {values.kind === 'dns' && <div class={styles.wide}>{text('name', 'Name', 'an A query')}</div>}
        {values.kind !== 'off' && <>
          {text('interval', 'Interval', 's')}
          {text('timeout', 'Timeout', 's')}
          {text('rise', 'Rise', 'passes to come up')}
          {text('fall', 'Fall', 'failures to go down')}
        </>}
      </div>
      {error && <div class="field-error" role="alert">{error}</div>}
    </Dialog>
  );
}
