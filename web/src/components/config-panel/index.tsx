// Configuration: the timing settings an operator changes most, `write` (save the running
// configuration as a file pen can load with -F), and a penctl line for everything else.
import { useState } from 'preact/hooks';
import { COMMANDS } from '../../../../shared/commands.ts';
import type { AppState } from '../../state.ts';
import styles from './style.module.css';

type TimingKey = 'blacklist' | 'tracking' | 'timeout';
const TIMING: { key: TimingKey; label: string; help: string }[] = [
  { key: 'blacklist', label: 'Blacklist', help: 'seconds a failed server stays out (-b)' },
  { key: 'tracking', label: 'Tracking', help: 'seconds a client is remembered; 0 = forever (-T)' },
  { key: 'timeout', label: 'Timeout', help: 'connect timeout in seconds (-t)' },
];

function Timing({ state }: { state: AppState }) {
  const settings = state.snapshot.value?.settings;
  const [edits, setEdits] = useState<Partial<Record<TimingKey, string>>>({});
  const can = state.canChange.value;
  if (!settings) return null;
  const save = async (key: TimingKey) => {
    const raw = edits[key];
    if (raw === undefined) return;
    const v = Number(raw);
    const r = await state.run(`set-${key}`, `set ${key} to ${raw}`, () => state.api.patchSettings({ [key]: v }));
    if (r.ok) setEdits((e) => ({ ...e, [key]: undefined }));
  };
  return (
    <div class={styles.timing}>
      {TIMING.map((t) => {
        const editing = edits[t.key];
        return (
          <form
            key={t.key} class={styles.setting} title={t.help}
            onSubmit={(e) => { e.preventDefault(); void save(t.key); }}
          >
            <label class={styles.settingLabel} for={`set-${t.key}`}>{t.label}</label>
            <input
              id={`set-${t.key}`} class={`input num ${styles.settingInput}`} inputMode="numeric" disabled={!can}
              data-testid={`setting-${t.key}`}
              value={editing ?? String(settings[t.key])}
              onInput={(e) => setEdits({ ...edits, [t.key]: e.currentTarget.value })}
            />
            <span class="faint small">s</span>
            {editing !== undefined && editing !== String(settings[t.key]) && (
              <button class="btn small primary" type="submit" disabled={state.pending.value.has(`set-${t.key}`)}>Set</button>
            )}
          </form>
        );
      })}
    </div>
  );
}

export function ConfigPanel({ state }: { state: AppState }) {
  const [file, setFile] = useState('');
  const [line, setLine] = useState('');
  const [output, setOutput] = useState<{ line: string; reply: string; ok: boolean } | null>(null);
  const can = state.canChange.value;

  const write = () => void state.run(
    'write', `write the configuration${file.trim() ? ` to ${file.trim()}` : ''}`,
    () => state.api.write(file.trim() || undefined),
    {
      title: 'Write the configuration?',
      body: `The running configuration replaces the contents of ${file.trim() || 'the -F configuration file'}.`,
      action: 'Write it',
    },
  );

  const send = async (e: Event) => {
    e.preventDefault();
    const cmd = line.trim();
    if (cmd === '') return;
    try {
      const reply = await state.api.penctl(cmd);
      setOutput({ line: cmd, reply: typeof reply === 'string' ? reply : JSON.stringify(reply, null, 2), ok: true });
      state.configVersion.value += 1;
    } catch (err) {
      setOutput({ line: cmd, reply: (err as Error).message, ok: false });
    }
  };

  return (
    <section class="panel" aria-label="configuration" data-testid="config">
      <div class="panel-head"><h2>Configuration</h2></div>
      <div class={`panel-body ${styles.body}`}>
        <Timing state={state} />
        {can && (
          <form class={styles.row} onSubmit={(e) => { e.preventDefault(); write(); }}>
            <input class="input mono" placeholder="file (default: the -F file)" aria-label="file to write" value={file} onInput={(e) => setFile(e.currentTarget.value)} />
            <button class="btn" type="submit" data-testid="write" disabled={state.pending.value.has('write')}>Write config</button>
          </form>
        )}
        <form class={styles.row} onSubmit={(e) => void send(e)}>
          <input
            class="input mono" placeholder="penctl command, e.g. servers" aria-label="penctl command" list="pen-commands"
            data-testid="penctl-input" value={line} onInput={(e) => setLine(e.currentTarget.value)}
          />
          <datalist id="pen-commands">
            {COMMANDS.filter((c) => can || c.scope === 'read').map((c) => <option key={c.name} value={c.name}>{c.summary}</option>)}
          </datalist>
          <button class="btn" type="submit" disabled={line.trim() === ''}>Run</button>
        </form>
        {output && (
          <pre class={`${styles.output} ${output.ok ? '' : styles.outputBad}`} data-testid="penctl-output">
            <span class="faint">$ {output.line}{'\n'}</span>{output.reply === '' ? '(no reply)' : output.reply}
          </pre>
        )}
      </div>
    </section>
  );
}
