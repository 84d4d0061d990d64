// Access lists 0–9: what each holds, adding an entry, emptying a list. Fetched over REST (the
// snapshot does not carry them) and refetched whenever a configuration change goes by.
import { useEffect, useState } from 'preact/hooks';
import type { AclAdd, AclList } from '../../api.ts';
import type { AppState } from '../../state.ts';
import styles from './style.module.css';

export function AclPanel({ state }: { state: AppState }) {
  const [lists, setLists] = useState<AclList[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [n, setN] = useState('1');
  const [action, setAction] = useState<'permit' | 'deny'>('permit');
  const [address, setAddress] = useState('');
  const [mask, setMask] = useState('');
  const [formError, setFormError] = useState<string | null>(null);
  const version = state.configVersion.value;
  const can = state.canChange.value;
  const settings = state.snapshot.value?.settings;

  useEffect(() => {
    let live = true;
    state.api.acls().then(
      (l) => { if (live) { setLists(l); setLoadError(null); } },
      (e: Error) => { if (live) setLoadError(e.message); },
    );
    return () => { live = false; };
  }, [version, state.auth.value]);

  const add = async (e: Event) => {
    e.preventDefault();
    setFormError(null);
    const entry: AclAdd = { action, address: address.trim() };
    if (mask.trim() !== '') entry.mask = /^\d+$/.test(mask.trim()) ? Number(mask.trim()) : mask.trim();
    const r = await state.run('acl-add', `add “acl ${n} ${action} ${entry.address}${entry.mask !== undefined ? ` ${entry.mask}` : ''}”`, () => state.api.addAcl(Number(n), entry));
    if (r.ok) { setAddress(''); setMask(''); }
    else if (r.error) setFormError(r.error.message);
  };

  const clear = (i: number) => void state.run(
    `acl-clear-${i}`, `empty acl ${i}`, () => state.api.clearAcl(i),
    { title: `Empty access list ${i}?`, body: `Every entry of list ${i} is removed; an empty list permits everyone.`, action: 'Empty it' },
  );

  const used = (lists ?? []).filter((l) => l.entries.length > 0);
  const role = (i: number) => [
    settings?.client_acl === i && i !== 0 ? 'clients' : null,
    settings?.control_acl === i && i !== 0 ? 'control port' : null,
  ].filter(Boolean).join(', ');

  return (
    <section class="panel" aria-label="access lists" data-testid="acls">
      <div class="panel-head">
        <h2>Access lists</h2>
        <span class="spacer" />
        {settings && <span class="muted small">clients: {settings.client_acl} · control: {settings.control_acl}</span>}
      </div>
      {loadError && <div class="empty field-error">Could not load: {loadError}</div>}
      {lists && used.length === 0 && <div class="empty">All lists are empty (everyone is permitted).</div>}
      {used.length > 0 && (
        <ul class={styles.lists}>
          {used.map((l) => (
            <li key={l.index} class={styles.list}>
              <div class={styles.listHead}>
                <b>ACL {l.index}</b>
                {role(l.index) && <span class="badge plain info">{role(l.index)}</span>}
                <span class="spacer" />
                {can && <button type="button" class="btn small danger" data-testid={`acl-clear-${l.index}`} onClick={() => clear(l.index)}>Empty</button>}
              </div>
              <ol class={styles.entries}>
                {l.entries.map((e, k) => (
                  <li key={k} class="mono">
                    <span class={e.action === 'permit' ? styles.permit : styles.deny}>{e.action}</span>{' '}
                    {e.line.split(' ').slice(3).join(' ')}
                  </li>
                ))}
              </ol>
            </li>
          ))}
        </ul>
      )}
      {can && (
        <form class={styles.form} onSubmit={(e) => void add(e)} data-testid="acl-form">
          <select class="input" value={n} onChange={(e) => setN(e.currentTarget.value)} aria-label="list">
            {Array.from({ length: 10 }, (_, i) => <option key={i} value={String(i)}>ACL {i}</option>)}
          </select>
          <select class="input" value={action} onChange={(e) => setAction(e.currentTarget.value as 'permit' | 'deny')} aria-label="action">
            <option value="permit">permit</option>
            <option value="deny">deny</option>
          </select>
          <input class="input mono" placeholder="address, e.g. 10.0.0.0" aria-label="address" data-testid="acl-address" value={address} onInput={(e) => setAddress(e.currentTarget.value)} required />
          <div class={styles.maskRow}>
            <input class="input mono" placeholder="mask, e.g. 255.255.255.0 (optional)" aria-label="mask" value={mask} onInput={(e) => setMask(e.currentTarget.value)} />
            <button class="btn" type="submit" data-testid="acl-add" disabled={address.trim() === '' || state.pending.value.has('acl-add')}>Add entry</button>
          </div>
          {formError && <div class={`field-error ${styles.full}`} role="alert">{formError}</div>}
        </form>
      )}
    </section>
  );
}
