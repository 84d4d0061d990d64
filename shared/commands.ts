// The command specs: name, grammar, scope and summary of every penctl command. Handlers live in
// server/control/commands.ts; the penctl port, -o/-O, -F, HUP, REST and the dashboard all go
// through them. No Node APIs here: the dashboard imports this file.

export type CommandScope = 'read' | 'admin';

export interface CommandSpec {
  /** the words that select it, e.g. "blacklist" or "no acl" */
  name: string;
  /** the argument grammar after the name, in penctl(1)'s notation */
  grammar: string;
  /** read: only reports; admin: may change state */
  scope: CommandScope;
  summary: string;
}

const spec = (name: string, grammar: string, scope: CommandScope, summary: string): CommandSpec => ({ name, grammar, scope, summary });

export const COMMANDS: readonly CommandSpec[] = [
  spec('blacklist', '[N]', 'admin', 'report or set the blacklist time in seconds'),
  spec('mode', '', 'read', 'report the selection mode flags'),
  spec('roundrobin', '', 'admin', 'bypass client tracking (-r)'),
  spec('no roundrobin', '', 'admin', 'use client tracking'),
  spec('servers', '', 'read', 'list the servers with their counters'),
  spec('server', 'N [acl A] [address H] [port P] [max M] [hard H] [blacklist T] [weight W] [prio P]', 'admin', 'create or change server slot N'),
  spec('timeout', '[N]', 'admin', 'report or set the connect timeout in seconds'),
  spec('tracking', '[N]', 'admin', 'report or set the client tracking time in seconds'),
];

/** What a token line selects: "no X" commands are looked up by both words. */
export function commandName(words: readonly string[]): string {
  return words[0] === 'no' && words.length > 1 ? `no ${words[1]}` : words[0] ?? '';
}
