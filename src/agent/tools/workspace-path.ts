// Keeping file tools inside the workspace: a path is resolved against the workspace, refused when it
// leaves it lexically (.., absolute paths elsewhere), and refused when a symbolic link on the way
// leads out (the real path of the target, or of its nearest existing ancestor, must be inside).
import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

export class OutsideWorkspace extends Error {}

function inside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Absolute path of `p` inside the workspace, or a thrown OutsideWorkspace saying why not. */
export function workspacePath(workspace: string, p: string): string {
  if (typeof p !== 'string' || p === '') throw new OutsideWorkspace('a path is required');
  if (p.includes('\0')) throw new OutsideWorkspace('the path contains a NUL byte');
  const root = realpathSync(workspace);
  const abs = resolve(root, p);
  if (!inside(root, abs)) throw new OutsideWorkspace(`"${p}" is outside the workspace (${root}); file tools only reach files inside it`);
  // The deepest part of the path that exists decides where it really leads.
  let probe = abs;
  while (!existsSync(probe) && !isSymlink(probe)) probe = dirname(probe);
  let real: string;
  try {
    real = realpathSync(probe);
  } catch {
    throw new OutsideWorkspace(`"${p}" goes through a broken symbolic link`);
  }
  if (!inside(root, real)) throw new OutsideWorkspace(`"${p}" leads outside the workspace through a symbolic link (to ${real})`);
  return abs;
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

export function shown(workspace: string, abs: string): string {
  return relative(realpathSync(workspace), abs) || '.';
}
