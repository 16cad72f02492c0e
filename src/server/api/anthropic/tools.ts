// Anthropic tool definitions and tool_choice -> the format layer's function tools and the service's
// ToolChoice.
//
// - A tool with a `type` other than "custom" is one of Anthropic's server tools (web search, code
//   execution, ...), executed by Anthropic's servers; this server cannot run them, so they are dropped
//   and the response notes it.
// - Tools with `defer_loading: true` (Claude Code's tool search) are not in the prompt until the
//   conversation references them (a tool_use by that name or a tool_reference in a tool result) or
//   tool_choice forces them: the
//   Step template has no notion of deferred tools, and sending all of them would defeat the point.
// - `input_schema` is passed on as the function's parameters in the client's key order (the template
//   prints it with json.dumps as given), minus `$schema`, which only costs prompt tokens.
import type { ToolDefinition } from '../../../format/index.js';
import type { ToolChoice } from '../../chat-service.js';
import { HttpError } from '../../http/errors.js';
import type { MessageParam, ToolChoiceParam, ToolParam } from './schemas.js';

export interface MappedTools {
  readonly tools: ToolDefinition[];
  readonly toolChoice?: ToolChoice;
  readonly parallelToolCalls?: boolean;
  readonly notes: string[];
}

// Tool names end up inside `<function=NAME>`; the format layer's rule.
const TOOL_NAME = /^[^\s<>]{1,256}$/;

export function mapTools(tools: readonly ToolParam[] | null | undefined, choice: ToolChoiceParam | null | undefined, messages: readonly MessageParam[]): MappedTools {
  const notes: string[] = [];
  const referenced = referencedToolNames(messages);
  const out: ToolDefinition[] = [];
  const dropped: string[] = [];
  (tools ?? []).forEach((t, i) => {
    if (t.type && t.type !== 'custom') {
      dropped.push(`${t.name} (${t.type})`);
      return;
    }
    if (!TOOL_NAME.test(t.name)) throw new HttpError('invalid_request', `tools[${i}].name: tool names must be 1-256 characters without whitespace, < or >`);
    if (!t.input_schema) throw new HttpError('invalid_request', `tools[${i}].input_schema: required for a custom tool`);
    const forced = choice?.type === 'tool' && choice.name === t.name;
    if (t.defer_loading && !referenced.has(t.name) && !forced) return;
    const { $schema: _ignored, ...parameters } = t.input_schema;
    out.push({
      type: 'function',
      function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters },
    });
  });
  if (dropped.length > 0) notes.push(`server tools are not available here and were ignored: ${dropped.join(', ')}`);

  if (!choice) return { tools: out, notes };
  const parallel = 'disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use === true ? { parallelToolCalls: false } : {};
  switch (choice.type) {
    case 'auto':
      return { tools: out, toolChoice: 'auto', ...parallel, notes };
    case 'none':
      return { tools: out, toolChoice: 'none', notes };
    case 'any':
      if (out.length === 0) throw new HttpError('invalid_request', 'tool_choice: "any" requires at least one tool in tools');
      return { tools: out, toolChoice: 'required', ...parallel, notes };
    case 'tool':
      if (!out.some((t) => t.function.name === choice.name)) {
        const known = (tools ?? []).some((t) => t.name === choice.name);
        throw new HttpError(
          'invalid_request',
          known
            ? `tool_choice.name: tool ${JSON.stringify(choice.name)} is a server tool, which this server cannot run`
            : `tool_choice.name: no tool named ${JSON.stringify(choice.name)} in tools`,
        );
      }
      return { tools: out, toolChoice: { name: choice.name }, ...parallel, notes };
  }
}

function referencedToolNames(messages: readonly MessageParam[]): Set<string> {
  const names = new Set<string>();
  for (const m of messages) {
    if (typeof m.content === 'string') continue;
    for (const b of m.content) {
      if (b.type === 'tool_use') names.add(b.name);
      else if (b.type === 'tool_result' && Array.isArray(b.content)) {
        for (const p of b.content) if (p.type === 'tool_reference') names.add(p.tool_name);
      }
    }
  }
  return names;
}
