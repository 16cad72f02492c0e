// Every configured MCP server's tools as one ToolSource for the agent loop. Each tool is offered as
// `server__tool` (see naming.ts) with the server's input schema; arguments are checked against that
// schema before they are sent, so a malformed call gets a precise error the model can fix, whatever the
// server would have done with it. The list follows the servers: a tools/list_changed notification or a
// restart that brings a different list shows up at the loop's next model call. A failed server's tools
// stay listed (names the model already knows keep working as names) and answer with the reason.
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AgentTool, JsonSchema, ToolContext, ToolResult, ToolSource } from '../tool.js';
import { readMcpConfig, type McpServerSpec } from './config.js';
import { McpConnection, type McpConnectionEvent, type McpConnectionOptions } from './connection.js';
import { ToolNamer } from './naming.js';
import { DEFAULT_MAX_OUTPUT_CHARS, toToolResult } from './result.js';
import { ToolSearch, type ToolSearchOptions } from './tool-search.js';

export interface McpToolsOptions extends McpConnectionOptions {
  /** Names the MCP tools must not take (the built-in tools'). */
  readonly reservedNames?: readonly string[];
  /** Cap on the characters of one result sent to the model (default 40,000). */
  readonly maxOutputChars?: number;
  /**
   * `auto` (default): past `toolSearchThreshold` tools, offer only `tool_search` plus the tools it loaded;
   * `always` / `never` force it.
   */
  readonly toolSearch?: 'auto' | 'always' | 'never';
  readonly toolSearchThreshold?: number;
  readonly toolSearchOptions?: ToolSearchOptions;
}

export interface McpServerStatus {
  readonly name: string;
  readonly kind: 'stdio' | 'http';
  readonly state: McpConnection['state'];
  readonly tools: number;
  readonly restarts: number;
  readonly error?: string;
}

export interface McpToolSource extends ToolSource {
  /** Every MCP tool, loaded or not (what tool search searches). */
  allTools(): readonly AgentTool[];
  status(): McpServerStatus[];
  /** Servers' own instructions (`initialize` result), for the system prompt. */
  instructions(): string[];
  close(): Promise<void>;
  /** The tool search in front of the tools, unless `toolSearch: 'never'`. */
  readonly search?: ToolSearch;
}

const validator = new AjvJsonSchemaValidator();

/** The server's input schema as OpenAI `parameters`: an object schema without `$schema`. */
function toParameters(schema: Tool['inputSchema']): JsonSchema {
  const { $schema: _drop, ...rest } = schema as Record<string, unknown>;
  return { ...rest, type: 'object', properties: (rest.properties as object | undefined) ?? {} };
}

function makeChecker(schema: JsonSchema): (args: unknown) => string | null {
  try {
    const validate = validator.getValidator(schema as never);
    return (args) => {
      const r = validate(args);
      return r.valid ? null : r.errorMessage;
    };
  } catch {
    // A schema ajv cannot compile is the server's business: let the server judge the arguments.
    return () => null;
  }
}

class ServerTools {
  private cache: { from: readonly Tool[]; tools: AgentTool[] } | null = null;

  constructor(
    readonly conn: McpConnection,
    private readonly namer: ToolNamer,
    private readonly maxChars: number,
  ) {}

  tools(): AgentTool[] {
    const defs = this.conn.tools;
    if (this.cache && this.cache.from === defs) return this.cache.tools;
    const tools = defs.map((def) => this.wrap(def));
    this.cache = { from: defs, tools };
    return tools;
  }

  private wrap(def: Tool): AgentTool {
    const conn = this.conn;
    const maxChars = this.maxChars;
    const parameters = toParameters(def.inputSchema);
    const check = makeChecker(parameters);
    const name = this.namer.name(conn.name, def.name);
    const description = `${def.description ?? def.title ?? def.name} (MCP server "${conn.name}", tool "${def.name}")`;
    return {
      name,
      description,
      parameters,
      async run(args: Record<string, unknown>, ctx: ToolContext): Promise<ToolResult> {
        const problem = check(args);
        if (problem) {
          return { content: `Invalid arguments for ${name}: ${problem}. Expected JSON Schema: ${JSON.stringify(parameters)}`, isError: true };
        }
        const outcome = await conn.call(def.name, args, ctx.signal);
        if (!outcome.ok) return { content: outcome.message, isError: true };
        return toToolResult(outcome.result, maxChars);
      },
    };
  }
}

class McpSource implements McpToolSource {
  private readonly servers: ServerTools[];

  constructor(specs: readonly McpServerSpec[], options: McpToolsOptions) {
    const namer = new ToolNamer(options.reservedNames ?? []);
    const maxChars = options.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS;
    this.servers = specs.map((spec) => new ServerTools(new McpConnection(spec, options), namer, maxChars));
  }

  async start(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.conn.start()));
  }

  tools(): readonly AgentTool[] {
    return this.allTools();
  }

  allTools(): readonly AgentTool[] {
    return this.servers.flatMap((s) => s.tools());
  }

  status(): McpServerStatus[] {
    return this.servers.map(({ conn }) => ({
      name: conn.name,
      kind: conn.spec.kind,
      state: conn.state,
      tools: conn.tools.length,
      restarts: conn.restarts,
      ...(conn.state === 'ready' || !conn.lastError ? {} : { error: conn.lastError }),
    }));
  }

  instructions(): string[] {
    return this.servers.flatMap(({ conn }) => (conn.instructions ? [`${conn.name}: ${conn.instructions}`] : []));
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.conn.close()));
  }
}

/**
 * Connects to every server in `specs` (in parallel) and resolves once each is ready or has failed; a
 * failed server is reported by `status()` and through `onEvent`, not thrown, so one bad server does not
 * stop the agent. Past `toolSearchThreshold` tools (default 40) the model is offered `tool_search`
 * instead of every schema; the check is made at every model call, so a list that grows is covered too.
 */
export async function connectMcpServers(specs: readonly McpServerSpec[], options: McpToolsOptions = {}): Promise<McpToolSource> {
  const source = new McpSource(specs, options);
  await source.start();
  const mode = options.toolSearch ?? 'auto';
  if (mode === 'never') return source;
  const threshold = mode === 'always' ? 0 : (options.toolSearchThreshold ?? options.toolSearchOptions?.threshold ?? 40);
  const search = new ToolSearch(source, { ...options.toolSearchOptions, threshold });
  return {
    tools: () => search.tools(),
    allTools: () => source.allTools(),
    status: () => source.status(),
    instructions: () => source.instructions(),
    close: () => source.close(),
    search,
  };
}

/** One stderr line per server trouble (not per success), for command-line use. */
export function stderrMcpEvents(e: McpConnectionEvent): void {
  if (e.type === 'died' || e.type === 'restarting' || e.type === 'failed') process.stderr.write(`mcp: server "${e.server}" ${e.type}: ${e.message}\n`);
}

/**
 * `stepflash agent --mcp servers.json`: reads the file and connects to its servers. Without an
 * `onEvent`, servers that fail, die or restart are reported on stderr, so a server that never came up
 * is not silently missing from the agent's tools.
 */
export async function loadMcpTools(configPath: string, options: McpToolsOptions = {}): Promise<McpToolSource> {
  return connectMcpServers(readMcpConfig(configPath), { onEvent: stderrMcpEvents, ...options });
}
