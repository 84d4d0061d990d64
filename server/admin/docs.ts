// The OpenAPI document (generated from the route schemas, which are the shared typebox
// definitions) at GET /openapi.json, and Swagger UI at /docs. Both are public: they describe the
// API and reveal no state.
import type { FastifyInstance } from 'fastify';
import { swagger, swaggerUi } from './packages.ts';
import { VERSION } from '../package.ts';

/** Register before any route, so every route is collected. */
export async function registerDocs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'pen admin API',
        description: [
          'Every penctl command as REST, live statistics and events. Changes need an admin token; reads and the stream a read token.',
          '',
          'Live stream: a WebSocket at GET /stream (token as a Bearer header, or from a browser as the subprotocol',
          'pen.token.<base64url token> next to pen.stream) sends',
          '{"type":"snapshot","snapshot":Snapshot} at once and every second, and {"type":"event","event":PenEvent}',
          'the moment a server is blacklisted, comes back, reaches its limit, or a setting changes.',
        ].join('\n'),
        version: VERSION,
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { scope: 'public' }, schema: { hide: true } }, async () => app.swagger());
}
