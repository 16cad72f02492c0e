// Tool names the model sees for MCP tools: `server__tool`, within OpenAI's `[a-zA-Z0-9_-]{1,64}` rule.
// Two servers may offer the same tool name, a name may hold characters the rule refuses ("files.read"),
// and a long pair may pass 64 characters; each case still needs one unique, stable name. A name that is
// too long or taken is cut and ends in a short hash of the original pair, so it stays the same across
// restarts and list changes; the caller keeps the reverse map (namespaced name → server and tool).
import { createHash } from 'node:crypto';

export const MAX_TOOL_NAME = 64;
const SEP = '__';

function clean(raw: string): string {
  return raw.replace(/[^a-zA-Z0-9_-]/g, '_');
}

function hashOf(server: string, tool: string): string {
  return createHash('sha256').update(`${server}\0${tool}`).digest('hex').slice(0, 8);
}

/** The plain namespaced name, or a hashed one when the plain one is too long. */
export function namespacedName(server: string, tool: string): string {
  const plain = `${clean(server)}${SEP}${clean(tool)}`;
  if (plain.length <= MAX_TOOL_NAME) return plain;
  return hashedName(server, tool);
}

/** `server__tool-cut_hash`: always unique per (server, tool) pair and at most 64 characters. */
export function hashedName(server: string, tool: string): string {
  const suffix = `_${hashOf(server, tool)}`;
  const plain = `${clean(server)}${SEP}${clean(tool)}`;
  return plain.slice(0, MAX_TOOL_NAME - suffix.length) + suffix;
}

/**
 * Assigns names to (server, tool) pairs. Pairs seen before keep their name (stable across list changes);
 * a new pair whose plain name is taken gets the hashed form. `taken` holds names used by other tools
 * (built-ins), which MCP tools never shadow.
 */
export class ToolNamer {
  private readonly byPair = new Map<string, string>();
  private readonly used = new Set<string>();

  constructor(taken: Iterable<string> = []) {
    for (const t of taken) this.used.add(t);
  }

  name(server: string, tool: string): string {
    const key = `${server}\0${tool}`;
    const known = this.byPair.get(key);
    if (known !== undefined) return known;
    let name = namespacedName(server, tool);
    if (this.used.has(name)) name = hashedName(server, tool);
    // A hash collision among 8 hex digits is not expected; guard anyway so names stay unique.
    for (let i = 2; this.used.has(name); i++) name = `${hashedName(server, tool).slice(0, MAX_TOOL_NAME - 3)}_${i}`;
    this.used.add(name);
    this.byPair.set(key, name);
    return name;
  }
}
