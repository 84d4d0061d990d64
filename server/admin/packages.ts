// The admin plane's CommonJS packages, loaded through require() rather than import: Node 20
// pays ~8 MiB of RSS the first time ESM imports a CommonJS package (see core/acl.ts), and these
// are all CommonJS. Types come from the packages as usual.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const { fastify: Fastify, LogController } = require('fastify') as typeof import('fastify');
export const websocket = (require('@fastify/websocket') as typeof import('@fastify/websocket')).default;
export const fastifyStatic = (require('@fastify/static') as typeof import('@fastify/static')).default;
export const swagger = (require('@fastify/swagger') as typeof import('@fastify/swagger')).default;
export const swaggerUi = (require('@fastify/swagger-ui') as typeof import('@fastify/swagger-ui')).default;
export const pino = (require('pino') as typeof import('pino')).default;
export const promClient = require('prom-client') as typeof import('prom-client');
