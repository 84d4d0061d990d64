// REST's face of errors: every failure is JSON {statusCode, error, message, field?}. Validation
// errors name the field they rejected; errors we raise on purpose carry their status; anything
// unexpected becomes a plain 500 and is logged, so internals never leak into a reply.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiError } from '../../shared/api.ts';

/** An error a route raises deliberately: its status and message go to the caller as they are. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly field?: string,
    readonly code?: string,
    /** the penctl port's reply to the failed command */
    readonly reply?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function errorBody(
  statusCode: number, message: string, field?: string, code?: string, reply?: string,
): ApiError {
  const body: ApiError = { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
  if (field !== undefined) body.field = field;
  if (code !== undefined) body.code = code;
  if (reply !== undefined) body.reply = reply;
  return body;
}

/** The status for a registry error code. */
export function statusForCode(code: string): number {
  if (code === 'PEN_ERR_UNSUPPORTED') return 501;
  if (code === 'PEN_ERR_NOT_ENABLED') return 409;
  return 400;
}

/** `/seconds` → `seconds`, `/args/0` → `args.0`; the root of a part is named after the part. */
function fieldOf(err: FastifyError): string | undefined {
  const first = err.validation?.[0];
  if (!first) return undefined;
  const missing = (first.params as { missingProperty?: string } | undefined)?.missingProperty;
  const path = first.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (missing) return path ? `${path}.${missing}` : missing;
  return path || err.validationContext;
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof HttpError) {
      return reply.code(err.statusCode).send(errorBody(err.statusCode, err.message, err.field, err.code, err.reply));
    }
    if (err.validation) {
      return reply.code(400).send(errorBody(400, err.message, fieldOf(err)));
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // fastify's own client errors (bad JSON, wrong content type, body too large)
      return reply.code(status).send(errorBody(status, err.message, status === 400 ? 'body' : undefined));
    }
    req.log.error({ err }, 'admin request failed');
    return reply.code(500).send(errorBody(500, 'internal error'));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(errorBody(404, `no route ${req.method} ${req.url.split('?')[0]}`));
  });
}
