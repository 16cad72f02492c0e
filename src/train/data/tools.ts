// The fixed tool set of the agentic tasks: definitions as the chat template prints them (OpenAI shape,
// JSON-schema parameters, keys in this order) and the implementations that produce the tool responses.
// The set never changes between examples, so every prompt starts with the same system block.
import type { ToolDefinition } from '../../format/index.js';
import { calculator } from './calculator.js';
import { dateDiff } from './dates.js';
import { runPython } from './pyexec.js';
import { convertUnits } from './units.js';

export const TOOLS: readonly ToolDefinition[] = [
  {
    type: 'function',
    function: {
      name: 'calculator',
      description: 'Evaluate an arithmetic expression exactly.',
      parameters: { type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] },
    },
  },
  {
    type: 'function',
    function: {
      name: 'python',
      description: 'Run Python code and return what it prints.',
      parameters: { type: 'object', properties: { code: { type: 'string' } }, required: ['code'] },
    },
  },
  {
    type: 'function',
    function: {
      name: 'date_diff',
      description: 'Days from start to end; dates as YYYY-MM-DD.',
      parameters: { type: 'object', properties: { start: { type: 'string' }, end: { type: 'string' } }, required: ['start', 'end'] },
    },
  },
  {
    type: 'function',
    function: {
      name: 'convert_units',
      description: 'Convert a value between units.',
      parameters: {
        type: 'object',
        properties: { value: { type: 'number' }, from_unit: { type: 'string' }, to_unit: { type: 'string' } },
        required: ['value', 'from_unit', 'to_unit'],
      },
    },
  },
];

export type ToolName = 'calculator' | 'python' | 'date_diff' | 'convert_units';

/** A call the tasks make or expect: the tool and its arguments (already typed by the schema). */
export interface ToolCallSpec {
  readonly name: ToolName;
  readonly arguments: Readonly<Record<string, string | number>>;
}

/**
 * Runs a tool call and returns the text of the tool response. Unknown tools and bad arguments give an
 * "Error: ..." text rather than an exception, as a tool server would answer a model's malformed call.
 */
export function executeTool(name: string, args: Readonly<Record<string, unknown>>): string {
  const str = (k: string) => (typeof args[k] === 'string' ? (args[k] as string) : undefined);
  switch (name) {
    case 'calculator': {
      const e = str('expression');
      return e === undefined ? 'Error: missing string parameter "expression"' : calculator(e);
    }
    case 'python': {
      const c = str('code');
      return c === undefined ? 'Error: missing string parameter "code"' : runPython(c);
    }
    case 'date_diff': {
      const a = str('start'), b = str('end');
      return a === undefined || b === undefined ? 'Error: missing string parameters "start" and "end"' : dateDiff(a, b);
    }
    case 'convert_units':
      return convertUnits(args.value, args.from_unit, args.to_unit);
    default:
      return `Error: unknown tool ${JSON.stringify(name)}`;
  }
}
