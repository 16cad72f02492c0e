// Checkpoints: everything a run needs to continue exactly where it stopped — every parameter's values
// (router biases included), AdamW's moments and step count, the trainer's step, and whatever the caller
// adds (its log history, the recipe it ran). One file: "SFCK", a u32 version, a u32 header length, a
// JSON header naming the arrays, then the arrays as little-endian f32. Written to a temporary file and
// renamed, so a run killed while saving leaves the previous checkpoint intact.
import { closeSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { Trainer } from './trainer.js';

const MAGIC = 0x4b434653; // "SFCK"
const VERSION = 1;

interface Header {
  readonly step: number;
  readonly adamT: number;
  readonly arrays: { name: string; size: number }[];
  readonly extra: unknown;
}

export function saveCheckpoint(path: string, trainer: Trainer, extra: unknown = null): void {
  const arrays: { name: string; data: Float32Array }[] = [];
  for (const p of trainer.model.params.all) arrays.push({ name: p.name, data: f32(p.data) });
  trainer.optimizer.params.forEach((p, i) => {
    arrays.push({ name: `adam.m:${p.name}`, data: trainer.optimizer.m[i]! });
    arrays.push({ name: `adam.v:${p.name}`, data: trainer.optimizer.v[i]! });
  });
  const header: Header = { step: trainer.step, adamT: trainer.optimizer.t, arrays: arrays.map((a) => ({ name: a.name, size: a.data.length })), extra };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.alloc(12);
  pre.writeUInt32LE(MAGIC, 0);
  pre.writeUInt32LE(VERSION, 4);
  pre.writeUInt32LE(json.length, 8);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, pre);
    writeSync(fd, json);
    // Pad to 4 bytes so the arrays can be read as Float32Array views.
    const pad = (4 - ((12 + json.length) % 4)) % 4;
    if (pad) writeSync(fd, Buffer.alloc(pad));
    for (const a of arrays) writeSync(fd, new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Restores a checkpoint into a trainer built with the same model shape; returns the caller's extra. */
export function loadCheckpoint(path: string, trainer: Trainer): unknown {
  const buf = readFileSync(path);
  if (buf.length < 12 || buf.readUInt32LE(0) !== MAGIC) throw new Error(`${path} is not a stepflash training checkpoint`);
  const version = buf.readUInt32LE(4);
  if (version !== VERSION) throw new Error(`${path}: checkpoint version ${version}, this build reads ${VERSION}`);
  const hl = buf.readUInt32LE(8);
  const header = JSON.parse(buf.subarray(12, 12 + hl).toString('utf8')) as Header;
  let off = 12 + hl;
  off += (4 - (off % 4)) % 4;
  const byName = new Map<string, Float32Array>();
  for (const a of header.arrays) {
    if (off + a.size * 4 > buf.length) throw new Error(`${path} is truncated (array ${a.name})`);
    byName.set(a.name, new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + a.size * 4)));
    off += a.size * 4;
  }
  const take = (name: string, size: number): Float32Array => {
    const a = byName.get(name);
    if (!a) throw new Error(`${path} has no array "${name}": it was written for a different model`);
    if (a.length !== size) throw new Error(`${path}: "${name}" holds ${a.length} values, the model ${size}: a different model shape`);
    return a;
  };
  for (const p of trainer.model.params.all) p.data.set(take(p.name, p.size));
  trainer.optimizer.params.forEach((p, i) => {
    trainer.optimizer.m[i]!.set(take(`adam.m:${p.name}`, p.size));
    trainer.optimizer.v[i]!.set(take(`adam.v:${p.name}`, p.size));
  });
  trainer.optimizer.t = header.adamT;
  trainer.step = header.step;
  return header.extra;
}

function f32(a: ArrayLike<number>): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(a);
}
