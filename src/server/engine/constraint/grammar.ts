// What a request constrains, turned into a grammar for the text after `</think>`:
//
//   toolChoice 'required'         one or more tool calls (one when parallelToolCalls is false)
//   toolChoice {name}             one call to that tool
//   responseFormat json_object    a JSON object
//   responseFormat json_schema    a JSON value valid against the schema
//   ... with tools and 'auto'     the JSON answer, or tool calls instead
//
// Nothing else is constrained (toolChoice 'none' is handled by leaving the tools out of the prompt).
import { ChatError, type ResponseFormat, type ToolChoice } from '../../chat-service.js';
import type { ToolDefinition } from '../../../format/index.js';
import type { Frame } from './frame.js';
import { JsonRootFrame, type JsonContext } from './json.js';
import type { ConstraintLimits } from './limits.js';
import { SchemaCompiler, SchemaError } from './schema.js';
import { ToolCallsFrame, toolSpecs } from './tool-calls.js';

export interface ConstraintRequest {
  readonly tools?: readonly ToolDefinition[];
  readonly toolChoice?: ToolChoice;
  readonly parallelToolCalls?: boolean;
  readonly responseFormat?: ResponseFormat;
}

/** The grammar's outermost frames (alternatives), or null when the request constrains nothing. */
export function buildGrammar(req: ConstraintRequest, limits: ConstraintLimits): Frame[] | null {
  const tools = req.tools ?? [];
  const choice = req.toolChoice ?? 'auto';
  const parallel = req.parallelToolCalls ?? true;
  const toolCtx: JsonContext = { limits, xmlSafe: true };
  try {
    if (choice === 'required') {
      if (tools.length === 0) throw new ChatError('invalid_request', 'tool_choice "required" needs at least one tool');
      return [new ToolCallsFrame(toolSpecs(tools), parallel ? limits.maxToolCalls : 1, toolCtx)];
    }
    if (typeof choice === 'object') {
      const tool = tools.find((t) => t.function.name === choice.name);
      if (!tool) throw new ChatError('invalid_request', `tool_choice names ${JSON.stringify(choice.name)}, which is not among the tools`);
      return [new ToolCallsFrame(toolSpecs([tool]), 1, toolCtx)];
    }
    const fmt = req.responseFormat;
    if (!fmt || fmt.type === 'text') return null;
    const node =
      fmt.type === 'json_object' ? new SchemaCompiler({ type: 'object' }, true).compileRoot() : new SchemaCompiler(fmt.schema ?? {}, true).compileRoot();
    const roots: Frame[] = [new JsonRootFrame(node, { limits, xmlSafe: false })];
    if (choice === 'auto' && tools.length > 0) roots.push(new ToolCallsFrame(toolSpecs(tools), parallel ? limits.maxToolCalls : 1, toolCtx));
    return roots;
  } catch (e) {
    if (e instanceof SchemaError) throw new ChatError('invalid_request', `response_format json_schema: ${e.message}`);
    throw e;
  }
}
