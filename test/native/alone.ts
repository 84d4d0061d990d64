// An engine that alone keeps its process alive, as in pen (whose other handles are unref'd):
// `node --import tsx alone.ts BACKEND_PORT N` listens, prints its port, and once N connections
// have closed prints the engine's stats as JSON and destroys it, so the process exits by itself.
// hold.test.ts runs it: libuv's loop here has no other active handle while the engine holds it.
import { harness } from './harness.ts';

const [backend, n] = process.argv.slice(2).map(Number) as [number, number];
const h = harness([{ address: '127.0.0.1', port: backend }], 64);
const { port } = h.eng.listen('tcp', '127.0.0.1', 0, 64);
process.stdout.write(`${port}\n`); // a pipe: written at once on Linux, no request left active
const poll = setInterval(() => {
  if (h.closed.length < n) return;
  clearInterval(poll);
  process.stdout.write(`${JSON.stringify(h.eng.stats())}\n`);
  h.destroy();
}, 20);
poll.unref();
