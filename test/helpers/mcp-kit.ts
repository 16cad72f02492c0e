// Real MCP servers for the tests, built on @modelcontextprotocol/sdk's server side. `makeKitServer`
// returns a low-level Server (tools with raw JSON schemas, as most MCP servers in the wild declare them)
// that offers:
//   echo {text}                  → the text
//   add {a: number, b: number}   → their sum; the server counts calls, so a test can tell whether a call
//                                  with bad arguments reached it
//   whoami {}                    → "pid N" (which process answered, to see restarts)
//   sleep {ms}                   → waits, then "slept"; a test kills the server during it
//   grow {name}                  → adds a tool `name` (it echoes) and sends tools/list_changed
//   weird names                  → "get.item" and "get_item" (collide once cleaned), a 60-character name
//   many: N generated tools      → `<domain>_<action>` (weather_forecast, currency_convert, ...), each with
//                                  its own description and schema; every one answers with its name and
//                                  arguments
// The stdio entry point is mcp-stdio-server.ts; serveMcpHttp (src/agent/mcp/http-server.ts) serves it over
// HTTP.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

export interface KitOptions {
  /** How many generated tools (default 0). */
  readonly many?: number;
  /** Add the colliding and over-long names. */
  readonly weird?: boolean;
  readonly name?: string;
}

interface KitTool {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Record<string, unknown>;
  readonly run: (args: Record<string, unknown>, signal: AbortSignal) => Promise<string> | string;
}

const DOMAINS = ['weather', 'currency', 'calendar', 'email', 'github', 'database', 'image', 'translate', 'maps', 'stocks'];
const ACTIONS = ['forecast', 'convert', 'list', 'create', 'delete', 'search', 'update', 'export', 'summarize', 'status'];
const TOPIC: Record<string, string> = {
  weather: 'meteorological conditions for a city',
  currency: 'exchange rates between monies',
  calendar: 'events in the user\'s agenda',
  email: 'messages in the mailbox',
  github: 'repositories, issues and pull requests',
  database: 'rows in the SQL store',
  image: 'pictures and their pixels',
  translate: 'text between human languages',
  maps: 'places, routes and distances',
  stocks: 'share prices on exchanges',
};

export function generatedTools(n: number): KitTool[] {
  const tools: KitTool[] = [];
  for (let i = 0; i < n; i++) {
    const domain = DOMAINS[i % DOMAINS.length]!;
    const action = ACTIONS[Math.floor(i / DOMAINS.length) % ACTIONS.length]!;
    const round = Math.floor(i / (DOMAINS.length * ACTIONS.length));
    const name = round === 0 ? `${domain}_${action}` : `${domain}_${action}_${round + 1}`;
    const isForecast = name === 'weather_forecast';
    tools.push({
      name,
      description: `${action[0]!.toUpperCase()}${action.slice(1)} ${TOPIC[domain]} (${domain} service).`,
      inputSchema: isForecast
        ? {
            type: 'object',
            properties: { city: { type: 'string', description: 'city name' }, days: { type: 'integer', minimum: 1, maximum: 14 } },
            required: ['city'],
            additionalProperties: false,
          }
        : { type: 'object', properties: { [`${domain}_id`]: { type: 'string' } }, required: [`${domain}_id`] },
      run: (args) => (isForecast ? `forecast for ${String(args.city)}: sunny for ${Number(args.days ?? 1)} day(s)` : `${name} ran with ${JSON.stringify(args)}`),
    });
  }
  return tools;
}

export function makeKitServer(options: KitOptions = {}): Server & { calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const tools: KitTool[] = [
    { name: 'echo', description: 'Echo the text back.', inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] }, run: (a) => String(a.text) },
    {
      name: 'add',
      description: 'Add two numbers.',
      inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
      run: (a) => String(Number(a.a) + Number(a.b)),
    },
    { name: 'whoami', description: 'The server process id.', inputSchema: { type: 'object', properties: {} }, run: () => `pid ${process.pid}` },
    {
      name: 'sleep',
      description: 'Wait some milliseconds.',
      inputSchema: { type: 'object', properties: { ms: { type: 'integer' } }, required: ['ms'] },
      run: async (a, signal) => {
        // Ends early when the request is cancelled or the server closes, so no timer outlives a test.
        await new Promise<void>((r) => {
          const t = setTimeout(r, Number(a.ms));
          signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
        });
        return signal.aborted ? 'cancelled' : 'slept';
      },
    },
    {
      name: 'grow',
      description: 'Add a tool that echoes, and tell the client the list changed.',
      inputSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
      run: async (a) => {
        tools.push({ name: String(a.name), description: 'A tool added at run time.', inputSchema: { type: 'object', properties: {} }, run: () => `${String(a.name)} here` });
        await server.sendToolListChanged();
        return `added ${String(a.name)}`;
      },
    },
    { name: 'fail', description: 'Always reports an error.', inputSchema: { type: 'object', properties: {} }, run: () => { throw new Error('this tool always fails'); } },
  ];
  if (options.weird) {
    tools.push(
      { name: 'get.item', description: 'Dotted name.', inputSchema: { type: 'object', properties: {} }, run: () => 'dotted' },
      { name: 'get_item', description: 'Underscored name.', inputSchema: { type: 'object', properties: {} }, run: () => 'underscored' },
      { name: 'x'.repeat(60), description: 'A very long name.', inputSchema: { type: 'object', properties: {} }, run: () => 'long' },
    );
  }
  tools.push(...generatedTools(options.many ?? 0));

  const server = new Server({ name: options.name ?? 'kit', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } }, instructions: 'Kit server for tests.' });
  server.setRequestHandler(ListToolsRequestSchema, async (req) => {
    // Pages of 40, so clients must follow nextCursor.
    const start = req.params?.cursor ? Number(req.params.cursor) : 0;
    const page = tools.slice(start, start + 40).map(({ name, description, inputSchema }) => ({ name, description, inputSchema }));
    return start + 40 < tools.length ? { tools: page, nextCursor: String(start + 40) } : { tools: page };
  });
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const tool = tools.find((t) => t.name === req.params.name);
    calls[req.params.name] = (calls[req.params.name] ?? 0) + 1;
    if (!tool) return { content: [{ type: 'text', text: `unknown tool ${req.params.name}` }], isError: true };
    try {
      const text = await tool.run(req.params.arguments ?? {}, extra.signal);
      return { content: [{ type: 'text', text }] };
    } catch (e) {
      return { content: [{ type: 'text', text: (e as Error).message }], isError: true };
    }
  });
  return Object.assign(server, { calls });
}
