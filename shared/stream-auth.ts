// How the dashboard authenticates its WebSocket. No imports: the dashboard bundles this file.
/**
 * Browsers cannot set headers on a WebSocket, and a token in the URL leaks (history, logs), so
 * the dashboard offers two subprotocols: STREAM_PROTOCOL, which the server selects, and
 * TOKEN_PROTOCOL_PREFIX + the token in base64url, which it reads and never echoes.
 */
export const STREAM_PROTOCOL = 'pen.stream';
export const TOKEN_PROTOCOL_PREFIX = 'pen.token.';
