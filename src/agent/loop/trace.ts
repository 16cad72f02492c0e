// The JSONL trace: one line per run start/end, model call, tool call and context event, written as it
// happens (appendFileSync), so a crashed or killed run still leaves everything up to that point.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export class Trace {
  private readonly t0 = performance.now();
  constructor(private readonly path: string | undefined) {
    if (path) mkdirSync(dirname(path), { recursive: true });
  }
  write(type: string, fields: Record<string, unknown>): void {
    if (!this.path) return;
    const line = JSON.stringify({ type, ts: new Date().toISOString(), t_ms: Math.round(performance.now() - this.t0), ...fields });
    appendFileSync(this.path, `${line}\n`);
  }
}
