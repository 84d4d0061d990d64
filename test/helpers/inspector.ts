// What a process under test really holds, through Node's own inspector (the process is started
// with --inspect=127.0.0.1:PORT): a full garbage collection first, then process.memoryUsage().
// RSS alone cannot tell a leak from V8 keeping the heap it grew to; live bytes after a GC can.
import WebSocket from 'ws';

export interface LiveMemory {
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  rss: number;
}

/** The inspector's debugger socket for the one target of the process on `port`. */
async function debuggerUrl(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(5000) });
  const [target] = (await res.json()) as { webSocketDebuggerUrl: string }[];
  if (!target) throw new Error(`no inspector target on 127.0.0.1:${port}`);
  return target.webSocketDebuggerUrl;
}

/** Collect garbage (twice: weak callbacks free more on the second pass) and read what is left. */
export async function liveMemory(port: number): Promise<LiveMemory> {
  const ws = new WebSocket(await debuggerUrl(port));
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  let id = 0;
  const call = (method: string, params: object = {}) => new Promise<unknown>((resolve, reject) => {
    const mine = ++id;
    const timer = setTimeout(() => reject(new Error(`inspector: ${method} timed out`)), 10_000);
    const onMessage = (data: WebSocket.RawData) => {
      const msg = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id !== mine) return;
      clearTimeout(timer);
      ws.off('message', onMessage);
      if (msg.error) reject(new Error(`inspector: ${method}: ${msg.error.message}`));
      else resolve(msg.result);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ id: mine, method, params }));
  });
  try {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const r = (await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })) as { result: { value: string } };
    return JSON.parse(r.result.value) as LiveMemory;
  } finally {
    ws.close();
  }
}
