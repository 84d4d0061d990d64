// What the admin routes share: the balancer (read only through stats/), the runtime hooks the
// registry needs, the snapshot sampler, and `run`, the one way a route changes anything.
import type { FastifyRequest } from 'fastify';
import type { Balancer } from '../core/balancer.ts';
import type { CommandResult, Runtime } from '../control/context.ts';
import { applyCommand, execute, runWords } from '../control/registry.ts';
import type { Snapshot } from '../../shared/snapshot.ts';
import { HttpError, statusForCode } from './errors.ts';
import { confineFiles } from './files.ts';

export interface AdminDeps {
  pen: Balancer;
  runtime: Runtime;
  sampler: { sample(): Snapshot };
  /** where REST may name files (files.ts); null or absent: nowhere */
  fileRoot?: () => string | null;
}

/**
 * Run one penctl line through the registry on behalf of a REST caller. Changes (admin-scope
 * commands) are logged with the caller's address. `origin: 'port'` is for POST /penctl, whose
 * contract is the control port's exact reply (`include` then prints its replies on pen's stdout,
 * as over the port, instead of returning them). A file the line names must be inside the
 * configuration directory (files.ts).
 */
export async function run(deps: AdminDeps, req: FastifyRequest, line: string, origin: 'rest' | 'port' = 'rest'): Promise<CommandResult> {
  confineFiles(line, deps.fileRoot?.() ?? null);
  const result = await execute({ pen: deps.pen, runtime: deps.runtime, origin }, line);
  logChange(req, result, line);
  return result;
}

/**
 * Run a command given by its name and pen's words (the generic mirror, POST /commands/<name>):
 * the entry's parse → apply → reply, with no line to tokenize. `line` names it in the file check,
 * the admin log and the `config` event.
 */
export async function runCommand(
  deps: AdminDeps, req: FastifyRequest, name: string, words: readonly string[],
): Promise<CommandResult> {
  const line = [name, ...words].join(' ');
  confineFiles(line, deps.fileRoot?.() ?? null);
  const result = await runWords({ pen: deps.pen, runtime: deps.runtime, origin: 'rest' }, name, words);
  logChange(req, result, line);
  return result;
}

function logChange(req: FastifyRequest, result: CommandResult, line: string): void {
  if (result.spec?.scope === 'admin') {
    req.log.info({ remote: req.ip, scope: req.callerScope, command: line }, 'admin change');
  }
}

/**
 * Apply a command to arguments its entry's schema already accepts (REST's own validation), on
 * behalf of a REST caller: the same `apply` as the port, no penctl line in between. `line` is the
 * penctl line it stands for: the file check, the admin log and the `config` event name it.
 */
export async function apply(
  deps: AdminDeps, req: FastifyRequest, name: string, args: unknown, line: string,
): Promise<CommandResult> {
  confineFiles(line, deps.fileRoot?.() ?? null);
  const result = await applyCommand({ pen: deps.pen, runtime: deps.runtime, origin: 'rest' }, name, args, line);
  logChange(req, result, line);
  return result;
}

/** Turn a command the registry refused into an HTTP error naming the field it names, or else `field`. */
export function failed(result: CommandResult, field?: string): never | void {
  if (!result.error) return;
  const message = result.error.message || result.reply.trim() || 'the command was refused';
  throw new HttpError(
    statusForCode(result.error.code), message, result.error.field ?? field, result.error.code, result.reply,
  );
}
