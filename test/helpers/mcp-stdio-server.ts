// The kit MCP server (mcp-kit.ts) over stdio, as its own process: `node --import tsx mcp-stdio-server.ts
// [--many N] [--weird] [--crash-on-start]`. --crash-on-start writes a reason to stderr and exits 3, for the
// "server never comes up" path.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { makeKitServer } from './mcp-kit.js';

const argv = process.argv.slice(2);
if (argv.includes('--crash-on-start')) {
  process.stderr.write('kit: refusing to start (configured to crash)\n');
  process.exit(3);
}
const manyAt = argv.indexOf('--many');
const server = makeKitServer({ many: manyAt >= 0 ? Number(argv[manyAt + 1]) : 0, weird: argv.includes('--weird') });
await server.connect(new StdioServerTransport());
