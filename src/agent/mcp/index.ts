// The MCP client for the agent: servers from an mcpServers config file as one ToolSource.
export { parseMcpConfig, readMcpConfig, type McpServerSpec, type StdioServerSpec, type HttpServerSpec } from './config.js';
export { McpConnection, type McpConnectionEvent, type McpConnectionOptions } from './connection.js';
export { namespacedName, ToolNamer, MAX_TOOL_NAME } from './naming.js';
export { connectMcpServers, loadMcpTools, type McpServerStatus, type McpToolSource, type McpToolsOptions } from './source.js';
export { serveMcpHttp, type McpHttpHandle, type McpHttpOptions } from './http-server.js';
export { toolServer, type ToolServerOptions } from './tool-server.js';
export { ToolSearch, withToolSearch, rankTools, TOOL_SEARCH_NAME, type ToolSearchOptions } from './tool-search.js';
